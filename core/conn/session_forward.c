/* session_forward: commands to the backend and responses back, and the completions. */
#include "core/conn/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/conn/backend.h"
#include "core/conn/stmt_meta.h"
#include "core/io/io.h"
#include "core/worker/worker.h"
#include "protocol/connection_id.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/response.h"
#include "protocol/stmt_packet.h"
#include "protocol/xlat.h"

/* ---------- forwarding ---------- */

/* Sends s->in[sent, scan) to the backend. */
static void forward_to_backend(struct session *s)
{
    s->c2b_busy = true;
    s->inflight++;
    worker_send(s->w, s->b->fd, s->in.p + s->in.sent, s->in.scan - s->in.sent,
                op_tag(s, OP_C2B_SEND));
}

static void forward_to_client(struct session *s)
{
    struct backend *b = s->b;
    if (!s->response_done)
        watch_client_hup(s);
    s->b2c_busy = true;
    s->resp_started = true;
    b->inflight++;
    if (s->xlat)
        worker_send(s->w, s->fd, b->xo + b->xo_sent, b->xo_len - b->xo_sent,
                    op_tag(b, OP_B2C_SEND));
    else
        worker_send(s->w, s->fd, b->in.p + b->in.sent, b->in.scan - b->in.sent,
                    op_tag(b, OP_B2C_SEND));
}

static void xlat_command(struct session *s, const uint8_t *head, size_t head_len, uint8_t seq);

/* A command whose first packet's sequence id is not 0: never forwarded (the server would
 * answer the ERR and close, and a command it expects no answer to would leave that ERR for
 * the connection's next session). ERR 1156 and the end, as from the server. */
static void command_out_of_order(struct session *s, uint8_t seq)
{
    s->in.sent = s->in.scan;
    s->seq = proto_seq_next(seq);
    reject(s, PROTO_ER_NET_PACKETS_OUT_OF_ORDER, "08S01", "Got packets out of order");
}

