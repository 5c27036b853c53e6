/* sha2_crypt: caching_sha2_password's stored form, mysql.user.authentication_string:
 *   "$A$" RRR "$" SALT DIGEST
 * RRR is the round count in thousands as three hex digits ("005" = 5000 rounds), SALT 20
 * bytes and DIGEST 43 characters of Drepper's SHA-256 crypt (glibc's "$5$") over the password,
 * the whole 20-byte salt (glibc would stop at 16) and that many rounds. SHOW CREATE USER
 * prints the same 70 bytes as "0x" + hex when the salt is unprintable. This is the
 * full-authentication check: it needs the plaintext, which the client sends over TLS or RSA
 * (sha2_rsa.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    PROTO_SHA2_CRYPT_SALT_LEN = 20,
    PROTO_SHA2_CRYPT_DIGEST_LEN = 43,
    PROTO_SHA2_CRYPT_TEXT_LEN = 70,
    /* MySQL refuses longer passwords for this plugin, so no stored hash comes from one; the
     * bound also keeps the quadratic step of SHA-256 crypt cheap. */
    PROTO_SHA2_CRYPT_MAX_PASSWORD = 256,
};

/* Three hex digits of thousands: 0xFFF * 1000 is the most the text can say, and MySQL caps
 * caching_sha2_password_digest_rounds there too. One verification at that count is about
 * four million SHA-256 blocks, seconds of CPU: callers should not run it on an event loop. */
#define PROTO_SHA2_CRYPT_MIN_ROUNDS 1000u
#define PROTO_SHA2_CRYPT_MAX_ROUNDS (0xFFFu * 1000u)

struct proto_sha2_crypt {
    uint32_t rounds; /* a multiple of 1000 within the bounds above */
    uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN];
    char digest[PROTO_SHA2_CRYPT_DIGEST_LEN]; /* the text form, not NUL-terminated */
};

/* Parses the 70-byte literal form or "0x" + 140 hex digits (either case) of it. Refused with
 * -EINVAL: any other length or layout, a round count of 0 (MySQL would silently use 5000), a
 * salt holding NUL or '$' (MySQL never writes one, and its verifier would cut the salt
 * there), a digest character outside crypt's base64 alphabet. */
int proto_sha2_crypt_parse(const char *text, size_t len, struct proto_sha2_crypt *out);

/* Does password (len bytes, any content) hash to h? Compares in constant time. False too for
 * a password over PROTO_SHA2_CRYPT_MAX_PASSWORD, a round count out of bounds, or OpenSSL
 * failing. */
bool proto_sha2_crypt_verify(const struct proto_sha2_crypt *h, const void *password, size_t len);

/* Writes the literal form, NUL-terminated, as MySQL would store it. rounds must be a multiple
 * of 1000 within the bounds, salt free of NUL and '$', len at most
 * PROTO_SHA2_CRYPT_MAX_PASSWORD: -EINVAL otherwise (out untouched). -ENOMEM or -EIO if
 * OpenSSL fails. 0 on success. */
int proto_sha2_crypt_make(const void *password, size_t len,
                          const uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN], uint32_t rounds,
                          char out[PROTO_SHA2_CRYPT_TEXT_LEN + 1]);
