/* tracker: response framing state machine (see tracker.h).
 *
 * States, and the packets that move between them:
 *
 *   IDLE            nothing expected; feeding a server packet here is an error
 *   RESULT_FIRST    OK [MORE_RESULTS: stay] | ERR | LOCAL INFILE -> INFILE_CLIENT
 *                   | column count -> COLDEFS (or COLDEFS_EOF / ROWS when metadata is cached)
 *   COLDEFS         column definitions; after the last -> COLDEFS_EOF, or ROWS (DEPRECATE_EOF)
 *   COLDEFS_EOF     EOF -> ROWS, or done when a cursor was opened
 *   ROWS            rows | EOF/OK [MORE_RESULTS -> RESULT_FIRST] | ERR
 *   INFILE_CLIENT   (client packets) file data ... empty packet -> INFILE_REPLY
 *   INFILE_REPLY    OK [MORE_RESULTS -> RESULT_FIRST] | ERR
 *   PREPARE_FIRST   prepare OK -> PREP_PARAMS / PREP_COLS / done | ERR
 *   PREP_PARAMS     parameter definitions -> PREP_PARAMS_EOF, or PREP_COLS / done
 *   PREP_PARAMS_EOF EOF -> PREP_COLS / done
 *   PREP_COLS       column definitions -> PREP_COLS_EOF, or done
 *   PREP_COLS_EOF   EOF -> done
 *   FIELD_LIST      column definitions | EOF | ERR
 *   SIMPLE          one OK | EOF | ERR
 *   STATISTICS      one string packet | ERR
 *   CHANGE_USER     OK | ERR | auth switch / auth data -> AUTH_CLIENT | fast-auth success
 *   AUTH_CLIENT     (client packet) one -> CHANGE_USER
 *
 * An ERR packet ends the whole response in every server state: a failing statement stops a
 * multi-statement batch, and an error inside a result set ends it. MariaDB progress reports
 * (ERR-shaped, code 0xffff) are skipped when that capability is on. */
#include "protocol/tracker.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/response.h"

enum track_state {
    ST_IDLE,
    ST_RESULT_FIRST,
    ST_COLDEFS,
    ST_COLDEFS_EOF,
    ST_ROWS,
    ST_INFILE_CLIENT,
    ST_INFILE_REPLY,
    ST_PREPARE_FIRST,
    ST_PREP_PARAMS,
    ST_PREP_PARAMS_EOF,
    ST_PREP_COLS,
    ST_PREP_COLS_EOF,
    ST_FIELD_LIST,
    ST_SIMPLE,
    ST_STATISTICS,
    ST_CHANGE_USER,
    ST_AUTH_CLIENT,
};

void proto_tracker_init(struct proto_tracker *t, uint16_t status)
{
    memset(t, 0, sizeof *t);
    t->status = status;
    t->state = ST_IDLE;
}

static enum track_state first_state(uint8_t command)
{
    switch (command) {
    case PROTO_COM_QUERY:
    case PROTO_COM_PROCESS_INFO:
    case PROTO_COM_STMT_EXECUTE:
    case PROTO_COM_STMT_BULK_EXECUTE:
        return ST_RESULT_FIRST;
    case PROTO_COM_STMT_FETCH:
        return ST_ROWS;
    case PROTO_COM_STMT_PREPARE:
        return ST_PREPARE_FIRST;
    case PROTO_COM_FIELD_LIST:
        return ST_FIELD_LIST;
    case PROTO_COM_STATISTICS:
        return ST_STATISTICS;
    case PROTO_COM_CHANGE_USER:
        return ST_CHANGE_USER;
    case PROTO_COM_QUIT:
    case PROTO_COM_STMT_CLOSE:
    case PROTO_COM_STMT_SEND_LONG_DATA:
        return ST_IDLE;
    default:
        /* Everything else (INIT_DB, PING, RESET_CONNECTION, SET_OPTION, STMT_RESET, REFRESH,
         * unknown bytes the server will refuse with one ERR, ...) gets one packet. */
        return ST_SIMPLE;
    }
}

