/* libFuzzer target: the connection-phase parsers (handshake.h, change_user.h), and the
 * client helper's answers to whatever handshake or auth switch parses; a COM_CHANGE_USER
 * that parses is rebuilt and must parse back the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/change_user.h"
#include "protocol/client.h"
#include "protocol/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const struct proto_bytes *b, const uint8_t *p, size_t len)
{
    if (b->len && (b->ptr < p || b->ptr + b->len > p + len))
        abort();
}

static bool same(struct proto_bytes a, struct proto_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void change_user_round_trip(const uint8_t *data, size_t size, uint64_t caps)
{
    struct proto_change_user cu, back;
    if (proto_change_user_parse(data, size, caps, &cu) < 0)
        return;
    inside(&cu.user, data, size);
    inside(&cu.auth_response, data, size);
    inside(&cu.database, data, size);
    inside(&cu.auth_plugin, data, size);
    inside(&cu.attrs, data, size);
    uint8_t pkt[1024];
    ssize_t n = proto_build_change_user(pkt, sizeof pkt, caps, &cu);
    if (n < 0)
        return; /* a NUL inside a field, or more than fits */
    if (proto_change_user_parse(pkt + 4, (size_t)n - 4, caps, &back) < 0 ||
        !same(cu.user, back.user) || !same(cu.auth_response, back.auth_response) ||
        !same(cu.database, back.database) || back.charset != cu.charset)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[1024];
    struct proto_login l = {.user = "u", .password = "pw", .database = "db"};

    struct proto_handshake hs;
    if (proto_handshake_parse(data, size, &hs) == 0) {
        inside(&hs.server_version, data, size);
        inside(&hs.auth_plugin, data, size);
        if (hs.scramble_len > PROTO_SCRAMBLE_LEN)
            abort();
        (void)proto_client_build_login(out, sizeof out, &l, &hs);
    }

    static const uint64_t server_caps[] = {PROTO_RINGSQL_SERVER_CAPS, ~UINT64_C(0),
                                           PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_MYSQL};
    for (size_t i = 0; i < sizeof server_caps / sizeof server_caps[0]; i++) {
        struct proto_handshake_response r;
        if (proto_handshake_response_parse(data, size, server_caps[i], &r) == 0) {
            inside(&r.user, data, size);
            inside(&r.auth_response, data, size);
            inside(&r.database, data, size);
            inside(&r.auth_plugin, data, size);
            inside(&r.attrs, data, size);
            struct proto_rd rd = proto_rd_init(r.attrs.ptr, r.attrs.len);
            struct proto_bytes k, v;
            while (proto_attrs_next(&rd, &k, &v) > 0) {
                inside(&k, data, size);
                inside(&v, data, size);
            }
        }
        (void)proto_ssl_request_parse(data, size, server_caps[i], &r);
        change_user_round_trip(data, size, server_caps[i]);
    }
    if (size > 0)
        (void)proto_is_ssl_request(data, size);

    struct proto_bytes plugin, d;
    if (proto_auth_switch_parse(data, size, &plugin, &d) == 0) {
        inside(&plugin, data, size);
        inside(&d, data, size);
        (void)proto_client_build_auth_switch_reply(out, sizeof out, 2, &l, data, size);
    }
    if (proto_auth_more_data_parse(data, size, &d) == 0)
        inside(&d, data, size);
    return 0;
}
