/* Connection phase (handshake.h, client.h): real packets from MariaDB 10.11 and from
 * libmariadb 3.3, builders round-tripped through the parsers, and refusals. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "protocol/auth.h"
#include "protocol/client.h"
#include "protocol/handshake.h"

/* The Handshake V10 MariaDB 10.11 sent (header included). */
static const char server_hs_hex[] =
    "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100450000003661"
    "665e2333767900fef7080200ff81150000000000001d0000007c274875364b58562a6c6021006d7973716c5f"
    "6e61746976655f70617373776f726400";

/* libmariadb's (mariadb CLI) answer to it: user ringsql_test, password test_pass. */
static const char client_resp_hex[] =
    "e50000018ca2bf000000100021000000000000000000000000000000000000001d00000072696e6773716c5f"
    "7465737400148e3d4e7a2ac946890f889b60bb034d06451f83d272696e6773716c5f74657374006d7973716c"
    "5f6e61746976655f70617373776f7264007f035f6f73054c696e75780c5f636c69656e745f6e616d650a6c69"
    "626d617269616462045f7069640531303336320f5f636c69656e745f76657273696f6e06332e332e3230095f"
    "706c6174666f726d067838365f36340c70726f6772616d5f6e616d65056d7973716c0c5f7365727665725f68"
    "6f7374093132372e302e302e31";

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return n;
}

static void test_parse_mariadb_handshake(void)
{
    uint8_t pkt[256];
    size_t n = unhex(server_hs_hex, pkt);
    struct proto_handshake hs;
    CHECK_INT(proto_handshake_parse(pkt + 4, n - 4, &hs), 0);
    CHECK_UINT(hs.protocol_version, 10);
    CHECK_MEM(hs.server_version.ptr, hs.server_version.len, "5.5.5-10.11.19-MariaDB-0+deb12u1",
              32);
    CHECK_UINT(hs.conn_id, 0x45);
    CHECK_UINT(hs.scramble_len, 20);
    CHECK_MEM(hs.scramble, 8, "6af^#3vy", 8);
    CHECK(!(hs.caps & PROTO_CLIENT_MYSQL));
    CHECK(hs.caps & PROTO_CLIENT_DEPRECATE_EOF);
    CHECK(hs.caps & PROTO_MARIADB_CLIENT_CACHE_METADATA);
    CHECK(hs.caps & PROTO_MARIADB_CLIENT_PROGRESS);
    CHECK_UINT(hs.status, 2);
    CHECK_MEM(hs.auth_plugin.ptr, hs.auth_plugin.len, "mysql_native_password", 21);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < n - 4; cut++)
        CHECK(proto_handshake_parse(pkt + 4, cut, &hs) < 0);
    pkt[4] = 9;
    CHECK_INT(proto_handshake_parse(pkt + 4, n - 4, &hs), -ENOTSUP);
}

static void test_parse_libmariadb_response(void)
{
    uint8_t hs_pkt[256], pkt[512];
    size_t hn = unhex(server_hs_hex, hs_pkt), n = unhex(client_resp_hex, pkt);
    struct proto_handshake hs;
    CHECK_INT(proto_handshake_parse(hs_pkt + 4, hn - 4, &hs), 0);
    CHECK(!proto_is_ssl_request(pkt + 4, n - 4));
    struct proto_handshake_response r;
    CHECK_INT(proto_handshake_response_parse(pkt + 4, n - 4, hs.caps, &r), 0);
    CHECK_MEM(r.user.ptr, r.user.len, "ringsql_test", 12);
    CHECK_MEM(r.database.ptr, r.database.len, "ringsql_test", 12);
    CHECK_MEM(r.auth_plugin.ptr, r.auth_plugin.len, "mysql_native_password", 21);
    CHECK_UINT(r.auth_response.len, 20);
    CHECK_UINT(r.charset, 0x21);
    CHECK(r.caps & PROTO_MARIADB_CLIENT_CACHE_METADATA); /* extended caps were read */
    /* The client proved the password: verify it the way ringsql will. */
    uint8_t stored[PROTO_NATIVE_HASH_LEN];
    CHECK_INT(proto_native_hash_parse("*34F2496C75CF8F8D8EBE14067C9C8B1AA8E80DEF", 41, stored), 0);
    CHECK(proto_native_verify(hs.scramble, r.auth_response.ptr, r.auth_response.len, stored));
    /* Connect attributes walk to their end. */
    struct proto_rd rd = proto_rd_init(r.attrs.ptr, r.attrs.len);
    struct proto_bytes k, v;
    int pairs = 0, rc;
    bool saw_client = false;
    while ((rc = proto_attrs_next(&rd, &k, &v)) > 0) {
        pairs++;
        if (k.len == 12 && memcmp(k.ptr, "_client_name", 12) == 0)
            saw_client = v.len == 10 && memcmp(v.ptr, "libmariadb", 10) == 0;
    }
    CHECK_INT(rc, 0);
    CHECK_INT(pairs, 7);
    CHECK(saw_client);
    /* Truncated anywhere inside a field: refused (ends at field boundaries may be valid). */
    int refused = 0;
    for (size_t cut = 0; cut < n - 4; cut++)
        refused += proto_handshake_response_parse(pkt + 4, cut, hs.caps, &r) < 0;
    CHECK(refused >= (int)(n - 4) - 3);
    /* An attribute block that claims more than it holds. */
    pkt[n - 1 - 9 - 1 - 12] = 0x7f;
    CHECK(proto_handshake_response_parse(pkt + 4, n - 4, hs.caps, &r) < 0);
}