int proto_tracker_begin(struct proto_tracker *t, uint8_t command, uint64_t caps)
{
    switch (command) {
    case PROTO_COM_BINLOG_DUMP:
    case PROTO_COM_BINLOG_DUMP_GTID:
    case PROTO_COM_TABLE_DUMP:
    case PROTO_COM_MULTI:
        /* Streams without an end (replication) or a removed MariaDB batch format. */
        return -ENOTSUP;
    default:
        break;
    }
    uint16_t status = t->status;
    proto_tracker_init(t, status);
    t->caps = caps;
    t->command = command;
    t->binary = command == PROTO_COM_STMT_EXECUTE || command == PROTO_COM_STMT_FETCH ||
                command == PROTO_COM_STMT_BULK_EXECUTE;
    t->state = (uint8_t)first_state(command);
    return t->state == ST_IDLE ? PROTO_TRACK_DONE : PROTO_TRACK_MORE;
}

int proto_tracker_begin_packet(struct proto_tracker *t, const uint8_t *cmd, size_t len,
                               uint64_t caps)
{
    if (len == 0)
        return -EBADMSG;
    int rc = proto_tracker_begin(t, cmd[0], caps);
    /* COM_STMT_EXECUTE: command 1, statement id 4, flags 1. */
    if (rc >= 0 && cmd[0] == PROTO_COM_STMT_EXECUTE) {
        if (len < 6)
            return -EBADMSG;
        t->cursor = (cmd[5] & (PROTO_CURSOR_TYPE_READ_ONLY | PROTO_CURSOR_TYPE_FOR_UPDATE |
                               PROTO_CURSOR_TYPE_SCROLLABLE)) != 0;
    }
    return rc;
}

static int finish(struct proto_tracker *t)
{
    t->state = ST_IDLE;
    return PROTO_TRACK_DONE;
}

static int on_err(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    struct proto_err err;
    int rc = proto_err_parse(p, len, t->caps, &err);
    if (rc < 0)
        return rc;
    if (err.code == PROTO_ER_PROGRESS_REPORT && (t->caps & PROTO_MARIADB_CLIENT_PROGRESS)) {
        t->kind = PROTO_PKT_PROGRESS;
        return PROTO_TRACK_MORE;
    }
    t->kind = PROTO_PKT_ERR;
    /* An ERR carries no status flags: t->status keeps the last ones seen. */
    t->error = true;
    t->error_code = err.code;
    return finish(t);
}

/* An OK that ends one result: more may follow. */
static int on_ok(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    struct proto_ok ok;
    int rc = proto_ok_parse(p, len, t->caps, &ok);
    if (rc < 0)
        return rc;
    if (p[0] == PROTO_HDR_OK)
        t->kind = PROTO_PKT_OK;
    t->status = ok.status;
    t->status_seen |= ok.status;
    t->warnings = ok.warnings;
    t->affected_rows = ok.affected_rows;
    t->last_insert_id = ok.last_insert_id;
    t->results++;
    if (ok.status & PROTO_SERVER_MORE_RESULTS_EXISTS) {
        t->state = ST_RESULT_FIRST;
        return PROTO_TRACK_MORE;
    }
    return finish(t);
}

/* A classic EOF; its status is what the session is in. */
static int on_eof(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    struct proto_eof eof;
    int rc = proto_eof_parse(p, len, t->caps, &eof);
    if (rc < 0)
        return rc;
    t->status = eof.status;
    t->status_seen |= eof.status;
    t->warnings = eof.warnings;
    return 0;
}

/* The packet that ends a block of rows or definitions: EOF, or OK with DEPRECATE_EOF. */
static int on_terminator(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    /* An OK is at least 7 bytes, an EOF 5: MariaDB still ends COM_FIELD_LIST with a classic
     * EOF under DEPRECATE_EOF, so the length decides, not only the capability. */
    if ((t->caps & PROTO_CLIENT_DEPRECATE_EOF) && len >= 7)
        return on_ok(t, p, len);
    int rc = on_eof(t, p, len);
    if (rc < 0)
        return rc;
    t->kind = PROTO_PKT_EOF_END;
    t->results++;
    if (t->status & PROTO_SERVER_MORE_RESULTS_EXISTS) {
        t->state = ST_RESULT_FIRST;
        return PROTO_TRACK_MORE;
    }
    return finish(t);
}

