/* change_user: COM_CHANGE_USER, in both roles. A client sends it to ringsql to log in again as
 * another (or the same) user; ringsql sends it to a backend to clear the connection's current
 * database, which COM_RESET_CONNECTION keeps.
 *
 *   0x11, user NUL, auth response (1-byte length with CLIENT_SECURE_CONNECTION, else NUL
 *   terminated), database NUL, [charset u16, [plugin name NUL (CLIENT_PLUGIN_AUTH),
 *   [attributes, length-encoded (CLIENT_CONNECT_ATTRS)]]]
 *
 * The server answers OK, ERR, or an AuthSwitchRequest the client answers with its plugin's
 * data (see handshake.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/lenenc.h"

struct proto_change_user {
    struct proto_bytes user;
    struct proto_bytes auth_response;
    struct proto_bytes database;
    uint16_t charset; /* 0 when the client sent none */
    struct proto_bytes auth_plugin;
    struct proto_bytes attrs; /* raw block, for proto_attrs_next() */
};

/* Parses a COM_CHANGE_USER payload (command byte included) from a client that negotiated
 * caps. Returns 0, or -EPROTO when it is not one, is cut short or has bytes left over. */
int proto_change_user_parse(const uint8_t *p, size_t len, uint64_t caps,
                            struct proto_change_user *out);

/* Builds a COM_CHANGE_USER packet (sequence id 0) with the fields of cu that caps allow
 * (with CLIENT_CONNECT_ATTRS the attribute block, empty or not, is always sent: MariaDB
 * requires it). Returns the packet length or -errno. */
ssize_t proto_build_change_user(uint8_t *buf, size_t cap, uint64_t caps,
                                const struct proto_change_user *cu);
