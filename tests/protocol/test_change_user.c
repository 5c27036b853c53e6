/* COM_CHANGE_USER (change_user.h): the builder round-trips through the parser in both auth
 * encodings, every truncation and trailing byte is refused, attributes are checked. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"

#define BYTES(s) ((struct proto_bytes){(const uint8_t *)(s), sizeof(s) - 1})

static const uint64_t caps = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_SECURE_CONNECTION |
                             PROTO_CLIENT_PLUGIN_AUTH | PROTO_CLIENT_CONNECT_ATTRS;

static void test_round_trip(void)
{
    struct proto_change_user cu = {.user = BYTES("app"),
                                   .auth_response = BYTES("\x01\x02\x00\x03"),
                                   .database = BYTES("shop"),
                                   .charset = 45,
                                   .auth_plugin = BYTES("mysql_native_password"),
                                   .attrs = BYTES("\x01k\x01v")};
    uint8_t pkt[128];
    ssize_t n = proto_build_change_user(pkt, sizeof pkt, caps, &cu);
    if (!CHECK(n > 4))
        return;
    CHECK_UINT(pkt[3], 0); /* a command: sequence id 0 */
    CHECK_UINT(pkt[4], PROTO_COM_CHANGE_USER);
    struct proto_change_user got;
    CHECK_INT(proto_change_user_parse(pkt + 4, (size_t)n - 4, caps, &got), 0);
    CHECK_MEM(got.user.ptr, got.user.len, "app", 3);
    CHECK_MEM(got.auth_response.ptr, got.auth_response.len, "\x01\x02\x00\x03", 4);
    CHECK_MEM(got.database.ptr, got.database.len, "shop", 4);
    CHECK_UINT(got.charset, 45);
    CHECK_MEM(got.auth_plugin.ptr, got.auth_plugin.len, "mysql_native_password", 21);
    CHECK_MEM(got.attrs.ptr, got.attrs.len, "\x01k\x01v", 4);
    /* Without attributes, CLIENT_CONNECT_ATTRS still sends an empty block (MariaDB wants it). */
    struct proto_change_user bare = cu;
    bare.attrs = (struct proto_bytes){NULL, 0};
    ssize_t m = proto_build_change_user(pkt, sizeof pkt, caps, &bare);
    if (CHECK(m == n - 4))
        CHECK_UINT(pkt[m - 1], 0);
    n = proto_build_change_user(pkt, sizeof pkt, caps, &cu);
    /* Cut anywhere before the charset: refused; cut right after the database: the old form. */
    size_t db_end = 1 + 4 + 1 + 4 + 5;
    for (size_t cut = 0; cut < (size_t)n - 4; cut++) {
        int rc = proto_change_user_parse(pkt + 4, cut, caps, &got);
        if (cut == db_end)
            CHECK_INT(rc, 0);
        else if (cut < db_end || cut == db_end + 1)
            CHECK_INT(rc, -EPROTO);
    }
    /* Without CLIENT_SECURE_CONNECTION the auth response is NUL-terminated. */
    uint64_t old = PROTO_CLIENT_PROTOCOL_41;
    cu.auth_response = BYTES("abc");
    n = proto_build_change_user(pkt, sizeof pkt, old, &cu);
    if (CHECK(n > 4)) {
        CHECK_INT(proto_change_user_parse(pkt + 4, (size_t)n - 4, old, &got), 0);
        CHECK_MEM(got.auth_response.ptr, got.auth_response.len, "abc", 3);
        CHECK_UINT(got.auth_plugin.len, 0);
    }
}

static void test_refusals(void)
{
    uint8_t pkt[600];
    struct proto_change_user cu = {.user = BYTES("a\0b")};
    CHECK_INT(proto_build_change_user(pkt, sizeof pkt, caps, &cu), -EINVAL);
    static uint8_t long_auth[300];
    cu = (struct proto_change_user){.user = BYTES("a"), .auth_response = {long_auth, 300}};
    CHECK_INT(proto_build_change_user(pkt, sizeof pkt, caps, &cu), -EMSGSIZE);
    struct proto_change_user got;
    static const uint8_t not_cu[] = {PROTO_COM_QUERY, 'a', 0, 0, 0};
    CHECK_INT(proto_change_user_parse(not_cu, sizeof not_cu, caps, &got), -EPROTO);
    /* Attributes whose lengths overrun their block, and a trailing byte. */
    static const uint8_t bad_attrs[] = {PROTO_COM_CHANGE_USER, 'a', 0, 0, 0, 45, 0, 'p', 0,
                                        3, 5, 'k', 'v'};
    CHECK_INT(proto_change_user_parse(bad_attrs, sizeof bad_attrs, caps, &got), -EPROTO);
    static const uint8_t good_attrs[] = {PROTO_COM_CHANGE_USER, 'a', 0, 0, 0, 45, 0, 'p', 0,
                                         4, 1, 'k', 1, 'v'};
    CHECK_INT(proto_change_user_parse(good_attrs, sizeof good_attrs, caps, &got), 0);
    CHECK_INT(proto_change_user_parse(good_attrs, sizeof good_attrs - 1, caps, &got), -EPROTO);
    uint8_t trailing[sizeof good_attrs + 1];
    memcpy(trailing, good_attrs, sizeof good_attrs);
    trailing[sizeof good_attrs] = 'x';
    CHECK_INT(proto_change_user_parse(trailing, sizeof trailing, caps, &got), -EPROTO);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_round_trip),
        CHECK_CASE(test_refusals),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
