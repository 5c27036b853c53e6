/* sha2_crypt: SHA-256 crypt with MySQL's 20-byte salt (see sha2_crypt.h). The step numbers
 * are those of Drepper's specification, https://www.akkadia.org/drepper/SHA-crypt.txt. One
 * EVP_MD_CTX a call is the only allocation; the spec's P and S byte sequences are fed from
 * their digests instead of being built. */
#include "protocol/sha2_crypt.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

enum { DIGEST_LEN = 32 };

static const char crypt_b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* A digest context that remembers whether any OpenSSL call failed, so that the steps below
 * read as the spec does and are checked once at the end. */
struct hasher {
    EVP_MD_CTX *ctx;
    bool ok;
};

static void h_begin(struct hasher *h)
{
    h->ok &= EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1;
}

static void h_add(struct hasher *h, const void *p, size_t n)
{
    h->ok &= EVP_DigestUpdate(h->ctx, p, n) == 1;
}

/* n bytes of digest d repeated: the spec's "P" and "S" sequences and step 10. */
static void h_add_repeated(struct hasher *h, const uint8_t d[DIGEST_LEN], size_t n)
{
    for (; n > DIGEST_LEN; n -= DIGEST_LEN)
        h_add(h, d, DIGEST_LEN);
    h_add(h, d, n);
}

static void h_end(struct hasher *h, uint8_t out[DIGEST_LEN])
{
    h->ok &= EVP_DigestFinal_ex(h->ctx, out, NULL) == 1;
}

static bool rounds_ok(uint32_t rounds)
{
    return rounds >= PROTO_SHA2_CRYPT_MIN_ROUNDS && rounds <= PROTO_SHA2_CRYPT_MAX_ROUNDS &&
           rounds % 1000 == 0;
}

/* The spec's output: bytes taken in this order, three at a time, each group packed big-endian
 * into 24 bits and written least significant 6 bits first. The last group has two bytes. */
static void crypt_encode(const uint8_t c[DIGEST_LEN], char out[PROTO_SHA2_CRYPT_DIGEST_LEN])
{
    static const uint8_t order[] = {0,  10, 20, 21, 1,  11, 12, 22, 2,  3,  13, 23, 24, 4,  14, 15,
                                    25, 5,  6,  16, 26, 27, 7,  17, 18, 28, 8,  9,  19, 29, 31, 30};
    size_t o = 0;
    for (size_t i = 0; i < sizeof order; i += 3) {
        bool last = i + 3 > sizeof order;
        uint32_t w =
            last ? (uint32_t)c[order[i]] << 8 | c[order[i + 1]]
                 : (uint32_t)c[order[i]] << 16 | (uint32_t)c[order[i + 1]] << 8 | c[order[i + 2]];
        for (int k = last ? 3 : 4; k > 0; k--, w >>= 6)
            out[o++] = crypt_b64[w & 63];
    }
}

static int sha256_crypt(const uint8_t *pw, size_t len,
                        const uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN], uint32_t rounds,
                        char out[PROTO_SHA2_CRYPT_DIGEST_LEN])
{
    enum { SALT = PROTO_SHA2_CRYPT_SALT_LEN };
    if (len > PROTO_SHA2_CRYPT_MAX_PASSWORD || !rounds_ok(rounds))
        return -EINVAL;
    struct hasher h = {.ctx = EVP_MD_CTX_new(), .ok = true};
    if (!h.ctx) {
        ERR_clear_error();
        return -ENOMEM;
    }
    uint8_t a[DIGEST_LEN], b[DIGEST_LEN], dp[DIGEST_LEN], ds[DIGEST_LEN];

    /* 4-8: B = H(pw salt pw). */
    h_begin(&h);
    h_add(&h, pw, len);
    h_add(&h, salt, SALT);
    h_add(&h, pw, len);
    h_end(&h, b);

    /* 1-3, 9-12: A = H(pw salt B-repeated-to-len, then per bit of len: B if set, else pw). */
    h_begin(&h);
    h_add(&h, pw, len);
    h_add(&h, salt, SALT);
    h_add_repeated(&h, b, len);
    for (size_t n = len; n > 0; n >>= 1) {
        if (n & 1)
            h_add(&h, b, DIGEST_LEN);
        else
            h_add(&h, pw, len);
    }
    h_end(&h, a);

    /* 13-16: P is DP = H(pw repeated len times), repeated to len bytes. */
    h_begin(&h);
    for (size_t i = 0; i < len; i++)
        h_add(&h, pw, len);
    h_end(&h, dp);

    /* 17-20: S is DS = H(salt repeated 16 + A[0] times), cut to the salt's length. */
    h_begin(&h);
    for (unsigned i = 0; i < 16u + a[0]; i++)
        h_add(&h, salt, SALT);
    h_end(&h, ds);

    /* 21: C starts as A; each round mixes C, P and S in an order set by the round number. */
    for (uint32_t i = 0; i < rounds; i++) {
        h_begin(&h);
        if (i & 1)
            h_add_repeated(&h, dp, len);
        else
            h_add(&h, a, DIGEST_LEN);
        if (i % 3)
            h_add(&h, ds, SALT);
        if (i % 7)
            h_add_repeated(&h, dp, len);
        if (i & 1)
            h_add(&h, a, DIGEST_LEN);
        else
            h_add_repeated(&h, dp, len);
        h_end(&h, a);
    }
    EVP_MD_CTX_free(h.ctx);
    if (h.ok)
        crypt_encode(a, out);
    /* B and DP are functions of the password alone: as good as it to an attacker. */
    OPENSSL_cleanse(b, sizeof b);
    OPENSSL_cleanse(dp, sizeof dp);
    OPENSSL_cleanse(a, sizeof a);
    if (!h.ok)
        ERR_clear_error();
    return h.ok ? 0 : -EIO;
}

