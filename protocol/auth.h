/* auth: password scrambles for mysql_native_password and caching_sha2_password, with
 * OpenSSL's digests. The server side never needs the plaintext: a config may store
 *   mysql_native_password:  SHA1(SHA1(password)), written "*" + 40 hex digits as in
 *                           mysql.user / PASSWORD();
 *   caching_sha2_password:  SHA256(SHA256(password)), the fast-path cache entry.
 * A NULL stored hash means "this account has an empty password": only an empty auth response
 * is accepted then. Verification compares in constant time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/constants.h"

enum {
    PROTO_NATIVE_HASH_LEN = 20,
    PROTO_SHA2_HASH_LEN = 32,
};

#define PROTO_PLUGIN_NATIVE "mysql_native_password"
#define PROTO_PLUGIN_CACHING_SHA2 "caching_sha2_password"
#define PROTO_PLUGIN_ED25519 "client_ed25519"

/* mysql_native_password. */

/* stored = SHA1(SHA1(password)). */
void proto_native_hash(const void *password, size_t len, uint8_t stored[PROTO_NATIVE_HASH_LEN]);
/* Parses "*" followed by 40 hex digits (either case). -EINVAL otherwise. */
int proto_native_hash_parse(const char *text, size_t len, uint8_t stored[PROTO_NATIVE_HASH_LEN]);
/* The client's answer: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). An empty password
 * answers with nothing: the function then returns 0 and writes nothing; otherwise 20. */
size_t proto_native_scramble(const void *password, size_t len,
                             const uint8_t scramble[PROTO_SCRAMBLE_LEN],
                             uint8_t out[PROTO_NATIVE_HASH_LEN]);
/* The same answer from SHA1(password) alone (stage1): what a proxy that checked its client
 * (proto_native_recover) logs in to a server with, as that client, without the password. */
void proto_native_scramble_stage1(const uint8_t stage1[PROTO_NATIVE_HASH_LEN],
                                  const uint8_t scramble[PROTO_SCRAMBLE_LEN],
                                  uint8_t out[PROTO_NATIVE_HASH_LEN]);
/* Server side: does response prove knowledge of the password behind stored (non-NULL)? Yes:
 * stage1 holds SHA1(password), which response XOR SHA1(scramble + stored) gives. */
bool proto_native_recover(const uint8_t scramble[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                          size_t response_len, const uint8_t stored[PROTO_NATIVE_HASH_LEN],
                          uint8_t stage1[PROTO_NATIVE_HASH_LEN]);
/* Server side: does response prove knowledge of the password behind stored? */
bool proto_native_verify(const uint8_t scramble[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                         size_t response_len, const uint8_t *stored);

/* caching_sha2_password (fast path only: full authentication needs TLS or RSA). */

/* stored = SHA256(SHA256(password)). */
void proto_sha2_hash(const void *password, size_t len, uint8_t stored[PROTO_SHA2_HASH_LEN]);
/* Parses 64 hex digits. -EINVAL otherwise. */
int proto_sha2_hash_parse(const char *text, size_t len, uint8_t stored[PROTO_SHA2_HASH_LEN]);
/* The client's answer: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce). Returns 0 for an
 * empty password (nothing written), else 32. */
size_t proto_sha2_scramble(const void *password, size_t len,
                           const uint8_t nonce[PROTO_SCRAMBLE_LEN],
                           uint8_t out[PROTO_SHA2_HASH_LEN]);
bool proto_sha2_verify(const uint8_t nonce[PROTO_SCRAMBLE_LEN], const uint8_t *response,
                       size_t response_len, const uint8_t *stored);