/* What ringsql sends its clients, parsed back. */
static void test_build_handshake(void)
{
    static const char version[] = "5.5.5-10.11.0-ringsql";
    struct proto_handshake hs = {
        .server_version = {(const uint8_t *)version, sizeof version - 1},
        .conn_id = 42,
        .scramble_len = 20,
        .caps = PROTO_RINGSQL_SERVER_CAPS,
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
        .status = PROTO_SERVER_STATUS_AUTOCOMMIT,
        .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE)},
    };
    memcpy(hs.scramble, "0123456789abcdefghij", 20);
    uint8_t buf[256];
    ssize_t n = proto_build_handshake(buf, sizeof buf, &hs);
    CHECK(n > 0);
    CHECK_UINT(buf[3], 0);
    struct proto_handshake got;
    CHECK_INT(proto_handshake_parse(buf + 4, (size_t)n - 4, &got), 0);
    CHECK_MEM(got.server_version.ptr, got.server_version.len, version, sizeof version - 1);
    CHECK_UINT(got.conn_id, 42);
    CHECK_MEM(got.scramble, got.scramble_len, hs.scramble, 20);
    CHECK_UINT(got.caps, PROTO_RINGSQL_SERVER_CAPS);
    CHECK(!(got.caps & PROTO_CLIENT_COMPRESS));
    CHECK(got.caps & PROTO_MARIADB_CLIENT_EXTENDED_METADATA);
    CHECK_MEM(got.auth_plugin.ptr, got.auth_plugin.len, PROTO_PLUGIN_NATIVE,
              strlen(PROTO_PLUGIN_NATIVE));
    CHECK_INT(proto_build_handshake(buf, 40, &hs), -ENOSPC);
    hs.scramble_len = 8;
    CHECK_INT(proto_build_handshake(buf, sizeof buf, &hs), -EINVAL);
}

/* The client helper against ringsql's own handshake, and the response back through the
 * server-side parser: all three auth-response encodings. */
static void test_login_roundtrip(void)
{
    struct proto_handshake hs = {.scramble_len = 20, .caps = PROTO_RINGSQL_SERVER_CAPS,
                                 .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, 21}};
    memcpy(hs.scramble, "abcdefghijklmnopqrst", 20);
    static const uint8_t attrs[] = {3, 'k', 'e', 'y', 1, 'v'};
    uint64_t encodings[] = {PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA, 0};
    for (size_t e = 0; e < 2; e++) {
        struct proto_login l = {.user = "app", .password = "secret", .database = "db1",
                                .caps = PROTO_CLIENT_DEPRECATE_EOF | encodings[e],
                                .charset = 45, .max_packet = 1 << 24,
                                .attrs = attrs, .attrs_len = sizeof attrs};
        uint8_t buf[512];
        ssize_t n = proto_client_build_login(buf, sizeof buf, &l, &hs);
        CHECK(n > 0);
        CHECK_UINT(buf[3], 1);
        struct proto_handshake_response r;
        CHECK_INT(proto_handshake_response_parse(buf + 4, (size_t)n - 4, hs.caps, &r), 0);
        CHECK_MEM(r.user.ptr, r.user.len, "app", 3);
        CHECK_MEM(r.database.ptr, r.database.len, "db1", 3);
        CHECK_MEM(r.attrs.ptr, r.attrs.len, attrs, sizeof attrs);
        CHECK(r.caps & PROTO_CLIENT_DEPRECATE_EOF);
        uint8_t stored[PROTO_NATIVE_HASH_LEN];
        proto_native_hash("secret", 6, stored);
        CHECK(proto_native_verify(hs.scramble, r.auth_response.ptr, r.auth_response.len, stored));
    }
    /* The pre-4.1 NUL-terminated auth response, parsed when SECURE_CONNECTION is off. */
    uint64_t old_caps = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_MYSQL;
    struct proto_handshake_response w = {.caps = old_caps,
                                         .user = {(const uint8_t *)"u", 1},
                                         .auth_response = {(const uint8_t *)"pw", 2}};
    uint8_t buf[128];
    ssize_t n = proto_build_handshake_response(buf, sizeof buf, 1, old_caps, &w);
    struct proto_handshake_response r;
    CHECK_INT(proto_handshake_response_parse(buf + 4, (size_t)n - 4, old_caps, &r), 0);
    CHECK_MEM(r.auth_response.ptr, r.auth_response.len, "pw", 2);
}

