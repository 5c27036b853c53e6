/* auth: scrambles (see auth.h). One-shot digests over small stack buffers: no allocation. */
#include "protocol/auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_decode(const char *text, size_t len, uint8_t *out, size_t out_len)
{
    if (len != 2 * out_len)
        return -EINVAL;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] ^= src[i];
}

void proto_native_hash(const void *password, size_t len, uint8_t stored[PROTO_NATIVE_HASH_LEN])
{
    uint8_t h1[SHA_DIGEST_LENGTH];
    SHA1(password, len, h1);
    SHA1(h1, sizeof h1, stored);
    OPENSSL_cleanse(h1, sizeof h1);
}

int proto_native_hash_parse(const char *text, size_t len, uint8_t stored[PROTO_NATIVE_HASH_LEN])
{
    if (len != 1 + 2 * PROTO_NATIVE_HASH_LEN || text[0] != '*')
        return -EINVAL;
    return hex_decode(text + 1, len - 1, stored, PROTO_NATIVE_HASH_LEN);
}

/* SHA1(scramble + stored): the mask both sides derive. */
static void native_mask(const uint8_t scramble[PROTO_SCRAMBLE_LEN],
                        const uint8_t stored[PROTO_NATIVE_HASH_LEN], uint8_t out[20])
{
    uint8_t cat[PROTO_SCRAMBLE_LEN + PROTO_NATIVE_HASH_LEN];
    memcpy(cat, scramble, PROTO_SCRAMBLE_LEN);
    memcpy(cat + PROTO_SCRAMBLE_LEN, stored, PROTO_NATIVE_HASH_LEN);
    SHA1(cat, sizeof cat, out);
}

void proto_native_scramble_stage1(const uint8_t stage1[PROTO_NATIVE_HASH_LEN],
                                  const uint8_t scramble[PROTO_SCRAMBLE_LEN],
                                  uint8_t out[PROTO_NATIVE_HASH_LEN])
{
    uint8_t h2[PROTO_NATIVE_HASH_LEN], mask[PROTO_NATIVE_HASH_LEN];
    SHA1(stage1, PROTO_NATIVE_HASH_LEN, h2);
    native_mask(scramble, h2, mask);
    memcpy(out, stage1, PROTO_NATIVE_HASH_LEN);
    xor_into(out, mask, PROTO_NATIVE_HASH_LEN);
}

size_t proto_native_scramble(const void *password, size_t len,
                             const uint8_t scramble[PROTO_SCRAMBLE_LEN],
                             uint8_t out[PROTO_NATIVE_HASH_LEN])
{
    if (len == 0)
        return 0;
    uint8_t h1[PROTO_NATIVE_HASH_LEN];
    SHA1(password, len, h1);
    proto_native_scramble_stage1(h1, scramble, out);
    OPENSSL_cleanse(h1, sizeof h1);
    return PROTO_NATIVE_HASH_LEN;
}

bool proto_native_recover(const uint8_t scramble[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                          size_t response_len, const uint8_t stored[PROTO_NATIVE_HASH_LEN],
                          uint8_t stage1[PROTO_NATIVE_HASH_LEN])
{
    if (response_len != PROTO_NATIVE_HASH_LEN)
        return false;
    /* response XOR mask recovers SHA1(password) if the client knew it; hashing that once
     * more must give the stored double hash. */
    uint8_t h2[PROTO_NATIVE_HASH_LEN];
    native_mask(scramble, stored, stage1);
    xor_into(stage1, response, PROTO_NATIVE_HASH_LEN);
    SHA1(stage1, PROTO_NATIVE_HASH_LEN, h2);
    return CRYPTO_memcmp(h2, stored, PROTO_NATIVE_HASH_LEN) == 0;
}

bool proto_native_verify(const uint8_t scramble[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                         size_t response_len, const uint8_t *stored)
{
    if (!stored)
        return response_len == 0;
    uint8_t h1[PROTO_NATIVE_HASH_LEN];
    bool ok = proto_native_recover(scramble, response, response_len, stored, h1);
    OPENSSL_cleanse(h1, sizeof h1);
    return ok;
}

void proto_sha2_hash(const void *password, size_t len, uint8_t stored[PROTO_SHA2_HASH_LEN])
{
    uint8_t h1[SHA256_DIGEST_LENGTH];
    SHA256(password, len, h1);
    SHA256(h1, sizeof h1, stored);
    OPENSSL_cleanse(h1, sizeof h1);
}

int proto_sha2_hash_parse(const char *text, size_t len, uint8_t stored[PROTO_SHA2_HASH_LEN])
{
    return hex_decode(text, len, stored, PROTO_SHA2_HASH_LEN);
}

/* SHA256(stored + nonce): note the order is the reverse of mysql_native_password's. */
static void sha2_mask(const uint8_t nonce[PROTO_SCRAMBLE_LEN],
                      const uint8_t stored[PROTO_SHA2_HASH_LEN], uint8_t out[32])
{
    uint8_t cat[PROTO_SHA2_HASH_LEN + PROTO_SCRAMBLE_LEN];
    memcpy(cat, stored, PROTO_SHA2_HASH_LEN);
    memcpy(cat + PROTO_SHA2_HASH_LEN, nonce, PROTO_SCRAMBLE_LEN);
    SHA256(cat, sizeof cat, out);
}

size_t proto_sha2_scramble(const void *password, size_t len,
                           const uint8_t nonce[PROTO_SCRAMBLE_LEN],
                           uint8_t out[PROTO_SHA2_HASH_LEN])
{
    if (len == 0)
        return 0;
    uint8_t h2[PROTO_SHA2_HASH_LEN], mask[PROTO_SHA2_HASH_LEN];
    SHA256(password, len, out);
    SHA256(out, PROTO_SHA2_HASH_LEN, h2);
    sha2_mask(nonce, h2, mask);
    xor_into(out, mask, PROTO_SHA2_HASH_LEN);
    return PROTO_SHA2_HASH_LEN;
}

bool proto_sha2_verify(const uint8_t nonce[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                       size_t response_len, const uint8_t *stored)
{
    if (!stored)
        return response_len == 0;
    if (response_len != PROTO_SHA2_HASH_LEN)
        return false;
    uint8_t h1[PROTO_SHA2_HASH_LEN], h2[PROTO_SHA2_HASH_LEN];
    sha2_mask(nonce, stored, h1);
    xor_into(h1, response, PROTO_SHA2_HASH_LEN);
    SHA256(h1, sizeof h1, h2);
    bool ok = CRYPTO_memcmp(h2, stored, PROTO_SHA2_HASH_LEN) == 0;
    OPENSSL_cleanse(h1, sizeof h1);
    return ok;
}
