/* client: the client role of the connection phase, for ringsql's own connections to a backend
 * and for tests. Pure like the rest of protocol/: the caller moves the bytes.
 *
 *   1. read the server's first packet; proto_handshake_parse() it (an ERR instead means the
 *      server refused the connection).
 *   2. proto_client_build_login() -> HandshakeResponse41 with seq 1 (caps negotiated,
 *      mysql_native_password or caching_sha2_password answer computed from the password).
 *   3. read the reply: OK (logged in), ERR (refused), or an auth switch: answer it with
 *      proto_client_build_auth_switch_reply(); caching_sha2_password's fast-auth success
 *      (AuthMoreData 0x03) is followed by the OK. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/handshake.h"

struct proto_login {
    const char *user;
    const char *password; /* plaintext; "" or NULL for none */
    /* Instead of password: SHA1(password), which answers mysql_native_password only (a server
     * user ringsql checked itself, see proto_native_recover); NULL: password. */
    const uint8_t *stage1;
    const char *database; /* NULL: none */
    uint64_t caps;        /* what the client wants; negotiated against the server's here */
    uint8_t charset;
    uint32_t max_packet;
    const uint8_t *attrs; /* raw connect-attribute block (key/value lenenc strings), or NULL */
    size_t attrs_len; /* The login follows an SSLRequest (sequence id 1) and TLS: it is sequence id
                       * 2, and caps should ask for CLIENT_SSL. */
    bool after_ssl_request;
};

/* The caps a login will use with this server: wishes & offer, plus the bits the chosen
 * fields need (CONNECT_WITH_DB when a database is given, PLUGIN_AUTH, ...). */
uint64_t proto_client_caps(const struct proto_login *l, const struct proto_handshake *hs);

/* Builds the HandshakeResponse41 (sequence id 1) answering hs. The server's announced plugin
 * is used when it is mysql_native_password or caching_sha2_password; any other falls back to
 * mysql_native_password. */
ssize_t proto_client_build_login(uint8_t *buf, size_t cap, const struct proto_login *l,
                                 const struct proto_handshake *hs);

/* Answers an AuthSwitchRequest (payload p, len) for those two plugins: -ENOTSUP for others. */
ssize_t proto_client_build_auth_switch_reply(uint8_t *buf, size_t cap, uint8_t seq,
                                             const struct proto_login *l, const uint8_t *p,
                                             size_t len);