static int expect_coldef(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    struct proto_coldef c;
    return proto_coldef_parse(p, len, t->caps, &c);
}

static int on_result_first(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (p[0] == PROTO_HDR_OK)
        return on_ok(t, p, len);
    if (p[0] == PROTO_HDR_LOCAL_INFILE) {
        struct proto_bytes name;
        int rc = proto_local_infile_parse(p, len, &name);
        if (rc < 0)
            return rc;
        t->state = ST_INFILE_CLIENT;
        t->client_cont = false;
        return PROTO_TRACK_INFILE;
    }
    uint64_t count;
    bool metadata;
    int rc = proto_column_count_parse(p, len, t->caps, &count, &metadata);
    if (rc < 0)
        return rc;
    t->kind = PROTO_PKT_COLCOUNT;
    t->rows = 0;
    if (metadata) {
        t->defs_left = count;
        t->state = ST_COLDEFS;
    } else {
        /* Metadata cached by the client: no definitions, but the EOF that would end them is
         * still sent when EOF packets are in use. */
        t->state = (t->caps & PROTO_CLIENT_DEPRECATE_EOF) ? ST_ROWS : ST_COLDEFS_EOF;
    }
    return PROTO_TRACK_MORE;
}

static int after_coldefs(struct proto_tracker *t)
{
    t->state = (t->caps & PROTO_CLIENT_DEPRECATE_EOF) ? ST_ROWS : ST_COLDEFS_EOF;
    return PROTO_TRACK_MORE;
}

static int on_coldefs_eof(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    int rc = on_eof(t, p, len);
    if (rc < 0)
        return rc;
    t->kind = PROTO_PKT_EOF_MID;
    /* With a cursor open the rows stay on the server until COM_STMT_FETCH. */
    if (t->binary && (t->status & PROTO_SERVER_STATUS_CURSOR_EXISTS)) {
        t->kind = PROTO_PKT_EOF_CURSOR;
        t->results++;
        return finish(t);
    }
    t->state = ST_ROWS;
    return PROTO_TRACK_MORE;
}

static int on_row(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (proto_is_eof(p, len, t->caps))
        return on_terminator(t, p, len);
    /* Binary rows start with a 0x00 header; a text row's first value is a lenenc string or
     * 0xfb (NULL), so 0xff never starts one (on_server handled ERR already). */
    if (t->binary && p[0] != 0x00)
        return -EPROTO;
    t->rows++;
    return PROTO_TRACK_MORE;
}

static int prep_next_block(struct proto_tracker *t)
{
    if (t->cols_after_params > 0) {
        t->defs_left = t->cols_after_params;
        t->cols_after_params = 0;
        t->state = ST_PREP_COLS;
        return PROTO_TRACK_MORE;
    }
    return finish(t);
}

static int on_prepare_ok(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    struct proto_prepare_ok ok;
    int rc = proto_prepare_ok_parse(p, len, t->caps, &ok);
    if (rc < 0)
        return rc;
    t->kind = PROTO_PKT_PREPARE_OK;
    t->prepare.stmt_id = ok.stmt_id;
    t->prepare.num_columns = ok.num_columns;
    t->prepare.num_params = ok.num_params;
    t->prepare.warnings = ok.warnings;
    t->warnings = ok.warnings;
    t->results = 1;
    if (!ok.metadata_follows)
        return finish(t);
    t->cols_after_params = ok.num_columns;
    if (ok.num_params > 0) {
        t->defs_left = ok.num_params;
        t->state = ST_PREP_PARAMS;
        return PROTO_TRACK_MORE;
    }
    return prep_next_block(t);
}

