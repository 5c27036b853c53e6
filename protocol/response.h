/* response: the generic server responses — OK, ERR, EOF — and the small packets that open
 * a result set or a prepared statement (column count, column definition, COM_STMT_PREPARE
 * OK, LOCAL INFILE request). Parsers take one logical packet's payload (no header) and the
 * capabilities both sides agreed on; builders write whole packets (header included) into a
 * caller buffer and return the packet's length or a negative errno (see lenenc.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/lenenc.h"

struct proto_ok {
    uint64_t affected_rows;
    uint64_t last_insert_id;
    uint16_t status;
    uint16_t warnings;
    struct proto_bytes info;
    /* The raw session-state-change block (CLIENT_SESSION_TRACK with
     * SERVER_SESSION_STATE_CHANGED), already checked to be a well-formed list; walk it with
     * proto_session_state_next(). Empty otherwise. */
    struct proto_bytes session_state;
};

struct proto_err {
    uint16_t code;
    char sqlstate[6]; /* NUL-terminated; "HY000" when the packet carries none */
    struct proto_bytes message;
};

struct proto_eof {
    uint16_t warnings;
    uint16_t status;
};

/* An OK packet: header 0x00, or 0xfe when it stands in for an EOF (CLIENT_DEPRECATE_EOF). */
int proto_ok_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_ok *ok);
/* An ERR packet (header 0xff). MariaDB progress reports come as code PROTO_ER_PROGRESS_REPORT. */
int proto_err_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_err *err);
/* A classic EOF packet (header 0xfe, shorter than 9 bytes). */
int proto_eof_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_eof *eof);

/* Does this packet end a row stream (EOF, or the OK that replaces it with DEPRECATE_EOF)?
 * len is the logical payload length: a text row that begins with 0xfe announces a value of
 * 16 MiB or more, so it is never shorter than the limits checked here. */
bool proto_is_eof(const uint8_t *p, size_t len, uint64_t caps);

/* One entry of a session-state-change block: type (SESSION_TRACK_*) and its data.
 * Returns 1 with an entry, 0 at the end, -EBADMSG if malformed. */
int proto_session_state_next(struct proto_rd *r, uint8_t *type, struct proto_bytes *data);

/* Session-state block entry types (SESSION_TRACK_*). */
enum { PROTO_SESSION_TRACK_STATE_CHANGE = 2 };

/* Drops the SESSION_TRACK_STATE_CHANGE entries from the OK packet p (len bytes of payload), in
 * place: what a client sees of session_track_state_change when ringsql turned it on and the
 * client did not. Its SERVER_SESSION_STATE_CHANGED flag goes too when no other entry stays.
 * Returns the new length (len when there was nothing to drop, or p is no such OK). */
size_t proto_ok_strip_state_change(uint8_t *p, size_t len, uint64_t caps);

/* The first packet of a result set: the column count, and with
 * MARIADB_CLIENT_CACHE_METADATA a flag byte saying whether column definitions follow. */
int proto_column_count_parse(const uint8_t *p, size_t len, uint64_t caps, uint64_t *count,
                             bool *metadata_follows);

/* A column definition (Protocol::ColumnDefinition41). */
struct proto_coldef {
    struct proto_bytes catalog, schema, table, org_table, name, org_name;
    struct proto_bytes extended; /* MariaDB extended metadata, when negotiated */
    uint16_t charset;
    uint32_t length;
    uint8_t type;
    uint16_t flags;
    uint8_t decimals;
};
int proto_coldef_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_coldef *c);

/* The COM_STMT_PREPARE OK packet. */
struct proto_prepare_ok {
    uint32_t stmt_id;
    uint16_t num_columns;
    uint16_t num_params;
    uint16_t warnings;
    bool metadata_follows; /* false only with CLIENT_OPTIONAL_RESULTSET_METADATA */
};
int proto_prepare_ok_parse(const uint8_t *p, size_t len, uint64_t caps,
                           struct proto_prepare_ok *ok);

/* The LOCAL INFILE request (header 0xfb, then the file name to the end of the packet). */
int proto_local_infile_parse(const uint8_t *p, size_t len, struct proto_bytes *filename);

/* Builders. caps decide the OK/ERR layout (PROTOCOL_41, SESSION_TRACK); pass the capabilities
 * the client announced, or PROTO_CLIENT_PROTOCOL_41 before it has answered the handshake. */
/* An OK's payload (no packet header) with header PROTO_HDR_OK, or PROTO_HDR_EOF for the OK
 * that ends rows under DEPRECATE_EOF. */
void proto_ok_payload(struct proto_wr *w, uint8_t header, uint64_t caps, const struct proto_ok *ok);
ssize_t proto_build_ok(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps,
                       const struct proto_ok *ok);
/* msg need not be NUL-terminated; sqlstate is 5 characters (NULL: "HY000"). */
ssize_t proto_build_err(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps, uint16_t code,
                        const char *sqlstate, const char *msg, size_t msg_len);
ssize_t proto_build_eof(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps, uint16_t warnings,
                        uint16_t status);
