/* client: building a backend login (see client.h). */
#include "protocol/client.h"

#include <errno.h>
#include <string.h>

#include "protocol/auth.h"

uint64_t proto_client_caps(const struct proto_login *l, const struct proto_handshake *hs)
{
    uint64_t want = l->caps | PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_SECURE_CONNECTION |
                    PROTO_CLIENT_PLUGIN_AUTH;
    if (l->database)
        want |= PROTO_CLIENT_CONNECT_WITH_DB;
    else
        want &= ~PROTO_CLIENT_CONNECT_WITH_DB;
    if (l->attrs)
        want |= PROTO_CLIENT_CONNECT_ATTRS;
    /* Talk MariaDB's extended capabilities whenever the server does. */
    if (!(hs->caps & PROTO_CLIENT_MYSQL))
        want &= ~PROTO_CLIENT_MYSQL;
    return proto_caps_negotiate(want, hs->caps);
}

static bool is_plugin(struct proto_bytes name, const char *want)
{
    return name.len == strlen(want) && memcmp(name.ptr, want, name.len) == 0;
}

/* Computes the plugin's answer to scramble into out (room for 32 bytes); returns its length. */
static size_t plugin_answer(bool sha2, const struct proto_login *l, const uint8_t *scramble,
                            uint8_t *out)
{
    if (l->stage1 && !sha2) {
        proto_native_scramble_stage1(l->stage1, scramble, out);
        return PROTO_NATIVE_HASH_LEN;
    }
    size_t pwlen = l->password ? strlen(l->password) : 0;
    if (sha2)
        return proto_sha2_scramble(l->password, pwlen, scramble, out);
    return proto_native_scramble(l->password, pwlen, scramble, out);
}

ssize_t proto_client_build_login(uint8_t *buf, size_t cap, const struct proto_login *l,
                                 const struct proto_handshake *hs)
{
    if (hs->scramble_len != PROTO_SCRAMBLE_LEN)
        return -ENOTSUP;
    /* With only SHA1(password), native it is: the server switches if the account needs more. */
    bool sha2 = !l->stage1 && is_plugin(hs->auth_plugin, PROTO_PLUGIN_CACHING_SHA2);
    const char *plugin = sha2 ? PROTO_PLUGIN_CACHING_SHA2 : PROTO_PLUGIN_NATIVE;
    uint8_t answer[PROTO_SHA2_HASH_LEN];
    struct proto_handshake_response r = {
        .caps = proto_client_caps(l, hs),
        .max_packet = l->max_packet,
        .charset = l->charset,
        .user = {(const uint8_t *)l->user, strlen(l->user)},
        .auth_response = {answer, plugin_answer(sha2, l, hs->scramble, answer)},
        .database = {(const uint8_t *)l->database, l->database ? strlen(l->database) : 0},
        .auth_plugin = {(const uint8_t *)plugin, strlen(plugin)},
        .attrs = {l->attrs, l->attrs_len},
    };
    return proto_build_handshake_response(buf, cap, l->after_ssl_request ? 2 : 1, hs->caps, &r);
}

ssize_t proto_client_build_auth_switch_reply(uint8_t *buf, size_t cap, uint8_t seq,
                                             const struct proto_login *l, const uint8_t *p,
                                             size_t len)
{
    struct proto_bytes plugin, data;
    int rc = proto_auth_switch_parse(p, len, &plugin, &data);
    if (rc < 0)
        return rc;
    bool sha2 = is_plugin(plugin, PROTO_PLUGIN_CACHING_SHA2);
    if ((!sha2 && !is_plugin(plugin, PROTO_PLUGIN_NATIVE)) || (sha2 && l->stage1))
        return -ENOTSUP;
    if (data.len != PROTO_SCRAMBLE_LEN)
        return -EPROTO;
    uint8_t answer[PROTO_SHA2_HASH_LEN];
    size_t n = plugin_answer(sha2, l, data.ptr, answer);
    return proto_build_raw(buf, cap, seq, answer, n);
}