/* One definition of a prepare block; after the last comes an EOF unless DEPRECATE_EOF. */
static int on_prep_def(struct proto_tracker *t, const uint8_t *p, size_t len,
                       enum track_state eof_state)
{
    int rc = expect_coldef(t, p, len);
    if (rc < 0)
        return rc;
    t->kind = eof_state == ST_PREP_PARAMS_EOF ? PROTO_PKT_PARAMDEF : PROTO_PKT_PREP_COLDEF;
    if (--t->defs_left > 0)
        return PROTO_TRACK_MORE;
    if (!(t->caps & PROTO_CLIENT_DEPRECATE_EOF)) {
        t->state = (uint8_t)eof_state;
        return PROTO_TRACK_MORE;
    }
    return eof_state == ST_PREP_PARAMS_EOF ? prep_next_block(t) : finish(t);
}

static int on_field_list(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (proto_is_eof(p, len, t->caps))
        return on_terminator(t, p, len);
    int rc = expect_coldef(t, p, len);
    t->kind = PROTO_PKT_FIELD;
    return rc < 0 ? rc : PROTO_TRACK_MORE;
}

static int on_simple(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (p[0] == PROTO_HDR_OK) {
        int rc = on_ok(t, p, len);
        return rc < 0 ? rc : finish(t);
    }
    if (p[0] == PROTO_HDR_EOF) {
        /* COM_SET_OPTION and COM_DEBUG answer with an EOF; with DEPRECATE_EOF servers may
         * send the OK form instead. */
        int rc = on_eof(t, p, len);
        if (rc < 0 && (t->caps & PROTO_CLIENT_DEPRECATE_EOF))
            rc = on_ok(t, p, len);
        return rc < 0 ? rc : finish(t);
    }
    return -EPROTO;
}

static int on_change_user(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (p[0] == PROTO_HDR_OK)
        return on_ok(t, p, len);
    if (p[0] == PROTO_HDR_AUTH_MORE_DATA) {
        /* caching_sha2_password's fast-auth success is followed by the OK directly. */
        if (len == 2 && p[1] == PROTO_CSHA2_FAST_AUTH_SUCCESS)
            return PROTO_TRACK_MORE;
        t->state = ST_AUTH_CLIENT;
        t->client_cont = false;
        return PROTO_TRACK_AUTH;
    }
    if (p[0] == PROTO_HDR_EOF) {
        struct proto_bytes plugin, data;
        int rc = proto_auth_switch_parse(p, len, &plugin, &data);
        if (rc < 0)
            return rc;
        t->state = ST_AUTH_CLIENT;
        t->client_cont = false;
        return PROTO_TRACK_AUTH;
    }
    return -EPROTO;
}

static int on_server(struct proto_tracker *t, const uint8_t *p, size_t len)
{
    if (len == 0)
        return -EPROTO; /* no response packet is empty */
    if (p[0] == PROTO_HDR_ERR && t->state != ST_IDLE && t->state != ST_INFILE_CLIENT &&
        t->state != ST_AUTH_CLIENT)
        return on_err(t, p, len);
    /* Only rows may need a continuation; anything else of that size is not a response. */
    if (len >= PROTO_MAX_PAYLOAD && t->state != ST_ROWS)
        return -EPROTO;

    switch ((enum track_state)t->state) {
    case ST_RESULT_FIRST:
        return on_result_first(t, p, len);
    case ST_COLDEFS: {
        int rc = expect_coldef(t, p, len);
        if (rc < 0)
            return rc;
        t->kind = PROTO_PKT_COLDEF;
        return --t->defs_left > 0 ? PROTO_TRACK_MORE : after_coldefs(t);
    }
    case ST_COLDEFS_EOF:
        return on_coldefs_eof(t, p, len);
    case ST_ROWS:
        return on_row(t, p, len);
    case ST_INFILE_REPLY:
        if (p[0] != PROTO_HDR_OK)
            return -EPROTO;
        return on_ok(t, p, len);
    case ST_PREPARE_FIRST:
        if (p[0] != PROTO_HDR_OK)
            return -EPROTO;
        return on_prepare_ok(t, p, len);
    case ST_PREP_PARAMS:
        return on_prep_def(t, p, len, ST_PREP_PARAMS_EOF);
    case ST_PREP_PARAMS_EOF: {
        int rc = on_eof(t, p, len);
        t->kind = PROTO_PKT_EOF_MID;
        return rc < 0 ? rc : prep_next_block(t);
    }
    case ST_PREP_COLS:
        return on_prep_def(t, p, len, ST_PREP_COLS_EOF);
    case ST_PREP_COLS_EOF: {
        int rc = on_eof(t, p, len);
        t->kind = PROTO_PKT_EOF_MID;
        return rc < 0 ? rc : finish(t);
    }
    case ST_FIELD_LIST:
        return on_field_list(t, p, len);
    case ST_SIMPLE:
        return on_simple(t, p, len);
    case ST_STATISTICS:
        return finish(t);
    case ST_CHANGE_USER:
        return on_change_user(t, p, len);
    case ST_IDLE:
    case ST_INFILE_CLIENT:
    case ST_AUTH_CLIENT:
        break;
    }
    return -EPROTO; /* the server spoke out of turn */
}