/* One logical packet from the client, seen once it is complete. */
static int client_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct session *s = ctx;
    struct backend *b = s->b;
    if (s->state == SS_INFILE) {
        STAT_INC(s->w->st.packets_c2b);
        int v = proto_tracker_feed_client(&b->tr, head, head_len);
        if (v < 0)
            return v;
        if (v == PROTO_TRACK_MORE) {
            s->infile = false;
            if (s->xlat)
                b->xl.seq = proto_seq_next(seq); /* the server answers the client's last */
            set_state(s, SS_FORWARD);
            return 1;
        }
        return 0;
    }
    if (len == 0)
        return -EPROTO;
    if (seq != 0) {
        command_out_of_order(s, seq);
        return 1;
    }
    /* Only whole packets still unsent may be answered here rather than forwarded: one that
     * lies in this receive, unsent, is read there when longer than the head (a COM_CHANGE_USER
     * with connect attributes). */
    bool whole = s->in.scan - s->in.sent == len + PROTO_HEADER_LEN;
    if (whole && head_len < len) {
        head = s->in.p + s->in.scan - len;
        head_len = (size_t)len;
    }
    switch (head[0]) {
    case PROTO_COM_QUIT:
        if (!whole)
            return -EPROTO;
        s->in.sent = s->in.scan;
        s->quit = true;
        return 1;
    case PROTO_COM_CHANGE_USER:
        if (!whole)
            return -EPROTO;
        s->in.sent = s->in.scan;
        on_change_user(s, head, head_len, seq);
        return 1;
    case PROTO_COM_PROCESS_KILL:
    case PROTO_COM_QUERY: {
        int rc = kill_command(s, head, head_len, len, whole, seq);
        if (rc != 0)
            return rc;
        break;
    }
    default:
        break;
    }
    if (!b) {
        /* Transaction pooling between transactions: COM_PING, COM_RESET_CONNECTION (see
         * needs_backend()) have nothing to ask a backend; a reset forgets the session's
         * prepared statements and insert id, as a server's does. */
        if (!whole)
            return -EPROTO;
        if (head[0] == PROTO_COM_RESET_CONNECTION) {
            stmt_session_clear(s);
            stmt_meta_clear(&s->meta);
            s->last_insert_id = 0;
        }
        s->in.sent = s->in.scan;
        answer_command(s, seq, 0, NULL, NULL);
        return 1;
    }
    if (head[0] == PROTO_COM_RESET_CONNECTION && whole) {
        s->in.sent = s->in.scan;
        reset_for_client(s, seq);
        return 1;
    }
    bool stmt_cmd =
        s->txn && (head[0] == PROTO_COM_STMT_PREPARE || proto_stmt_command_has_id(head[0]));
    if (stmt_cmd && !s->stmt_checked)
        return -EPROTO; /* its statement id could not be made the connection's */
    s->stmt_checked = false;
    int v = proto_tracker_begin_packet(&b->tr, head, head_len, b->caps);
    if (v == -ENOTSUP && whole) {
        s->in.sent = s->in.scan;
        answer_command(s, seq, PROTO_ER_NOT_SUPPORTED_YET, "42000",
                       "ringsql does not forward this command (replication, COM_MULTI)");
        return 1;
    }
    if (v < 0)
        return v;
    if (head[0] == PROTO_COM_SET_OPTION)
        b->multi_known = false;
    else if (head[0] == PROTO_COM_RESET_CONNECTION)
        backend_session_reset(b); /* one in several packets: forwarded as it is */
    xlat_command(s, head, head_len, seq);
    s->cmd_reads_diag = s->txn && head[0] == PROTO_COM_QUERY &&
                        proto_query_reads_diagnostics(head + 1, head_len - 1);
    unsigned facts = stmt_cmd && head[0] == PROTO_COM_STMT_EXECUTE
                         ? stmt_exec_facts(s)
                         : command_facts(s, head, head_len, len);
    if (facts & PROTO_QF_XA)
        s->xa = true;
    s->sets_global = facts & PROTO_QF_SETS_GLOBAL;
    if (facts & PROTO_QF_NAMES_STATE_TRACKING)
        s->client_tracks_state = true;
    /* Transaction pooling: the backend's thread id would name whichever client that
     * connection serves next (session pooling keeps the server's: PROCESSLIST agrees). */
    if (s->txn && (facts & PROTO_QF_CONNECTION_ID) && whole)
        proto_sql_rewrite_connection_id(s->in.p + s->in.scan - len + 1, (size_t)len - 1,
                                        (uint32_t)s->id);
    if (stmt_cmd && head[0] == PROTO_COM_STMT_PREPARE &&
        stmt_prepare_forwarded(s, s->in.p + s->in.scan - len + 1, (size_t)len - 1, facts) < 0)
        return -ENOMEM;
    /* Transaction pooling keeps a prepared statement on its connection (under ids of its
     * own); long data waits there for its execute, and a cursor for its fetches. */
    bool pins = stmt_cmd ? head[0] == PROTO_COM_STMT_SEND_LONG_DATA || b->tr.cursor ||
                               (head[0] == PROTO_COM_STMT_EXECUTE && command_pins(head[0], facts))
                         : command_pins(head[0], facts);
    if (pins || (facts & PROTO_QF_NAMES_STATE_TRACKING))
        s->state_left = true; /* state the server does not report, or its reports turned off */
    if (s->txn && !s->pinned && pins)
        pin(s, "a statement that may leave state the server does not report");
    /* What ringsql knows of the connection's database and character set (a statement
     * prepared again must be prepared in its own; the next session's bind compares them). */
    if (b->db_known && command_may_change_db(head[0], facts))
        b->db_known = false;
    if (facts & PROTO_QF_MAY_CHANGE_CHARSET)
        b->charset_known = false;
    STAT_INC(s->w->st.packets_c2b);
    STAT_INC(s->w->st.commands[head[0] < STAT_COMMANDS ? head[0] : STAT_COMMANDS - 1]);
    b->pc.shard->commands++; /* per backend in /metrics: where routing sent it */
    s->expect_response = v != PROTO_TRACK_DONE;
    s->response_done = false;
    s->resp_started = false;
    s->cmd_seq = seq;
    set_state(s, SS_FORWARD);
    if (s->expect_response)
        watch_client_hup(s);
    return 1;
}

