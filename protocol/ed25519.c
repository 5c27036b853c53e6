/* ed25519: the stored key's text and OpenSSL's Ed25519 verification (see ed25519.h). */
#include "protocol/ed25519.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int proto_ed25519_pub_parse(const char *text, size_t len, uint8_t pub[PROTO_ED25519_KEY_LEN])
{
    if (len != PROTO_ED25519_KEY_TEXT_LEN)
        return -EINVAL;
    uint8_t key[PROTO_ED25519_KEY_LEN];
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value(text[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6 | (uint32_t)v) & 0xfff; /* never more than 12 bits pending */
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            key[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* 43 * 6 = 258 bits: two past the key, which an encoder leaves zero. */
    if (acc & ((1u << bits) - 1))
        return -EINVAL;
    memcpy(pub, key, sizeof key);
    return 0;
}

bool proto_ed25519_verify(const uint8_t pub[PROTO_ED25519_KEY_LEN], const uint8_t *nonce,
                          size_t nonce_len, const uint8_t *sig, size_t sig_len)
{
    if (sig_len != PROTO_ED25519_SIG_LEN)
        return false;
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PROTO_ED25519_KEY_LEN);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* Ed25519 hashes internally: no digest is named, and the message goes in one call. */
    bool ok = key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, nonce, nonce_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok)
        ERR_clear_error();
    return ok;
}
