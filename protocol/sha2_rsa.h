/* sha2_rsa: caching_sha2_password full authentication without TLS. The client asks for the
 * server's RSA public key (it sends 0x02), the server answers with the PEM text of it, and the
 * client sends the RSA-OAEP (OpenSSL's default: SHA-1, MGF1 with SHA-1) encryption of
 * password + '\0', XORed first with the 20-byte scramble repeated. These are the server's
 * parts: its key, the PEM text to send, and the password out of the client's answer. A
 * failing call leaves OpenSSL's error queue empty, as it found it. */
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/constants.h"

/* Bits of a key these functions take. Below 2048 RSA is too weak to carry passwords, and the
 * OAEP payload would hold under 86 bytes of password; the upper bound sizes the decryption
 * buffer on the stack. */
enum {
    PROTO_RSA_MIN_BITS = 2048,
    PROTO_RSA_MAX_BITS = 16384,
};

/* Generates an RSA key of bits bits into *out, which the caller frees with EVP_PKEY_free.
 * -EINVAL if bits is out of bounds, -ENOMEM if OpenSSL fails; *out is untouched then. */
int proto_rsa_key_new(EVP_PKEY **out, unsigned bits);

/* Reads an unencrypted PEM private key (PKCS#8 or traditional RSA) from pem_path into *out,
 * which the caller frees with EVP_PKEY_free. -errno if the file cannot be opened, -EINVAL if
 * it holds no such key (an encrypted one included: nothing prompts for a passphrase) or an
 * RSA key out of bounds. *out is untouched on failure. */
int proto_rsa_key_load(EVP_PKEY **out, const char *pem_path);

/* Writes the PEM text of key's public half ("-----BEGIN PUBLIC KEY-----\n...-----END PUBLIC
 * KEY-----\n") and a NUL to out. Returns the text's length, without the NUL; 0 if text and
 * NUL do not fit in cap, or OpenSSL fails. */
size_t proto_rsa_public_pem(const EVP_PKEY *key, char *out, size_t cap);

/* The client's password, from cipher (len bytes, exactly the key's size) decrypted with key,
 * XORed with scramble, and stripped of its trailing NUL: *out_len bytes (possibly 0, for an
 * empty password) in out. -EINVAL if len is not the key's size or the key is not an RSA key
 * in bounds; -EBADMSG if the padding does not check or no NUL ends the text; -ENOSPC if the
 * password is longer than cap. Callers should answer any failure as they would a wrong
 * password, so that a client learns nothing about the padding. */
int proto_sha2_rsa_password(EVP_PKEY *key, const uint8_t *cipher, size_t len,
                            const uint8_t scramble[PROTO_SCRAMBLE_LEN], uint8_t *out, size_t cap,
                            size_t *out_len);