static void client_data(struct session *s);

/* Where to go once nothing is being sent in either direction. */
static void settle(struct session *s)
{
    if (s->state == SS_CLOSED || s->c2b_busy || s->b2c_busy || s->own_send)
        return;
    if (s->quit) {
        close_session(s, true, "client quit");
        return;
    }
    if (s->state == SS_FORWARD && s->response_done) {
        s->expect_response = false;
        s->response_done = false;
    }
    if (s->state == SS_FORWARD && !s->expect_response && !s->fr.in_logical)
        set_state(s, SS_IDLE);
    if (s->state == SS_FORWARD && s->expect_response) {
        /* The response is on its way. A receive buffer whose every byte went to the backend
         * goes back now: held until the response came, one per client waiting for one, they
         * ran out with 512 such clients on a worker, and then no response could be read. */
        if (s->in.held && s->in.sent == s->in.len)
            worker_buf_release(s->w, &s->in);
        return;
    }
    if (s->state == SS_IDLE && framer_between_packets(&s->fr))
        release_if_free(s); /* not while a command is partly forwarded to its connection */
    if (s->in.held && s->in.scan < s->in.len) {
        client_data(s); /* more commands were in the same receive */
        return;
    }
    if (s->in.held)
        worker_buf_release(s->w, &s->in);
    arm_client_recv(s);
}

static void client_data(struct session *s)
{
    if (s->txn && s->state == SS_IDLE && framer_between_packets(&s->fr)) {
        switch (stmt_check_command(s)) {
        case STMT_ANSWERED:
            return;
        case STMT_CONSUMED:
            settle(s);
            return;
        case STMT_PREPARE_FIRST:
            if (s->b) {
                bind_stmt_first(s);
                return;
            }
            break; /* binding prepares it (BIND_STMT) */
        case STMT_FAILED:
            close_session(s, false, "a statement command split across receives");
            return;
        case STMT_GO_ON:
            break;
        }
    }
    if (s->txn && !s->b && s->state == SS_IDLE && needs_backend(s)) {
        bind_for_command(s);
        return;
    }
    if (s->state != SS_INFILE && framer_between_packets(&s->fr))
        s->fr.next_seq = 0; /* a command starts: compressed clients' numbering (framer.h) */
    int rc = framer_walk(&s->fr, &s->in, client_packet, s);
    if (rc < 0) {
        struct log_ctx c;
        log_info("client_protocol_error", "%s error=\"%s\"", ctx(s, &c), strerror(-rc));
        close_session(s, false, "client protocol error");
        return;
    }
    if (s->state != SS_INFILE && s->fr.in_logical && s->fr.seq0 != 0 &&
        (s->state == SS_IDLE || s->state == SS_FORWARD)) {
        command_out_of_order(s, s->fr.seq0); /* before any of it is forwarded */
        return;
    }
    if (s->send_linked ||
        (s->state != SS_IDLE && s->state != SS_FORWARD && s->state != SS_INFILE)) {
        /* COM_CHANGE_USER: a login again, driven by its own sends and receives from here (its
         * OK may be on its way already, the next receive linked behind it). Commands
         * pipelined behind it stay in the buffer until its OK is sent (send_login_ok). */
        if (s->in.held && (s->send_linked || s->in.scan == s->in.len))
            worker_buf_release(s->w, &s->in);
        return;
    }
    if (s->in.scan > s->in.sent) {
        forward_to_backend(s);
        return;
    }
    settle(s);
}

/* One response packet to the tracker: 1 when the response ended (or the server asked for
 * the client's file), 0 when more follows, or -errno. */
