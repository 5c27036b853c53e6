/* sha2_rsa: the server's key, its PEM text, and passwords out of what a client encrypts to
 * that text, done here as a client does it (OpenSSL's EVP_PKEY_encrypt, OAEP). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "protocol/sha2_rsa.h"

static const uint8_t scramble[PROTO_SCRAMBLE_LEN] = "A1b2C3d4E5f6G7h8I9j0";

/* One key for the whole program: generating it is the slow part. */
static EVP_PKEY *server;

static EVP_PKEY *server_key(void)
{
    if (!server && proto_rsa_key_new(&server, 2048) != 0)
        abort();
    return server;
}

/* The public key as a client gets it: parsed back from the PEM text. */
static EVP_PKEY *client_view(EVP_PKEY *key)
{
    char pem[4096];
    size_t n = proto_rsa_public_pem(key, pem, sizeof pem);
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return pub;
}

/* Encrypts text (len bytes) XOR scramble as is, with the given padding; the length. */
static size_t encrypt_raw(EVP_PKEY *pub, const uint8_t *text, size_t len, int padding, uint8_t *out,
                          size_t cap)
{
    uint8_t mixed[512];
    for (size_t i = 0; i < len; i++)
        mixed[i] = text[i] ^ scramble[i % PROTO_SCRAMBLE_LEN];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    size_t n = cap;
    if (EVP_PKEY_encrypt_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, padding) != 1 ||
        EVP_PKEY_encrypt(ctx, out, &n, mixed, len) != 1)
        n = 0;
    EVP_PKEY_CTX_free(ctx);
    return n;
}

/* What a client sends for password: password + '\0', XORed, OAEP-encrypted. */
static size_t client_encrypt(EVP_PKEY *pub, const char *password, size_t len, uint8_t *out,
                             size_t cap)
{
    uint8_t text[512];
    memcpy(text, password, len);
    text[len] = '\0';
    return encrypt_raw(pub, text, len + 1, RSA_PKCS1_OAEP_PADDING, out, cap);
}

static void test_pem(void)
{
    char pem[4096];
    size_t n = proto_rsa_public_pem(server_key(), pem, sizeof pem);
    if (!CHECK(n > 0))
        return;
    CHECK_UINT(strlen(pem), n);
    static const char head[] = "-----BEGIN PUBLIC KEY-----\n",
                      tail[] = "-----END PUBLIC KEY-----\n";
    CHECK(strncmp(pem, head, sizeof head - 1) == 0);
    CHECK(n > sizeof tail && strcmp(pem + n - (sizeof tail - 1), tail) == 0);
    /* Text and NUL must fit. */
    char small[4096];
    CHECK_UINT(proto_rsa_public_pem(server_key(), small, n), 0);
    CHECK_UINT(proto_rsa_public_pem(server_key(), small, n + 1), n);
    CHECK_STR(small, pem);
    EVP_PKEY *pub = client_view(server_key());
    CHECK(pub && EVP_PKEY_eq(pub, server_key()) == 1);
    EVP_PKEY_free(pub);
}

static char longest[213];

static void test_passwords(void)
{
    memset(longest, 'x', sizeof longest);
    static const struct {
        const char *password;
        size_t len;
    } cases[] = {
        {"", 0},
        {"secret", 6},
        {"exactly twenty chars", 20}, /* the XOR pattern wraps right after */
        {"with\0nul", 8},
        {"\xff\xfe\x80 binary \x01", 12},
        /* The most a 2048-bit key carries: 256 - 42 bytes of OAEP overhead - the NUL. */
        {longest, sizeof longest},
    };
    EVP_PKEY *pub = client_view(server_key());
    if (!CHECK(pub))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t cipher[256], got[256];
        size_t n = client_encrypt(pub, cases[i].password, cases[i].len, cipher, sizeof cipher);
        if (!CHECK_UINT(n, 256))
            continue;
        size_t got_len = 999;
        CHECK_INT(
            proto_sha2_rsa_password(server_key(), cipher, n, scramble, got, sizeof got, &got_len),
            0);
        CHECK_MEM(got, got_len, cases[i].password, cases[i].len);
        /* Exactly room for it, and one byte short. */
        CHECK_INT(
            proto_sha2_rsa_password(server_key(), cipher, n, scramble, got, cases[i].len, &got_len),
            0);
        if (cases[i].len > 0)
            CHECK_INT(proto_sha2_rsa_password(server_key(), cipher, n, scramble, got,
                                              cases[i].len - 1, &got_len),
                      -ENOSPC);
    }
    EVP_PKEY_free(pub);
}