int proto_tracker_feed(struct proto_tracker *t, const uint8_t *payload, size_t len)
{
    t->kind = PROTO_PKT_OTHER;
    if (t->server_cont) {
        /* The tail of a row larger than one packet: nothing in it to classify. */
        if (t->state != ST_ROWS)
            return -EPROTO;
        t->server_cont = len == PROTO_MAX_PAYLOAD;
        return PROTO_TRACK_MORE;
    }
    if (len > PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    int rc = on_server(t, payload, len);
    if (rc >= 0)
        t->server_cont = len == PROTO_MAX_PAYLOAD;
    return rc;
}

int proto_tracker_feed_client(struct proto_tracker *t, const uint8_t *payload, size_t len)
{
    (void)payload;
    if (len > PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    bool cont = t->client_cont;
    t->client_cont = len == PROTO_MAX_PAYLOAD;
    switch ((enum track_state)t->state) {
    case ST_INFILE_CLIENT:
        /* An empty packet ends the file, unless it only ends a full-size packet before it. */
        if (len == 0 && !cont) {
            t->state = ST_INFILE_REPLY;
            return PROTO_TRACK_MORE;
        }
        return PROTO_TRACK_INFILE;
    case ST_AUTH_CLIENT:
        if (t->client_cont)
            return PROTO_TRACK_AUTH;
        t->state = ST_CHANGE_USER;
        return PROTO_TRACK_MORE;
    default:
        return -EPROTO; /* the client spoke out of turn */
    }
}

/* Checks a whole packet's header and sequence id; returns its payload length. */
static int packet_payload(struct proto_tracker *t, const uint8_t *pkt, size_t len,
                          size_t *payload_len)
{
    if (len < PROTO_HEADER_LEN)
        return -EBADMSG;
    size_t plen = (size_t)pkt[0] | (size_t)pkt[1] << 8 | (size_t)pkt[2] << 16;
    if (plen != len - PROTO_HEADER_LEN)
        return -EBADMSG;
    if (t->have_seq && pkt[3] != t->next_seq)
        return -EPROTO;
    t->have_seq = true;
    t->next_seq = (uint8_t)(pkt[3] + 1);
    *payload_len = plen;
    return 0;
}

int proto_tracker_feed_packet(struct proto_tracker *t, const uint8_t *pkt, size_t len)
{
    size_t plen;
    int rc = packet_payload(t, pkt, len, &plen);
    return rc < 0 ? rc : proto_tracker_feed(t, pkt + PROTO_HEADER_LEN, plen);
}

int proto_tracker_feed_client_packet(struct proto_tracker *t, const uint8_t *pkt, size_t len)
{
    size_t plen;
    int rc = packet_payload(t, pkt, len, &plen);
    return rc < 0 ? rc : proto_tracker_feed_client(t, pkt + PROTO_HEADER_LEN, plen);
}

bool proto_tracker_in_trans(const struct proto_tracker *t)
{
    return t->status & PROTO_SERVER_STATUS_IN_TRANS;
}

bool proto_tracker_cursor_open(const struct proto_tracker *t)
{
    return t->status & PROTO_SERVER_STATUS_CURSOR_EXISTS;
}

bool proto_tracker_idle(const struct proto_tracker *t)
{
    return t->state == ST_IDLE;
}