static int track_response(struct session *s, const uint8_t *head, size_t head_len, uint8_t *payload)
{
    struct backend *b = s->b;
    STAT_INC(s->w->st.packets_b2c);
    int v = proto_tracker_feed(&b->tr, head, head_len);
    if (v < 0)
        return v;
    if (b->tr.kind == PROTO_PKT_PREPARE_OK && s->preparing) {
        int rc = stmt_prepare_answered(s, payload);
        if (rc < 0)
            return rc;
    }
    switch (v) {
    case PROTO_TRACK_DONE:
        s->response_done = true;
        stmt_text_unref(s->preparing); /* still there: it failed, no statement, no id */
        s->preparing = NULL;
        if (s->sets_global) {
            /* Counted once the server has the new value: a connection reset from now on
             * reads it (backend_globals_stale). */
            s->sets_global = false;
            atomic_fetch_add(&s->w->proxy->globals_epoch, 1);
        }
        if (b->tr.error)
            b->pc.shard->errors++;
        if (b->tr.last_insert_id) {
            s->last_insert_id = b->tr.last_insert_id;
            b->insert_id_set = true;
            b->insert_id_owner = s->id;
        }
        if (s->txn && (b->tr.error || b->tr.warnings > 0)) {
            b->diag_dirty = true;
            s->diag_held = true;
        } else if (s->txn && !s->cmd_reads_diag) {
            s->diag_held = false; /* its next statement came: SHOW WARNINGS had its chance */
        }
        if (s->txn && !s->pinned && (b->tr.status_seen & PROTO_SERVER_SESSION_STATE_CHANGED))
            pin(s, "the server reported a change of session state");
        /* What only a reset clears: reported state, diagnostics, an insert id. */
        if ((b->tr.status_seen & PROTO_SERVER_SESSION_STATE_CHANGED) || b->tr.error ||
            b->tr.warnings > 0 || b->tr.last_insert_id)
            s->state_left = true;
        return 1;
    case PROTO_TRACK_INFILE:
        s->infile = true;
        return 1;
    case PROTO_TRACK_MORE:
        return 0;
    default:
        return -EPROTO;
    }
}

/* One logical packet of the response, seen once complete. Rows longer than the backend's
 * head buffer arrive truncated to it: the tracker only looks at a row's first bytes. */
static int response_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len,
                           uint8_t seq)
{
    struct session *s = ctx;
    struct backend *b = s->b;
    s->fr.next_seq = (uint8_t)(seq + 1); /* a LOAD DATA's file packets follow (framer.h) */
    s->last_len = len;
    /* The packet in place, where it lies whole and unsent in the buffer (a prepare's answer
     * gets the client's statement id there). */
    bool here = head_len == len && b->in.scan - b->in.sent >= len + PROTO_HEADER_LEN;
    return track_response(s, head, head_len, here ? b->in.p + b->in.scan - len : NULL);
}

static void xlat_response_data(struct session *s);
static void after_response_buffer(struct session *s);

static void response_data(struct session *s)
{
    struct backend *b = s->b;
    if (s->xlat) {
        xlat_response_data(s);
        return;
    }
    int rc = framer_walk(&b->fr, &b->in, response_packet, s);
    if (rc < 0 || (rc == 1 && b->in.scan < b->in.len)) {
        struct log_ctx c;
        log_warn("backend_protocol_error", "%s server_conn=%u error=\"%s\"", ctx(s, &c),
                 b->server_conn_id, rc < 0 ? strerror(-rc) : "data after the end of a response");
        session_on_backend_failed(s);
        return;
    }
    if (rc == 1)
        strip_state_change(s);
    if (b->in.scan > b->in.sent) {
        forward_to_client(s);
        return;
    }
    worker_buf_release(s->w, &b->in);
    backend_arm_recv(b);
}

/* ---------- responses in another layout (protocol/xlat.h) ---------- */

/* Room the column definitions put back from stmt_meta may take: each gains a header byte. */
enum { XLAT_META_RESERVE = STMT_META_MAX + STMT_META_MAX / 3 + 64 };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A command on its way to the backend: decides whether its response is rewritten, and keeps
 * stmt_meta in step with the statements the command closes or forgets. */