static void test_refused(void)
{
    EVP_PKEY *pub = client_view(server_key());
    if (!CHECK(pub))
        return;
    uint8_t cipher[256], got[256];
    size_t got_len;
    size_t n = client_encrypt(pub, "secret", 6, cipher, sizeof cipher);
    CHECK_UINT(n, 256);

    /* Truncated, too long, empty: refused before decryption. */
    static const size_t lens[] = {0, 1, 255, 257};
    uint8_t longer[257] = {0};
    memcpy(longer, cipher, n);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        CHECK_INT(proto_sha2_rsa_password(server_key(), longer, lens[i], scramble, got, sizeof got,
                                          &got_len),
                  -EINVAL);

    /* Any bit flipped breaks the padding. */
    static const size_t flips[] = {0, 1, 100, 255};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        uint8_t bad[256];
        memcpy(bad, cipher, sizeof bad);
        bad[flips[i]] ^= 0x10;
        CHECK_INT(proto_sha2_rsa_password(server_key(), bad, sizeof bad, scramble, got, sizeof got,
                                          &got_len),
                  -EBADMSG);
    }
    /* All zeros, all ones (the latter is larger than the modulus). */
    uint8_t fill[256];
    memset(fill, 0, sizeof fill);
    CHECK_INT(proto_sha2_rsa_password(server_key(), fill, sizeof fill, scramble, got, sizeof got,
                                      &got_len),
              -EBADMSG);
    memset(fill, 0xff, sizeof fill);
    CHECK_INT(proto_sha2_rsa_password(server_key(), fill, sizeof fill, scramble, got, sizeof got,
                                      &got_len),
              -EBADMSG);

    /* PKCS#1 v1.5 instead of OAEP; no NUL at the end; an empty text. */
    uint8_t text[] = "secret";
    n = encrypt_raw(pub, text, sizeof text, RSA_PKCS1_PADDING, cipher, sizeof cipher);
    CHECK_INT(proto_sha2_rsa_password(server_key(), cipher, n, scramble, got, sizeof got, &got_len),
              -EBADMSG);
    n = encrypt_raw(pub, text, sizeof text - 1, RSA_PKCS1_OAEP_PADDING, cipher, sizeof cipher);
    CHECK_INT(proto_sha2_rsa_password(server_key(), cipher, n, scramble, got, sizeof got, &got_len),
              -EBADMSG);
    n = encrypt_raw(pub, text, 0, RSA_PKCS1_OAEP_PADDING, cipher, sizeof cipher);
    CHECK_INT(proto_sha2_rsa_password(server_key(), cipher, n, scramble, got, sizeof got, &got_len),
              -EBADMSG);

    /* Another scramble: the trailing byte is no longer NUL. */
    uint8_t other[PROTO_SCRAMBLE_LEN];
    memcpy(other, scramble, sizeof other);
    other[6] ^= 1; /* "secret" + NUL: byte 6 is the NUL */
    n = client_encrypt(pub, "secret", 6, cipher, sizeof cipher);
    CHECK_INT(proto_sha2_rsa_password(server_key(), cipher, n, other, got, sizeof got, &got_len),
              -EBADMSG);

    /* Another server's key cannot read it. */
    EVP_PKEY *stranger = NULL;
    if (CHECK_INT(proto_rsa_key_new(&stranger, 2048), 0))
        CHECK_INT(proto_sha2_rsa_password(stranger, cipher, n, scramble, got, sizeof got, &got_len),
                  -EBADMSG);
    EVP_PKEY_free(stranger);
    EVP_PKEY_free(pub);
    /* Refusals leave nothing in OpenSSL's error queue. */
    CHECK_UINT(ERR_peek_error(), 0);
}

static void test_key_new_bounds(void)
{
    static const unsigned bad[] = {0, 512, 1024, 2047, 16385};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EVP_PKEY *key = NULL;
        CHECK_INT(proto_rsa_key_new(&key, bad[i]), -EINVAL);
        CHECK(key == NULL);
    }
}

/* Writes text to a new temporary file; its path in path. */
static bool write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/ringsql-rsa-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok;
}

/* PEM text of key (private) written by OpenSSL, as PKCS#8, or encrypted under "pw". */
static size_t private_pem(EVP_PKEY *key, bool encrypted, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int ok = encrypted ? PEM_write_bio_PrivateKey(bio, key, EVP_aes_128_cbc(), NULL, 0, NULL,
                                                  (void *)"passphrase")
                       : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *text;
    long len = BIO_get_mem_data(bio, &text);
    size_t n = ok == 1 && len > 0 && (size_t)len < cap ? (size_t)len : 0;
    memcpy(out, text, n);
    out[n] = '\0';
    BIO_free(bio);
    return n;
}

static void test_key_load(void)
{
    char pem[8192], path[64];
    EVP_PKEY *key = NULL;
    if (!CHECK(private_pem(server_key(), false, pem, sizeof pem) > 0) ||
        !CHECK(write_temp(path, pem)))
        return;
    if (CHECK_INT(proto_rsa_key_load(&key, path), 0))
        CHECK(EVP_PKEY_eq(key, server_key()) == 1);
    EVP_PKEY_free(key);
    unlink(path);

    /* Refused: no file, garbage, a public key only, an encrypted key (without prompting), a
     * key of another type, a key too small. */
    key = NULL;
    CHECK_INT(proto_rsa_key_load(&key, "/nonexistent/ringsql.pem"), -ENOENT);
    char pub[4096];
    proto_rsa_public_pem(server_key(), pub, sizeof pub);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char enc[8192], ec_pem[4096], small_pem[4096];
    CHECK(private_pem(server_key(), true, enc, sizeof enc) > 0);
    CHECK(private_pem(ec, false, ec_pem, sizeof ec_pem) > 0);
    CHECK(private_pem(small, false, small_pem, sizeof small_pem) > 0);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(small);
    const char *const bad[] = {"", "not a key\n", pub, enc, ec_pem, small_pem};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!CHECK(write_temp(path, bad[i])))
            continue;
        if (!CHECK_INT(proto_rsa_key_load(&key, path), -EINVAL))
            check_failf(__FILE__, __LINE__, "bad[%zu] loaded", i);
        CHECK(key == NULL);
        unlink(path);
    }
    CHECK_UINT(ERR_peek_error(), 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_pem),      CHECK_CASE(test_passwords),
        CHECK_CASE(test_refused),  CHECK_CASE(test_key_new_bounds),
        CHECK_CASE(test_key_load),
    };
    int rc = check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    EVP_PKEY_free(server);
    return rc;
}
