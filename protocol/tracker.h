/* tracker: follows the framing of one command's response so that ringsql always knows whether
 * a backend has finished answering, and in what state it left the session.
 *
 * One struct proto_tracker lives in each backend connection (no heap, no pointers into
 * packets). For every command forwarded:
 *
 *     proto_tracker_begin(t, command_byte, caps)       // or _begin_packet with the payload
 *     while verdict == PROTO_TRACK_MORE:
 *         verdict = proto_tracker_feed(t, server_payload, len)   // one physical packet each
 *
 * Verdicts:
 *   PROTO_TRACK_DONE    the response is complete; the backend waits for the next command.
 *                       proto_tracker_status() gives the final status flags (IN_TRANS,
 *                       CURSOR_EXISTS, ...), t->error says whether it ended in an ERR.
 *   PROTO_TRACK_MORE    more server packets belong to this response.
 *   PROTO_TRACK_INFILE  the server asked for a LOCAL INFILE: the client now sends the file's
 *                       contents in packets, then an empty packet. Feed those client packets
 *                       to proto_tracker_feed_client() until it says PROTO_TRACK_MORE: the
 *                       server then answers with OK or ERR (possibly followed by more results),
 *                       fed as usual.
 *   PROTO_TRACK_AUTH    (COM_CHANGE_USER) the server sent an auth switch or more auth data: the
 *                       client answers with one packet (proto_tracker_feed_client), then the
 *                       server goes on.
 * A negative errno means the stream is not a valid response (-EPROTO, -EBADMSG) or the
 * command is one ringsql cannot follow (-ENOTSUP: replication, COM_MULTI); the connection
 * should be closed.
 *
 * A packet of exactly 16 MiB - 1 bytes is continued by the next one; the tracker counts the
 * continuation as part of the same logical packet (only rows may be that large). Feed each
 * physical packet's whole payload. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the last server packet fed was, for code that rewrites responses (protocol/xlat.h). */
enum proto_pkt_kind {
    PROTO_PKT_OTHER,       /* a row, a LOCAL INFILE request, auth data, statistics text... */
    PROTO_PKT_OK,          /* an OK packet with the 0x00 header */
    PROTO_PKT_ERR,         /* an ERR that ends the response */
    PROTO_PKT_PROGRESS,    /* a MariaDB progress report (ERR-shaped, code 0xffff) */
    PROTO_PKT_COLCOUNT,    /* a result set's column count */
    PROTO_PKT_COLDEF,      /* a result set's column definition */
    PROTO_PKT_FIELD,       /* a COM_FIELD_LIST column definition */
    PROTO_PKT_PREPARE_OK,  /* COM_STMT_PREPARE's first packet */
    PROTO_PKT_PARAMDEF,    /* COM_STMT_PREPARE's parameter definition */
    PROTO_PKT_PREP_COLDEF, /* COM_STMT_PREPARE's column definition */
    PROTO_PKT_EOF_MID,     /* a classic EOF that ends definitions (rows or more follow) */
    PROTO_PKT_EOF_CURSOR,  /* the EOF after a cursor's definitions, which ends the response */
    PROTO_PKT_EOF_END,     /* a classic EOF that ends rows (the result set) */
};

enum proto_track_verdict {
    PROTO_TRACK_MORE = 0,
    PROTO_TRACK_DONE = 1,
    PROTO_TRACK_INFILE = 2,
    PROTO_TRACK_AUTH = 3,
};

struct proto_tracker {
    /* Read these; set by the tracker. */
    uint16_t status;      /* last status flags the server sent; kept across commands */
    uint16_t status_seen; /* every status flag any OK/EOF of this response carried */
    bool error;           /* this response ended in an ERR packet */
    uint16_t error_code;  /* its code */
    uint16_t warnings;    /* from the final OK/EOF */
    uint64_t affected_rows;
    uint64_t last_insert_id;
    uint32_t results; /* OKs and result sets seen in this response (multi-results) */
    uint64_t rows;    /* rows in the current/last result set */
    uint8_t kind;     /* enum proto_pkt_kind of the last server packet fed */
    struct {
        uint32_t stmt_id;
        uint16_t num_columns;
        uint16_t num_params;
        uint16_t warnings;
    } prepare; /* filled by a successful COM_STMT_PREPARE */

    /* Internal. */
    uint64_t caps;
    uint64_t defs_left;
    uint8_t command;
    uint8_t state;
    bool binary;      /* rows use the binary protocol */
    bool cursor;      /* COM_STMT_EXECUTE asked for a cursor */
    bool server_cont; /* the last server packet was full: the next one continues it */
    bool client_cont;
    bool have_seq;
    uint8_t next_seq;
    uint16_t cols_after_params; /* COM_STMT_PREPARE: column definitions still to come */
};

/* Starts a fresh tracker for a connection whose session status (from the handshake or the
 * backend's last OK) is status. */
void proto_tracker_init(struct proto_tracker *t, uint16_t status);

/* Starts following the response to command (its first payload byte) under the negotiated
 * capabilities caps. Returns PROTO_TRACK_DONE for commands without a response (COM_QUIT,
 * COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA), PROTO_TRACK_MORE otherwise, -ENOTSUP for commands
 * whose responses ringsql does not follow. */
int proto_tracker_begin(struct proto_tracker *t, uint8_t command, uint64_t caps);
/* The same, from the command's payload: also reads COM_STMT_EXECUTE's cursor flag. */
int proto_tracker_begin_packet(struct proto_tracker *t, const uint8_t *cmd, size_t len,
                               uint64_t caps);

/* Feeds one physical server packet's payload. */
int proto_tracker_feed(struct proto_tracker *t, const uint8_t *payload, size_t len);
/* Feeds one physical client packet while the tracker waits on the client (after INFILE or
 * AUTH). Returns PROTO_TRACK_INFILE while more file data may follow, PROTO_TRACK_MORE once the
 * server's turn has come. */
int proto_tracker_feed_client(struct proto_tracker *t, const uint8_t *payload, size_t len);

/* Same as proto_tracker_feed / _feed_client, from a whole physical packet (4-byte header
 * included, len its full length). Also checks that sequence ids follow each other from the
 * first packet fed after begin. */
int proto_tracker_feed_packet(struct proto_tracker *t, const uint8_t *pkt, size_t len);
int proto_tracker_feed_client_packet(struct proto_tracker *t, const uint8_t *pkt, size_t len);

/* The status flags after the response, and convenience tests on them. */
static inline uint16_t proto_tracker_status(const struct proto_tracker *t)
{
    return t->status;
}
bool proto_tracker_in_trans(const struct proto_tracker *t);
bool proto_tracker_cursor_open(const struct proto_tracker *t);
/* True when the tracker is between responses (after DONE, or before the first begin). */
bool proto_tracker_idle(const struct proto_tracker *t);