static void xlat_command(struct session *s, const uint8_t *head, size_t head_len, uint8_t seq)
{
    struct backend *b = s->b;
    s->xlat = proto_xlat_needed(b->caps, s->caps);
    if (!s->xlat)
        return;
    proto_xlat_begin(&b->xl, proto_seq_next(seq));
    b->xl.stash = b->head;
    b->xl.stash_cap = BACKEND_HEAD_CAP;
    s->keep_meta = (b->caps & ~s->caps) & PROTO_MARIADB_CLIENT_CACHE_METADATA;
    b->xl.reserve = s->keep_meta ? XLAT_META_RESERVE : 0;
    if (!s->keep_meta)
        return;
    bool has_id = head_len >= 5;
    switch (head[0]) {
    case PROTO_COM_STMT_EXECUTE: /* transaction pooling: the client's id, not the server's */
        s->exec_stmt = s->txn ? s->cmd_stmt : has_id ? le32(head + 1) : 0;
        break;
    case PROTO_COM_STMT_CLOSE:
        if (has_id)
            stmt_meta_forget(&s->meta, le32(head + 1));
        break;
    case PROTO_COM_RESET_CONNECTION:
        stmt_meta_clear(&s->meta);
        break;
    default:
        break;
    }
}

struct put_ctx {
    struct proto_xlat *x;
    struct proto_xlat_io *io;
};

static int put_def(void *ctx, const uint8_t *p, size_t len)
{
    struct put_ctx *c = ctx;
    return proto_xlat_put(c->x, c->io, p, len);
}

/* proto_xlat_walk's callback: the tracker classifies the packet, xlat rewrites it, and
 * stmt_meta keeps or puts back prepared statements' definitions. */
static int xlat_packet(void *ctx, struct proto_xlat *x, struct proto_xlat_io *io, const uint8_t *p,
                       size_t len, bool whole)
{
    struct session *s = ctx;
    struct backend *b = s->b;
    int v = track_response(s, p, len, whole ? (uint8_t *)p : NULL);
    if (v < 0)
        return v;
    if (!whole) /* a large packet is passed on as it is: only a row may be that large */
        return v == 0 && b->tr.kind == PROTO_PKT_OTHER ? 0 : -EPROTO;
    bool skipped;
    struct proto_bytes sent;
    int rc = proto_xlat_forward(x, io, b->tr.kind, p, len, b->caps, s->caps, &skipped, &sent);
    if (rc == 0 && s->keep_meta) {
        struct put_ctx pc = {x, io};
        rc = stmt_meta_observe(&s->meta, &b->tr, s->exec_stmt, sent.ptr, sent.len, skipped, v == 1,
                               put_def, &pc);
    }
    return rc < 0 ? rc : v;
}

/* The client reads another layout: the response is rewritten into an output buffer held by
 * the backend connection (its send may outlive the session) and sent from there. */
static void xlat_response_data(struct session *s)
{
    struct backend *b = s->b;
    if (!b->xo && !(b->xo = worker_xbuf_take(s->w))) {
        close_session(s, false, "no memory for a translated response");
        return;
    }
    struct proto_xlat_io io = {.in = b->in.p,
                               .in_len = b->in.len,
                               .in_used = b->in.scan,
                               .out = b->xo,
                               .out_cap = WORKER_XBUF_SIZE,
                               .out_len = b->xo_len};
    int rc = proto_xlat_walk(&b->xl, &io, xlat_packet, s);
    b->in.scan = b->in.sent = (uint32_t)io.in_used;
    b->xo_len = (uint32_t)io.out_len;
    if (rc < 0 || (rc == PROTO_XLAT_DONE && b->in.scan < b->in.len)) {
        struct log_ctx c;
        log_warn("backend_protocol_error", "%s server_conn=%u error=\"%s\"", ctx(s, &c),
                 b->server_conn_id,
                 rc == -ENOENT ? "the server left out column definitions ringsql does not have"
                 : rc < 0      ? strerror(-rc)
                               : "data after the end of a response");
        session_on_backend_failed(s);
        return;
    }
    if (b->xo_len > b->xo_sent) {
        forward_to_client(s);
        return;
    }
    after_response_buffer(s);
}

/* ---------- completions ---------- */

