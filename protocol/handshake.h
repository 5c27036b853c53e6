/* handshake: the connection phase, in both roles — ringsql is a server to its clients and a
 * client to its backends.
 *
 *   server -> client  Handshake V10            proto_build_handshake / proto_handshake_parse
 *   client -> server  SSLRequest (optional)    proto_is_ssl_request / proto_build_ssl_request
 *   client -> server  HandshakeResponse41      proto_handshake_response_parse / _build
 *   server -> client  AuthSwitchRequest        proto_build_auth_switch / proto_auth_switch_parse
 *   client -> server  AuthSwitchResponse       proto_build_raw (the plugin's data as is)
 *   server -> client  AuthMoreData             proto_build_auth_more_data / _parse
 *   server -> client  OK or ERR                see response.h
 *
 * Parsers return ranges into the caller's payload (struct proto_bytes); nothing is copied
 * except the 20-byte scramble, which the Handshake V10 splits in two. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/constants.h"
#include "protocol/lenenc.h"

/* What ringsql offers its clients. Left out on purpose: COMPRESS and ZSTD (no compression
 * support yet), SSL (the caller adds PROTO_CLIENT_SSL when TLS is configured),
 * OPTIONAL_RESULTSET_METADATA and QUERY_ATTRIBUTES (MySQL-only layouts MariaDB backends never
 * produce), MariaDB PROGRESS and CACHE_METADATA (responses a pooled backend could not honour
 * for another client), and CLIENT_MYSQL, cleared so that MariaDB's extended capabilities are
 * exchanged at all. */
#define PROTO_RINGSQL_SERVER_CAPS                                                                  \
    (PROTO_CLIENT_FOUND_ROWS | PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_CONNECT_WITH_DB |             \
     PROTO_CLIENT_NO_SCHEMA | PROTO_CLIENT_ODBC | PROTO_CLIENT_LOCAL_FILES |                       \
     PROTO_CLIENT_IGNORE_SPACE | PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_INTERACTIVE |             \
     PROTO_CLIENT_IGNORE_SIGPIPE | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_SECURE_CONNECTION |    \
     PROTO_CLIENT_MULTI_STATEMENTS | PROTO_CLIENT_MULTI_RESULTS | PROTO_CLIENT_PS_MULTI_RESULTS |  \
     PROTO_CLIENT_PLUGIN_AUTH | PROTO_CLIENT_CONNECT_ATTRS |                                       \
     PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA | PROTO_CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS |            \
     PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF |                                     \
     PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS | PROTO_MARIADB_CLIENT_EXTENDED_METADATA)

/* The capabilities both sides use: the intersection, where the MariaDB extended half only
 * counts when both sides cleared CLIENT_MYSQL (otherwise those bytes were filler). */
uint64_t proto_caps_negotiate(uint64_t client_caps, uint64_t server_caps);

/* Handshake V10. */
struct proto_handshake {
    uint8_t protocol_version; /* always 10 */
    struct proto_bytes server_version;
    uint32_t conn_id;
    uint8_t scramble[PROTO_SCRAMBLE_LEN];
    size_t scramble_len; /* 20 from every current server; fewer only from ancient ones */
    uint64_t caps;       /* includes MariaDB's extended half when CLIENT_MYSQL is clear */
    uint8_t charset;
    uint16_t status;
    struct proto_bytes auth_plugin; /* empty without CLIENT_PLUGIN_AUTH */
};

/* Builds a Handshake V10 (sequence id 0) from hs: scramble_len must be 20; server_version and
 * auth_plugin must not contain NUL. Returns the packet length or -errno. */
ssize_t proto_build_handshake(uint8_t *buf, size_t cap, const struct proto_handshake *hs);
int proto_handshake_parse(const uint8_t *p, size_t len, struct proto_handshake *hs);

/* HandshakeResponse41 (and the fixed part of it that is an SSLRequest). */
struct proto_handshake_response {
    uint64_t caps; /* as the client sent them, extended half included when present */
    uint32_t max_packet;
    uint8_t charset;
    struct proto_bytes user;
    struct proto_bytes auth_response;
    struct proto_bytes database;    /* empty without CLIENT_CONNECT_WITH_DB */
    struct proto_bytes auth_plugin; /* empty without CLIENT_PLUGIN_AUTH */
    struct proto_bytes attrs;       /* raw attribute block; walk it with proto_attrs_next() */
};

/* SSLRequest: exactly the 32-byte fixed part with CLIENT_SSL set. */
bool proto_is_ssl_request(const uint8_t *p, size_t len);

/* Parses a HandshakeResponse41 sent in reply to a handshake that offered server_caps. The
 * fields present follow the capabilities both sides share. An SSLRequest is -EPROTO here:
 * test proto_is_ssl_request() first. Database, plugin name and attributes may be absent at
 * the end of the packet (older clients); a field that starts must end inside it. */
int proto_handshake_response_parse(const uint8_t *p, size_t len, uint64_t server_caps,
                                   struct proto_handshake_response *r);
/* Parses the fixed part (caps, max packet, charset) of an SSLRequest. */
int proto_ssl_request_parse(const uint8_t *p, size_t len, uint64_t server_caps,
                            struct proto_handshake_response *r);

/* Walks a connect-attribute block. Returns 1 with a pair, 0 at the end, -EBADMSG if malformed. */
int proto_attrs_next(struct proto_rd *r, struct proto_bytes *key, struct proto_bytes *value);

/* Client role: builds a HandshakeResponse41 (or, with ssl_only, the SSLRequest) for a server
 * that offered server_caps; r->caps are the client's wishes and should already be
 * negotiated. Returns the packet length or -errno (-EMSGSIZE: an auth response longer than
 * 255 bytes when the server cannot take it length-encoded). */
ssize_t proto_build_handshake_response(uint8_t *buf, size_t cap, uint8_t seq, uint64_t server_caps,
                                       const struct proto_handshake_response *r);
ssize_t proto_build_ssl_request(uint8_t *buf, size_t cap, uint8_t seq, uint64_t server_caps,
                                const struct proto_handshake_response *r);

/* AuthSwitchRequest: 0xfe, plugin name, plugin data. The builder appends a NUL after data as
 * servers do for scrambles; the parser drops one trailing NUL if present. */
ssize_t proto_build_auth_switch(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                                const uint8_t *data, size_t data_len);
/* The same with data as it is, no NUL after it (client_ed25519 reads exactly its nonce). */
ssize_t proto_build_auth_switch_exact(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                                      const uint8_t *data, size_t data_len);
int proto_auth_switch_parse(const uint8_t *p, size_t len, struct proto_bytes *plugin,
                            struct proto_bytes *data);

/* AuthMoreData: 0x01 then plugin data (e.g. caching_sha2_password's fast-auth result). */
ssize_t proto_build_auth_more_data(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *data,
                                   size_t data_len);
int proto_auth_more_data_parse(const uint8_t *p, size_t len, struct proto_bytes *data);

/* A packet whose payload is data as is (AuthSwitchResponse, a command, LOCAL INFILE data). */
ssize_t proto_build_raw(uint8_t *buf, size_t cap, uint8_t seq, const void *data, size_t len);