static void test_ssl_request(void)
{
    struct proto_handshake_response w = {.caps = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_SSL,
                                         .max_packet = 1000, .charset = 45};
    uint8_t buf[64];
    ssize_t n = proto_build_ssl_request(buf, sizeof buf, 1, PROTO_RINGSQL_SERVER_CAPS, &w);
    CHECK_INT(n, 36);
    CHECK(proto_is_ssl_request(buf + 4, 32));
    struct proto_handshake_response r;
    CHECK_INT(proto_ssl_request_parse(buf + 4, 32, PROTO_RINGSQL_SERVER_CAPS, &r), 0);
    CHECK_UINT(r.max_packet, 1000);
    CHECK_INT(proto_handshake_response_parse(buf + 4, 32, PROTO_RINGSQL_SERVER_CAPS, &r),
              -EPROTO);
    CHECK_INT(proto_ssl_request_parse(buf + 4, 31, PROTO_RINGSQL_SERVER_CAPS, &r), -EBADMSG);
}

static void test_auth_switch_and_more_data(void)
{
    uint8_t buf[128];
    const uint8_t *scramble = (const uint8_t *)"abcdefghijklmnopqrst";
    ssize_t n = proto_build_auth_switch(buf, sizeof buf, 2, PROTO_PLUGIN_CACHING_SHA2, scramble,
                                        20);
    CHECK(n > 0);
    CHECK_UINT(buf[4], 0xfe);
    struct proto_bytes plugin, data;
    CHECK_INT(proto_auth_switch_parse(buf + 4, (size_t)n - 4, &plugin, &data), 0);
    CHECK_MEM(plugin.ptr, plugin.len, PROTO_PLUGIN_CACHING_SHA2, 21);
    CHECK_MEM(data.ptr, data.len, scramble, 20);
    CHECK_INT(proto_auth_switch_parse(buf + 4, 1, &plugin, &data), -ENOTSUP);
    CHECK_INT(proto_auth_switch_parse(buf + 4, 10, &plugin, &data), -EBADMSG);

    /* The client answers it. */
    struct proto_login l = {.user = "u", .password = "pw"};
    uint8_t reply[64];
    n = proto_client_build_auth_switch_reply(reply, sizeof reply, 3, &l, buf + 4,
                                             (size_t)n - 4);
    CHECK_INT(n, 4 + 32);
    uint8_t stored[PROTO_SHA2_HASH_LEN];
    proto_sha2_hash("pw", 2, stored);
    CHECK(proto_sha2_verify(scramble, reply + 4, 32, stored));

    static const uint8_t fast_ok = PROTO_CSHA2_FAST_AUTH_SUCCESS;
    n = proto_build_auth_more_data(buf, sizeof buf, 4, &fast_ok, 1);
    CHECK_INT(n, 6);
    CHECK_MEM(buf, 6, "\x02\x00\x00\x04\x01\x03", 6);
    CHECK_INT(proto_auth_more_data_parse(buf + 4, 2, &data), 0);
    CHECK_MEM(data.ptr, data.len, "\x03", 1);
    CHECK_INT(proto_auth_more_data_parse(buf + 4, 0, &data), -EBADMSG);
}

static void test_caps_negotiate(void)
{
    uint64_t server = PROTO_RINGSQL_SERVER_CAPS;
    uint64_t mysql_client = PROTO_CLIENT_MYSQL | PROTO_CLIENT_PROTOCOL_41 |
                            PROTO_MARIADB_CLIENT_EXTENDED_METADATA | PROTO_CLIENT_COMPRESS;
    /* A MySQL client's high bytes are filler, and compression is never agreed. */
    CHECK_UINT(proto_caps_negotiate(mysql_client, server), PROTO_CLIENT_PROTOCOL_41);
    uint64_t maria = PROTO_CLIENT_PROTOCOL_41 | PROTO_MARIADB_CLIENT_EXTENDED_METADATA |
                     PROTO_MARIADB_CLIENT_CACHE_METADATA;
    CHECK_UINT(proto_caps_negotiate(maria, server),
               PROTO_CLIENT_PROTOCOL_41 | PROTO_MARIADB_CLIENT_EXTENDED_METADATA);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_parse_mariadb_handshake), CHECK_CASE(test_parse_libmariadb_response),
        CHECK_CASE(test_build_handshake),         CHECK_CASE(test_login_roundtrip),
        CHECK_CASE(test_ssl_request),             CHECK_CASE(test_auth_switch_and_more_data),
        CHECK_CASE(test_caps_negotiate),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