void session_on_client_recv(struct session *s, int res, unsigned flags)
{
    s->inflight--;
    s->recv_armed = false;
    if (s->send_linked) {
        /* The receive ran, so the send before it is done. */
        s->send_linked = false;
        s->own_send = false;
    }
    deadline_unlink(&s->w->deadlines[s->dl_kind], &s->dl);
    bool timed_out = s->timed_out;
    s->timed_out = false;
    if (s->say_shutdown && s->state == SS_IDLE) {
        if (worker_buf_take(s->w, res, flags, &s->in))
            worker_buf_release(s->w, &s->in);
        s->say_shutdown = false;
        say_shutdown(s);
        return;
    }
    struct rbuf rb;
    bool got = worker_buf_take(s->w, res, flags, &rb);
    if (s->state == SS_CLOSED) {
        if (got)
            worker_buf_release(s->w, &rb);
        maybe_free(s);
        return;
    }
    if (res == -ENOBUFS) {
        worker_buf_wait(s->w, &s->bw);
        return;
    }
    if (res <= 0 || !got) {
        if (got)
            worker_buf_release(s->w, &rb);
        if (res == -ECANCELED && timed_out) {
            on_client_timeout(s);
            return;
        }
        const char *tls_why = s->tls ? io_tls_error(s->w->io, s->fd) : NULL;
        if (tls_why && s->state == SS_LOGIN) {
            /* A TLS handshake that failed (junk, a stall, a refused certificate) is worth a
             * line at the default level: a client that cannot connect says little more. */
            struct log_ctx c;
            char safe[256];
            log_info("tls_failed", "%s error=\"%s\"", ctx(s, &c),
                     log_safe(tls_why, safe, sizeof safe));
        }
        char why[200];
        snprintf(why, sizeof why, "%s", res == 0 ? "client closed" : tls_why ? tls_why : "error");
        close_session(s, true, why);
        return;
    }
    s->in = rb;
    switch (s->state) {
    case SS_LOGIN:
    case SS_AUTH_SWITCH: {
        int rc = framer_walk(&s->fr, &s->in, login_packet, s);
        if (s->tls_start && s->state == SS_LOGIN) {
            start_tls(s);
            return;
        }
        bool leftover = s->in.scan < s->in.len;
        if (s->state != SS_CLOSED && (rc < 0 || (rc == 1 && leftover))) {
            worker_buf_release(s->w, &s->in);
            close_session(s, true, "bad login packet");
            return;
        }
        worker_buf_release(s->w, &s->in);
        if (rc == 0)
            arm_client_recv(s);
        return;
    }
    case SS_IDLE:
    case SS_FORWARD:
    case SS_INFILE:
        client_data(s);
        return;
    default:
        worker_buf_release(s->w, &s->in);
        close_session(s, false, "client spoke out of turn");
        return;
    }
}

void session_on_client_send(struct session *s, int res)
{
    s->inflight--;
    bool linked = s->send_linked;
    if (linked) {
        /* A linked send completes only when it failed; its receive went with it. */
        s->send_linked = false;
        s->recv_armed = false;
    }
    if (s->state == SS_CLOSED) {
        s->own_send = false;
        maybe_free(s);
        return;
    }
    if (res <= 0 || linked) {
        s->own_send = false;
        close_session(s, true, "send to client failed");
        return;
    }
    s->out_sent += (uint32_t)res;
    if (s->out_sent < s->out_len) {
        s->inflight++;
        worker_send(s->w, s->fd, s->out + s->out_sent, s->out_len - s->out_sent,
                    op_tag(s, OP_CLIENT_SEND));
        return;
    }
    s->own_send = false;
    if (s->compress_next && !start_compression(s))
        return;
    switch (s->state) {
    case SS_REJECT:
        close_session(s, true, "rejected");
        return;
    default:
        settle(s); /* an ERR ringsql answered a command with */
        return;
    }
}

void session_on_c2b_sent(struct session *s, int res)
{
    s->inflight--;
    s->c2b_busy = false;
    if (s->state == SS_CLOSED) {
        maybe_free(s);
        return;
    }
    if (!s->b)
        return; /* the backend failed meanwhile: an ERR 1927 is on its way to the client */
    if (res <= 0) {
        session_on_backend_failed(s);
        return;
    }
    s->in.sent += (uint32_t)res;
    STAT_ADD(s->w->st.bytes_c2b, (uint64_t)res);
    if (s->in.sent < s->in.scan) {
        forward_to_backend(s);
        return;
    }
    settle(s);
}

