/* ed25519: MariaDB's stored public keys and client signatures. The keys are what MariaDB
 * 10.11 returned for SELECT ed25519_password(...); the signatures of a 32-byte password come
 * from OpenSSL with that password as the seed, the others from ed25519_vectors.py. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#include "check.h"
#include "protocol/ed25519.h"

static const uint8_t nonce[PROTO_ED25519_NONCE_LEN] = "ringsql nonce: 32 bytes exactly!";

static const struct {
    const char *password;
    const char *stored; /* ed25519_password(password) */
    const char *sig;    /* hex: the client's answer to nonce */
} vectors[] = {
    {"ringsql ed25519 32-byte password", "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+Ek",
     "5d983e213ae769404dfc9182765b09cb0c1567926a42f96b193d297acb43f4cb"
     "667298edfb9e83af77dfeca32f93032f4cc520a62e83a40201c428c1f9094709"},
    {"secret", "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY",
     "34d05b5f021214a51686da9253dbcb17b22d8dc393e2637831addb3b46d77e49"
     "e5f0b9f94d046931296b7e698054dd0fdc5c8f606bc99fbfe178d832b08b3903"},
    {"", "4LH+dBF+G5W2CKTyId8xR3SyDqZoQjUNUVNxx8aWbG4",
     "00abb9c5d9455a0925f58c2cfac22e2d02940154125b5dbb1a329d13bd87b008"
     "4f6c67469746435882490d4b6016a0570c7bce9b6c36eec1813ba78e9e4d2a0d"},
};

static bool sig_from_hex(const char *hex, uint8_t sig[PROTO_ED25519_SIG_LEN])
{
    long len = 0;
    unsigned char *buf = OPENSSL_hexstr2buf(hex, &len);
    bool ok = buf && len == PROTO_ED25519_SIG_LEN;
    if (ok)
        memcpy(sig, buf, PROTO_ED25519_SIG_LEN);
    OPENSSL_free(buf);
    return ok;
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint8_t pub[PROTO_ED25519_KEY_LEN], sig[PROTO_ED25519_SIG_LEN];
        if (!CHECK_INT(proto_ed25519_pub_parse(vectors[i].stored, 43, pub), 0) ||
            !CHECK(sig_from_hex(vectors[i].sig, sig)))
            continue;
        CHECK(proto_ed25519_verify(pub, nonce, sizeof nonce, sig, sizeof sig));
        /* Any bit flipped, in the signature, the nonce or the key, fails. */
        static const size_t flips[] = {0, 31, 32, 63};
        for (size_t f = 0; f < sizeof flips / sizeof flips[0]; f++) {
            uint8_t bad[PROTO_ED25519_SIG_LEN];
            memcpy(bad, sig, sizeof bad);
            bad[flips[f]] ^= 0x04;
            CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, bad, sizeof bad));
        }
        uint8_t other[PROTO_ED25519_NONCE_LEN];
        memcpy(other, nonce, sizeof other);
        other[7] ^= 0x80;
        CHECK(!proto_ed25519_verify(pub, other, sizeof other, sig, sizeof sig));
        pub[5] ^= 1;
        CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, sig, sizeof sig));
        pub[5] ^= 1;
        /* Short or long signatures, and the nonce cut short. */
        uint8_t longer[PROTO_ED25519_SIG_LEN + 1] = {0};
        memcpy(longer, sig, sizeof sig);
        CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, sig, sizeof sig - 1));
        CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, longer, sizeof longer));
        CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, sig, 0));
        CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce - 1, sig, sizeof sig));
        /* Refusals leave nothing in OpenSSL's error queue. */
        CHECK_UINT(ERR_peek_error(), 0);
    }
}

/* For a 32-byte password, MariaDB's key is the standard Ed25519 key of that seed: OpenSSL
 * derives the stored key, and signs (deterministically) what the client would send. */
static void test_openssl_agrees(void)
{
    const char *pw = vectors[0].password;
    EVP_PKEY *key =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, (const unsigned char *)pw, strlen(pw));
    if (!CHECK(key))
        return;
    uint8_t derived[PROTO_ED25519_KEY_LEN], stored[PROTO_ED25519_KEY_LEN];
    size_t len = sizeof derived;
    CHECK(EVP_PKEY_get_raw_public_key(key, derived, &len) == 1);
    CHECK_INT(proto_ed25519_pub_parse(vectors[0].stored, 43, stored), 0);
    CHECK_MEM(derived, len, stored, sizeof stored);

    uint8_t sig[PROTO_ED25519_SIG_LEN], want[PROTO_ED25519_SIG_LEN];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CHECK(ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
          EVP_DigestSign(ctx, sig, &sig_len, nonce, sizeof nonce) == 1);
    CHECK(sig_from_hex(vectors[0].sig, want));
    CHECK_MEM(sig, sig_len, want, sizeof want);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
}

static void test_parse_refused(void)
{
    static const char *const bad[] = {
        "",
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+E",   /* 42 */
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+Ek=", /* padded */
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20-Ek",  /* URL-safe alphabet */
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20 Ek",
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+El", /* the bits past the key set */
        "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+Em",
    };
    uint8_t pub[PROTO_ED25519_KEY_LEN], untouched[PROTO_ED25519_KEY_LEN];
    memset(pub, 0x5a, sizeof pub);
    memcpy(untouched, pub, sizeof pub);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!CHECK_INT(proto_ed25519_pub_parse(bad[i], strlen(bad[i]), pub), -EINVAL))
            check_failf(__FILE__, __LINE__, "bad[%zu] accepted", i);
    }
    CHECK_MEM(pub, sizeof pub, untouched, sizeof untouched);
    /* Well formed, but the last vector's digits: decodes to a different key. */
    CHECK_INT(proto_ed25519_pub_parse("aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+Eg", 43, pub), 0);
}

/* A y coordinate with no point on the curve: refused, not crashed on. */
static void test_not_a_point(void)
{
    uint8_t pub[PROTO_ED25519_KEY_LEN], sig[PROTO_ED25519_SIG_LEN];
    memset(pub, 0xff, sizeof pub);
    pub[31] = 0x7f; /* y = 2^255 - 1 >= p */
    CHECK(sig_from_hex(vectors[0].sig, sig));
    CHECK(!proto_ed25519_verify(pub, nonce, sizeof nonce, sig, sizeof sig));
    CHECK_UINT(ERR_peek_error(), 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_vectors),
        CHECK_CASE(test_openssl_agrees),
        CHECK_CASE(test_parse_refused),
        CHECK_CASE(test_not_a_point),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
