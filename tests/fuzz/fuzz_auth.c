/* libFuzzer target: what a config or a client hands the password checks (sha2_crypt.h,
 * sha2_rsa.h, ed25519.h). The first byte picks one: a stored caching_sha2_password hash,
 * which must parse the same from its hex form, and is checked against the rest as a password
 * when its round count is cheap; an RSA answer under a fixed key; a MariaDB ed25519 key text,
 * or a raw key, signature and nonce. Nothing may crash, read past the input or write past its
 * output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/ed25519.h"
#include "protocol/sha2_crypt.h"
#include "protocol/sha2_rsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The hex form when the input is just that long; else a literal form, then a password. */
static void stored_hash(const uint8_t *data, size_t size)
{
    struct proto_sha2_crypt h, back;
    size_t len = size == 2 + 2 * PROTO_SHA2_CRYPT_TEXT_LEN ? size
                 : size < PROTO_SHA2_CRYPT_TEXT_LEN        ? size
                                                           : PROTO_SHA2_CRYPT_TEXT_LEN;
    if (proto_sha2_crypt_parse((const char *)data, len, &h) < 0)
        return;
    if (len == PROTO_SHA2_CRYPT_TEXT_LEN) {
        char hex[3 + 2 * PROTO_SHA2_CRYPT_TEXT_LEN] = "0x";
        for (size_t i = 0; i < PROTO_SHA2_CRYPT_TEXT_LEN; i++)
            snprintf(hex + 2 + 2 * i, 3, "%02x", data[i]);
        if (proto_sha2_crypt_parse(hex, sizeof hex - 1, &back) != 0 || back.rounds != h.rounds ||
            memcmp(back.salt, h.salt, sizeof h.salt) != 0 ||
            memcmp(back.digest, h.digest, sizeof h.digest) != 0)
            abort();
    }
    if (h.rounds == PROTO_SHA2_CRYPT_MIN_ROUNDS)
        proto_sha2_crypt_verify(&h, data + len, size - len);
}

static void rsa_answer(const uint8_t *data, size_t size)
{
    static EVP_PKEY *key;
    if (!key && proto_rsa_key_new(&key, PROTO_RSA_MIN_BITS) != 0)
        abort();
    if (size < PROTO_SCRAMBLE_LEN)
        return;
    /* A small output, so that long texts hit -ENOSPC too. */
    uint8_t out[64];
    size_t out_len = sizeof out + 1;
    int rc = proto_sha2_rsa_password(key, data + PROTO_SCRAMBLE_LEN, size - PROTO_SCRAMBLE_LEN,
                                     data, out, sizeof out, &out_len);
    if (rc == 0 && out_len > sizeof out)
        abort();
}

static void ed25519(const uint8_t *data, size_t size)
{
    uint8_t pub[PROTO_ED25519_KEY_LEN];
    proto_ed25519_pub_parse((const char *)data,
                            size < PROTO_ED25519_KEY_TEXT_LEN ? size : PROTO_ED25519_KEY_TEXT_LEN,
                            pub);
    if (size < PROTO_ED25519_KEY_LEN + PROTO_ED25519_SIG_LEN)
        return;
    const uint8_t *sig = data + PROTO_ED25519_KEY_LEN;
    proto_ed25519_verify(data, sig + PROTO_ED25519_SIG_LEN,
                         size - PROTO_ED25519_KEY_LEN - PROTO_ED25519_SIG_LEN, sig,
                         PROTO_ED25519_SIG_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        stored_hash(data + 1, size - 1);
        break;
    case 1:
        rsa_answer(data + 1, size - 1);
        break;
    default:
        ed25519(data + 1, size - 1);
        break;
    }
    return 0;
}