/* Counts res bytes of the response as sent; false while some of what was walked is left. */
static bool b2c_sent_all(struct session *s, int res)
{
    struct backend *b = s->b;
    if (!s->xlat) {
        b->in.sent += (uint32_t)res;
        return b->in.sent == b->in.scan;
    }
    b->xo_sent += (uint32_t)res;
    if (b->xo_sent < b->xo_len)
        return false;
    b->xo_len = b->xo_sent = 0;
    return true;
}

void session_on_b2c_sent(struct session *s, int res)
{
    struct backend *b = s->b;
    s->b2c_busy = false;
    if (res <= 0) {
        close_session(s, false, "send to client failed");
        return;
    }
    STAT_ADD(s->w->st.bytes_b2c, (uint64_t)res);
    if (!b2c_sent_all(s, res)) {
        forward_to_client(s);
        return;
    }
    if (b->in.scan < b->in.len) {
        response_data(s); /* the buffer had more than the packets walked so far */
        return;
    }
    after_response_buffer(s);
}

/* The whole receive buffer reached the client: the backend is read again. */
static void after_response_buffer(struct session *s)
{
    struct backend *b = s->b;
    if (b->xo) {
        worker_xbuf_put(s->w, b->xo);
        b->xo = NULL;
    }
    worker_buf_release(s->w, &b->in);
    if (s->infile) {
        set_state(s, SS_INFILE);
        backend_arm_recv(b);
        settle(s);
        return;
    }
    backend_arm_recv(b);
    if (s->response_done)
        settle(s);
}

void session_on_backend_recv(struct session *s, int res, unsigned flags)
{
    struct backend *b = s->b;
    (void)flags;
    if (res == -ENOBUFS) {
        worker_backend_buf_wait(s->w, b);
        return;
    }
    if (res <= 0 || !b->in.held) {
        session_on_backend_failed(s);
        return;
    }
    switch (s->state) {
    case SS_BIND:
        bind_data(s);
        return;
    case SS_FORWARD:
    case SS_INFILE:
        response_data(s);
        return;
    default:
        /* The server spoke unasked (it is shutting down, or killed the connection): what it
         * said goes to an idle client, as from the server, before the connection closes. */
        if (s->state == SS_IDLE && b->in.len <= sizeof s->out && !s->own_send) {
            memcpy(s->out, b->in.p, b->in.len);
            s->out_len = b->in.len;
            s->relay = true;
        }
        worker_buf_release(s->w, &b->in);
        session_on_backend_failed(s);
        return;
    }
}

/* ---------- start ---------- */

/* The calls the lower pieces go on with in this one (struct session_up). Here, at the top of
 * the pieces, with session_start, which gives it to every session. */
static const struct session_up upcalls = {
    .pool_ready = session_pool_ready,
    .command_bound = client_data,
};

void session_start(struct worker *w, int fd, uint32_t route)
{
    struct session *s = session_alloc(w);
    if (!s) {
        close(fd);
        return;
    }
    s->fd = fd;
    s->up = &upcalls;
    s->id = ((uint64_t)(w->id + 1) << SESSION_ID_SHIFT) |
            (w->next_session_id++ & ((1u << SESSION_ID_SHIFT) - 1));
    s->state = SS_GREETING;
    s->peer[0] = '\0';
    s->login_deadline_ms = w->now_ms + w->cfg->timeouts.handshake_ms;
    if (!admit_session(s, route))
        return;
    /* The seed's order: with one user, a client that no connection can serve is turned away
     * at connect. The connection itself is taken only once the client logged in: a client
     * that connects and says nothing (slowloris) holds no backend. */
    s->txn = w->cfg->pool.mode == CFG_POOL_TRANSACTION;
    if (w->cfg->nusers == 1 && !s->txn) {
        s->user = 0;
        s->user_known = true;
        if (!connection_in_sight(w, 0, s->target)) {
            reject_no_backend(s, 0);
            return;
        }
    }
    greet(s);
}
