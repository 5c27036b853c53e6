/* Scrambles (auth.h), against hashes MariaDB itself computed. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "protocol/auth.h"

static const uint8_t scramble[PROTO_SCRAMBLE_LEN] = "A1b2C3d4E5f6G7h8I9j0";

static void test_native_hash(void)
{
    /* SELECT PASSWORD('test_pass'), PASSWORD('secret') on MariaDB 10.11. */
    uint8_t h[PROTO_NATIVE_HASH_LEN], parsed[PROTO_NATIVE_HASH_LEN];
    proto_native_hash("test_pass", 9, h);
    CHECK_INT(proto_native_hash_parse("*34F2496C75CF8F8D8EBE14067C9C8B1AA8E80DEF", 41, parsed), 0);
    CHECK_MEM(h, sizeof h, parsed, sizeof parsed);
    proto_native_hash("secret", 6, h);
    CHECK_INT(proto_native_hash_parse("*14e65567abdb5135d0cfd9a70b3032c179a49ee7", 41, parsed), 0);
    CHECK_MEM(h, sizeof h, parsed, sizeof parsed);
    CHECK_INT(proto_native_hash_parse("14E65567ABDB5135D0CFD9A70B3032C179A49EE7", 40, parsed),
              -EINVAL);
    CHECK_INT(proto_native_hash_parse("*14E65567ABDB5135D0CFD9A70B3032C179A49EEG", 41, parsed),
              -EINVAL);
    CHECK_INT(proto_native_hash_parse("*14E6", 5, parsed), -EINVAL);
}

static void test_native_verify(void)
{
    uint8_t stored[PROTO_NATIVE_HASH_LEN], answer[PROTO_NATIVE_HASH_LEN];
    proto_native_hash("secret", 6, stored);
    CHECK_UINT(proto_native_scramble("secret", 6, scramble, answer), 20);
    CHECK(proto_native_verify(scramble, answer, 20, stored));
    CHECK(!proto_native_verify(scramble, answer, 19, stored));
    proto_native_scramble("secreT", 6, scramble, answer);
    CHECK(!proto_native_verify(scramble, answer, 20, stored));
    /* Another scramble, same password: refused (no replay). */
    uint8_t other[PROTO_SCRAMBLE_LEN];
    memcpy(other, scramble, sizeof other);
    other[0] ^= 1;
    proto_native_scramble("secret", 6, scramble, answer);
    CHECK(!proto_native_verify(other, answer, 20, stored));
    /* Empty password: nothing is sent, and only nothing is accepted. */
    CHECK_UINT(proto_native_scramble("", 0, scramble, answer), 0);
    CHECK(proto_native_verify(scramble, answer, 0, NULL));
    CHECK(!proto_native_verify(scramble, answer, 20, NULL));
    CHECK(!proto_native_verify(scramble, answer, 0, stored));
}

/* What a proxy takes from a client's answer: SHA1(password), which answers another scramble
 * as the client itself would. */
static void test_native_recover(void)
{
    uint8_t stored[PROTO_NATIVE_HASH_LEN], answer[PROTO_NATIVE_HASH_LEN];
    uint8_t stage1[PROTO_NATIVE_HASH_LEN], want[PROTO_NATIVE_HASH_LEN];
    proto_native_hash("secret", 6, stored);
    proto_native_scramble("secret", 6, scramble, answer);
    CHECK(proto_native_recover(scramble, answer, 20, stored, stage1));
    uint8_t other[PROTO_SCRAMBLE_LEN];
    memcpy(other, scramble, sizeof other);
    other[5] ^= 0x21;
    uint8_t again[PROTO_NATIVE_HASH_LEN];
    proto_native_scramble_stage1(stage1, other, again);
    proto_native_scramble("secret", 6, other, want);
    CHECK_MEM(again, sizeof again, want, sizeof want);
    CHECK(proto_native_verify(other, again, 20, stored));
    proto_native_scramble("secreT", 6, scramble, answer);
    CHECK(!proto_native_recover(scramble, answer, 20, stored, stage1));
    CHECK(!proto_native_recover(scramble, answer, 0, stored, stage1));
}

static void test_sha2(void)
{
    /* SELECT SHA2(UNHEX(SHA2('test_pass', 256)), 256) on MariaDB 10.11. */
    uint8_t h[PROTO_SHA2_HASH_LEN], parsed[PROTO_SHA2_HASH_LEN], answer[PROTO_SHA2_HASH_LEN];
    proto_sha2_hash("test_pass", 9, h);
    CHECK_INT(proto_sha2_hash_parse(
                  "9b3dd2f8590149ee5f7cfbf99c4a22eba79b9f43c363c355ecfae7cbbb671df6", 64, parsed),
              0);
    CHECK_MEM(h, sizeof h, parsed, sizeof parsed);
    CHECK_INT(proto_sha2_hash_parse("9b3d", 4, parsed), -EINVAL);
    CHECK_UINT(proto_sha2_scramble("test_pass", 9, scramble, answer), 32);
    CHECK(proto_sha2_verify(scramble, answer, 32, h));
    answer[31] ^= 0x80;
    CHECK(!proto_sha2_verify(scramble, answer, 32, h));
    CHECK(!proto_sha2_verify(scramble, answer, 20, h));
    CHECK_UINT(proto_sha2_scramble(NULL, 0, scramble, answer), 0);
    CHECK(proto_sha2_verify(scramble, answer, 0, NULL));
    CHECK(!proto_sha2_verify(scramble, answer, 0, h));
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_native_hash),
        CHECK_CASE(test_native_verify),
        CHECK_CASE(test_native_recover),
        CHECK_CASE(test_sha2),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
