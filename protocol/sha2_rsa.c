/* sha2_rsa: the server's RSA side of caching_sha2_password (see sha2_rsa.h). OpenSSL's
 * EVP interface throughout; the decrypted text lives on the stack and is wiped. Every failure
 * clears OpenSSL's error queue: this thread's next TLS call would otherwise read a stale error
 * as its own. */
#include "protocol/sha2_rsa.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <string.h>

static bool key_ok(const EVP_PKEY *key)
{
    int bits = EVP_PKEY_get_bits(key);
    return EVP_PKEY_is_a(key, "RSA") && bits >= PROTO_RSA_MIN_BITS && bits <= PROTO_RSA_MAX_BITS;
}

int proto_rsa_key_new(EVP_PKEY **out, unsigned bits)
{
    if (bits < PROTO_RSA_MIN_BITS || bits > PROTO_RSA_MAX_BITS)
        return -EINVAL;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (!key) {
        ERR_clear_error();
        return -ENOMEM;
    }
    *out = key;
    return 0;
}

/* OpenSSL's default would ask the terminal for the passphrase of an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

int proto_rsa_key_load(EVP_PKEY **out, const char *pem_path)
{
    errno = 0;
    BIO *bio = BIO_new_file(pem_path, "r");
    if (!bio) {
        ERR_clear_error();
        return errno ? -errno : -ENOMEM;
    }
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!key || !key_ok(key)) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        return -EINVAL;
    }
    *out = key;
    return 0;
}

size_t proto_rsa_public_pem(const EVP_PKEY *key, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return 0;
    size_t n = 0;
    char *text;
    if (PEM_write_bio_PUBKEY(bio, key) == 1) {
        long len = BIO_get_mem_data(bio, &text);
        if (len > 0 && (size_t)len < cap) {
            n = (size_t)len;
            memcpy(out, text, n);
            out[n] = '\0';
        }
    }
    BIO_free(bio);
    if (n == 0)
        ERR_clear_error();
    return n;
}

/* OAEP decryption into plain (cap bytes, *plain_len set to what it holds): 0 or -errno. */
static int rsa_decrypt(EVP_PKEY *key, const uint8_t *cipher, size_t len, uint8_t *plain, size_t cap,
                       size_t *plain_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (!ctx) {
        ERR_clear_error();
        return -ENOMEM;
    }
    *plain_len = cap;
    int rc = EVP_PKEY_decrypt_init(ctx) == 1 &&
                     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
                     EVP_PKEY_decrypt(ctx, plain, plain_len, cipher, len) == 1
                 ? 0
                 : -EBADMSG;
    EVP_PKEY_CTX_free(ctx);
    if (rc < 0)
        ERR_clear_error();
    return rc;
}

int proto_sha2_rsa_password(EVP_PKEY *key, const uint8_t *cipher, size_t len,
                            const uint8_t scramble[PROTO_SCRAMBLE_LEN], uint8_t *out, size_t cap,
                            size_t *out_len)
{
    if (!key_ok(key) || len != (size_t)EVP_PKEY_get_size(key))
        return -EINVAL;
    uint8_t plain[PROTO_RSA_MAX_BITS / 8];
    size_t n;
    int rc = rsa_decrypt(key, cipher, len, plain, sizeof plain, &n);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            plain[i] ^= scramble[i % PROTO_SCRAMBLE_LEN];
        if (n == 0 || plain[n - 1] != '\0')
            rc = -EBADMSG;
        else if (n - 1 > cap)
            rc = -ENOSPC;
    }
    if (rc == 0) {
        if (n > 1) /* out may be NULL when cap is 0 */
            memcpy(out, plain, n - 1);
        *out_len = n - 1;
    }
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}
