/* ed25519: MariaDB's ed25519 authentication (server plugin auth_ed25519, client plugin
 * client_ed25519). The server stores the account's Ed25519 public key as 43 characters of
 * base64 without padding (what SELECT ed25519_password('pw') returns); the client proves the
 * password by signing the server's 32-byte nonce, a standard 64-byte Ed25519 signature
 * (R || S). MariaDB derives the key pair from SHA-512 of the password, of any length, where
 * RFC 8032 hashes a 32-byte seed: the server only verifies, so that difference never
 * matters here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    PROTO_ED25519_KEY_LEN = 32,
    PROTO_ED25519_KEY_TEXT_LEN = 43,
    PROTO_ED25519_SIG_LEN = 64,
    PROTO_ED25519_NONCE_LEN = 32,
};

/* Decodes the stored text: exactly 43 characters of standard base64 ('+', '/'), no padding,
 * the two bits past the key zero as base64 writes them. -EINVAL otherwise, pub untouched. */
int proto_ed25519_pub_parse(const char *text, size_t len, uint8_t pub[PROTO_ED25519_KEY_LEN]);

/* Is sig (sig_len bytes; only PROTO_ED25519_SIG_LEN can pass) pub's signature of nonce? False
 * as well for a pub that is no curve point, or OpenSSL failing; OpenSSL's error queue is
 * left empty either way, so that a refusal cannot surface later as a TLS error. */
bool proto_ed25519_verify(const uint8_t pub[PROTO_ED25519_KEY_LEN], const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *sig, size_t sig_len);