static bool salt_ok(const uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN])
{
    for (size_t i = 0; i < PROTO_SHA2_CRYPT_SALT_LEN; i++) {
        if (salt[i] == '\0' || salt[i] == '$')
            return false;
    }
    return true;
}

static int parse_literal(const char *t, struct proto_sha2_crypt *out)
{
    enum { SALT_AT = 7, DIGEST_AT = SALT_AT + PROTO_SHA2_CRYPT_SALT_LEN };
    if (memcmp(t, "$A$", 3) != 0 || t[6] != '$')
        return -EINVAL;
    uint32_t thousands = 0;
    for (int i = 3; i < 6; i++) {
        int d = OPENSSL_hexchar2int((unsigned char)t[i]);
        if (d < 0)
            return -EINVAL;
        thousands = thousands << 4 | (uint32_t)d;
    }
    if (thousands == 0 || !salt_ok((const uint8_t *)t + SALT_AT))
        return -EINVAL;
    for (int i = DIGEST_AT; i < PROTO_SHA2_CRYPT_TEXT_LEN; i++) {
        if (t[i] == '\0' || !strchr(crypt_b64, t[i]))
            return -EINVAL;
    }
    out->rounds = thousands * 1000;
    memcpy(out->salt, t + SALT_AT, PROTO_SHA2_CRYPT_SALT_LEN);
    memcpy(out->digest, t + DIGEST_AT, PROTO_SHA2_CRYPT_DIGEST_LEN);
    return 0;
}

int proto_sha2_crypt_parse(const char *text, size_t len, struct proto_sha2_crypt *out)
{
    if (len == PROTO_SHA2_CRYPT_TEXT_LEN)
        return parse_literal(text, out);
    if (len != 2 + 2 * PROTO_SHA2_CRYPT_TEXT_LEN || text[0] != '0' || text[1] != 'x')
        return -EINVAL;
    char raw[PROTO_SHA2_CRYPT_TEXT_LEN];
    for (size_t i = 0; i < sizeof raw; i++) {
        int hi = OPENSSL_hexchar2int((unsigned char)text[2 + 2 * i]);
        int lo = OPENSSL_hexchar2int((unsigned char)text[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        raw[i] = (char)(hi << 4 | lo);
    }
    return parse_literal(raw, out);
}

bool proto_sha2_crypt_verify(const struct proto_sha2_crypt *h, const void *password, size_t len)
{
    char digest[PROTO_SHA2_CRYPT_DIGEST_LEN];
    if (sha256_crypt(password, len, h->salt, h->rounds, digest) < 0)
        return false;
    return CRYPTO_memcmp(digest, h->digest, sizeof digest) == 0;
}

int proto_sha2_crypt_make(const void *password, size_t len,
                          const uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN], uint32_t rounds,
                          char out[PROTO_SHA2_CRYPT_TEXT_LEN + 1])
{
    char digest[PROTO_SHA2_CRYPT_DIGEST_LEN];
    if (!salt_ok(salt))
        return -EINVAL;
    int rc = sha256_crypt(password, len, salt, rounds, digest);
    if (rc < 0)
        return rc;
    uint32_t thousands = rounds / 1000;
    memcpy(out, "$A$", 3);
    for (int i = 0; i < 3; i++)
        out[3 + i] = "0123456789ABCDEF"[thousands >> (8 - 4 * i) & 15];
    out[6] = '$';
    memcpy(out + 7, salt, PROTO_SHA2_CRYPT_SALT_LEN);
    memcpy(out + 7 + PROTO_SHA2_CRYPT_SALT_LEN, digest, PROTO_SHA2_CRYPT_DIGEST_LEN);
    out[PROTO_SHA2_CRYPT_TEXT_LEN] = '\0';
    return 0;
}
