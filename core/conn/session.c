/* session: one client connection as an explicit state machine.
 *
 *   accept ──(a connection free or on its way for a single user, else 1040 / 1429)──> SS_GREETING
 *   SS_GREETING   Handshake V10 sent, the login's receive linked behind it ─> SS_LOGIN
 *   SS_LOGIN      SSLRequest (tls: configured): TLS starts, still SS_LOGIN
 *                 HandshakeResponse41: native or sha2 fast path ok ─> SS_BIND
 *                 another plugin, or sha2 full authentication ─────> SS_AUTH_SWITCH
 *                 wrong user/password (1045), no free backend (1040) ─> SS_REJECT
 *   SS_AUTH_SWITCH  the plugin's exchange (session_auth.c) ok ─────> SS_BIND, else SS_REJECT
 *   SS_BIND       [COM_RESET_CONNECTION] COM_INIT_DB, or COM_CHANGE_USER to clear a database
 *                 a previous client chose / COM_SET_OPTION / SET NAMES on the backend, one by one
 *                 all ok: OK (after AuthMoreData 0x03 for sha2) sent, the first command's
 *                 receive linked behind it ─> SS_IDLE; the backend's ERR (unknown db) ─> SS_REJECT
 *   SS_IDLE       a command: forwarded ────────────────────────────> SS_FORWARD
 *                 (pool.mode transaction, no backend bound: one is taken and bound first,
 *                 SS_BIND; none free: SS_WAIT up to timeouts.pool_wait, then ERR 1040)
 *                 COM_CHANGE_USER: credentials checked as at login ──> SS_BIND (the backend
 *                 reset, or swapped for one of the new user's pool) or SS_AUTH_SWITCH
 *                 COM_RESET_CONNECTION: reset by ringsql, the client's charset again ─> SS_BIND
 *                 COM_QUIT, hang-up ───────────────────────────────> SS_CLOSED
 *                 idle timeout: ERR 4031 ─────────────────────────> SS_REJECT
 *                 its backend connection died (KILL, server gone): what the server
 *                 said forwarded, then closed, as the server's own ─> SS_CLOSED
 *   SS_FORWARD    response streamed back until the tracker says done ─> SS_IDLE
 *                 LOCAL INFILE request forwarded ─────────────────> SS_INFILE
 *   SS_INFILE     file packets forwarded until the empty one ──────> SS_FORWARD
 *                 backend died before any of the response: ERR 1927 ─> SS_REJECT
 *   SS_LOGIN, SS_AUTH_SWITCH  timeouts.handshake: ERR 1043 ──────────> SS_REJECT
 *   SS_REJECT     ERR sent ────────────────────────────────────────> SS_CLOSED
 *   SS_CLOSED     waits for its last completion, then is freed
 *
 * Only one buffer per direction is in flight: a backend is not read again until what it sent
 * reached the client's socket, so a slow client holds at most one buffer of its result.
 *
 * This file holds a session's life: allocation, its own sends and receives, ERRs, closing,
 * deadlines. The other steps are in session_txn.c, session_bind.c, session_kill.c,
 * session_auth.c, session_login.c and session_forward.c (session_int.h says how they are layered).
 */
#include "core/conn/session_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/log.h"
#include "core/conn/backend.h"
#include "core/conn/stmt_meta.h"
#include "core/io/io.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/response.h"

static const char *const state_names[] = {
    "greeting", "login",  "auth_switch", "bind",   "idle",
    "forward",  "infile", "wait",        "reject", "closed",
};

/* The client's address, looked up the first time a log line or an error names it: most
 * sessions never need it, and getpeername is a system call per session. A client already
 * gone (reset) by then shows as "unknown". */
const char *peer(struct session *s)
{
    if (s->peer[0])
        return s->peer;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(s->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, s->peer, sizeof s->peer);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, s->peer, sizeof s->peer);
    }
    if (!s->peer[0])
        snprintf(s->peer, sizeof s->peer, "unknown");
    return s->peer;
}

const char *ctx(struct session *s, struct log_ctx *c)
{
    char user[96];
    /* The shard's own name ("backend/user"): its indices may be an earlier config's. */
    const char *pool = s->b ? s->b->pc.shard->name : "-";
    int blen = (int)strcspn(pool, "/");
    snprintf(c->text, sizeof c->text, "worker=%u session=%llu client=%s user=\"%s\" backend=%.*s",
             s->w->id, (unsigned long long)s->id, peer(s),
             log_safe(s->user_name, user, sizeof user), blen, pool);
    return c->text;
}

void set_state(struct session *s, enum session_state to)
{
    log_debug("session_state", "worker=%u session=%llu from=%s to=%s", s->w->id,
              (unsigned long long)s->id, state_names[s->state], state_names[to]);
    s->state = to;
}

/* ---------- lifetime ---------- */

struct session *session_alloc(struct worker *w)
{
    struct session *s = w->free_sessions;
    if (s)
        w->free_sessions = s->next_live;
    else
        s = aligned_alloc(64, (sizeof(struct session) + 63) / 64 * 64);
    if (!s)
        return NULL;
    memset(s, 0, offsetof(struct session, out));
    s->w = w;
    s->bw.s = s;
    s->fd = -1;
    s->fr.head = s->head;
    s->fr.head_cap = SESSION_HEAD_CAP;
    s->next_live = w->live_sessions;
    if (w->live_sessions)
        w->live_sessions->prev_live = s;
    w->live_sessions = s;
    return s;
}

static void unlink_live(struct session *s)
{
    struct worker *w = s->w;
    if (s->prev_live)
        s->prev_live->next_live = s->next_live;
    else
        w->live_sessions = s->next_live;
    if (s->next_live)
        s->next_live->prev_live = s->prev_live;
    s->next_live = s->prev_live = NULL;
}

/* Back to the session's own head, whole packets no longer wanted. */
void login_head_drop(struct session *s)
{
    if (s->fr.head != s->head)
        free(s->fr.head);
    s->fr.head = s->head;
    s->fr.head_cap = SESSION_HEAD_CAP;
    s->fr.grow = NULL;
}

void stmt_session_clear(struct session *s)
{
    stmt_ids_clear(&s->stmts);
    stmt_text_unref(s->preparing);
    s->preparing = NULL;
    stmt_text_unref(s->step_prepare);
    s->step_prepare = NULL;
}

void maybe_free(struct session *s)
{
    if (s->state != SS_CLOSED || s->inflight > 0 || s->buried)
        return;
    struct worker *w = s->w;
    if (s->in.held)
        worker_buf_release(w, &s->in);
    login_head_drop(s);
    stmt_meta_clear(&s->meta);
    stmt_session_clear(s);
    free(s->cu_undo);
    s->cu_undo = NULL;
    if (s->bw.waiting) {
        struct buf_wait **pp = &w->buf_waiters;
        while (*pp && *pp != &s->bw)
            pp = &(*pp)->next;
        if (*pp)
            *pp = s->bw.next;
        s->bw.waiting = false;
    }
    unlink_live(s);
    s->buried = true;
    s->next_live = w->grave_sessions;
    w->grave_sessions = s;
}

void session_bury(struct worker *w)
{
    struct session *s = w->grave_sessions;
    w->grave_sessions = NULL;
    while (s) {
        struct session *next = s->next_live;
        if (s->fd >= 0)
            worker_close_fd(w, s->fd);
        s->next_live = w->free_sessions;
        w->free_sessions = s;
        s = next;
    }
}

void session_free_all(struct worker *w)
{
    while (w->free_sessions) {
        struct session *s = w->free_sessions;
        w->free_sessions = s->next_live;
        free(s);
    }
}

/* Lets go of the backend: reset and pooled again if it is idle and clean, else discarded. */
void give_back_untouched(struct session *s)
{
    struct backend *b = s->b;
    s->b = NULL;
    b->sess = NULL;
    b->state = B_POOLED;
    pool_return(&b->pc, s->w->now_ms);
    s->up->pool_ready(s->w);
}

/* Takes s off the worker's queue of sessions waiting for a connection, back to SS_IDLE. */
void stop_waiting(struct session *s)
{
    struct worker *w = s->w;
    deadline_unlink(&w->pool_waiters, &s->wait);
    worker_cancel(w, -1, op_tag(s, OP_WAIT_TIMEOUT));
    set_state(s, SS_IDLE);
}

/* The session ends having left nothing on b that a reset would clear: the server reported no
 * change (ringsql's tracking was on throughout), no statement did what it does not report, no
 * transaction, cursor or result is open, no diagnostics or insert id wait to be read. */
static bool left_nothing(const struct session *s, const struct backend *b)
{
    if (s->w->stopping || b->pc.shard->retired) /* backend_release discards it */
        return false;
    if (s->state_left || s->xa || !b->tracking || b->diag_dirty || b->insert_id_set || b->in.held ||
        b->send_busy || !proto_tracker_idle(&b->tr))
        return false;
    uint16_t st = proto_tracker_status(&b->tr);
    return (st & PROTO_SERVER_STATUS_AUTOCOMMIT) &&
           !(st & (PROTO_SERVER_STATUS_IN_TRANS | PROTO_SERVER_MORE_RESULTS_EXISTS |
                   PROTO_SERVER_STATUS_CURSOR_EXISTS));
}

void unbind(struct session *s, bool clean)
{
    struct backend *b = s->b;
    if (!b)
        return;
    if (!s->touched && !b->in.held && !b->send_busy) {
        /* Taken at accept, never used (the client left before logging in): no reset. */
        give_back_untouched(s);
        return;
    }
    s->b = NULL;
    if (s->xa) {
        /* A reset would leave a prepared XA transaction's locks to no one; a disconnect
         * leaves it prepared, for XA COMMIT or ROLLBACK from anywhere, as direct. */
        b->sess = NULL;
        backend_discard(b, "the session used XA: closed rather than reset");
        return;
    }
    bool idle = clean && !b->kill_pending && !s->c2b_busy && !s->b2c_busy && !s->expect_response &&
                !s->infile &&
                !(s->fr.in_logical && s->state != SS_LOGIN && s->state != SS_AUTH_SWITCH);
    if (idle && left_nothing(s, b)) {
        s->b = b; /* give_back_untouched takes it from the session */
        STAT_INC(s->w->st.conns_kept);
        give_back_untouched(s);
        return;
    }
    backend_release(b, idle);
}

/* Ends the session: the backend goes back (or away), the client socket is shut down and the
 * object is freed once nothing is in flight. */
void close_session(struct session *s, bool clean, const char *why)
{
    if (s->state == SS_CLOSED)
        return;
    struct log_ctx c;
    log_debug("session_closed", "%s state=%s reason=\"%s\"", ctx(s, &c), state_names[s->state],
              why);
    if (s->state == SS_WAIT)
        stop_waiting(s);
    deadline_unlink(&s->w->deadlines[s->dl_kind], &s->dl);
    unbind(s, clean);
    set_state(s, SS_CLOSED);
    STAT_INC(s->w->st.sessions_done);
    STAT_SUB(s->w->st.clients_connected, 1);
    /* Something still in flight on the client's socket ends at once (and the client is sent
     * FIN even while a send is stuck on a full window); the descriptor is closed once it is
     * done (session_bury). With nothing in flight or queued on it (each counts in inflight,
     * a result's send in b2c_busy), it is closed now: one system call instead of two. */
    if (s->inflight || s->b2c_busy) {
        shutdown(s->fd, SHUT_RDWR);
    } else {
        worker_close_fd(s->w, s->fd);
        s->fd = -1;
    }
    maybe_free(s);
}

/* Between commands: the client can read an ERR telling it why. */
void say_shutdown(struct session *s)
{
    static const char msg[] = "ringsql is shutting down and closed this connection (the "
                              "shutdown.drain_timeout passed or a second SIGTERM came); reconnect";
    STAT_INC(s->w->st.rejected[REJECT_SHUTDOWN]);
    s->seq = 0;
    reject(s, PROTO_ER_SERVER_SHUTDOWN, "08S01", msg);
}

void session_shutdown_all(struct worker *w)
{
    for (struct session *s = w->live_sessions, *next; s; s = next) {
        next = s->next_live;
        if (s->state == SS_IDLE && s->send_linked && !s->quit) {
            /* The login's OK may still be going out of s->out: ending the receive linked
             * behind it (it sees end-of-file) says when it is done. */
            s->say_shutdown = true;
            shutdown(s->fd, SHUT_RD);
        } else if (s->state == SS_IDLE && !s->own_send && !s->quit) {
            say_shutdown(s);
        } else {
            close_session(s, false, "shutting down");
        }
    }
}

struct session *session_find(struct worker *w, uint64_t id)
{
    for (struct session *s = w->live_sessions; s; s = s->next_live)
        if (s->id == id)
            return s;
    return NULL;
}

void session_remap_users(struct worker *w, const struct cfg *old)
{
    for (struct session *s = w->live_sessions, *next; s; s = next) {
        next = s->next_live;
        if (!s->user_known || s->state == SS_CLOSED || s->state == SS_REJECT)
            continue;
        const struct cfg_user *u = cfg_find_user(w->cfg, old->users[s->user].name);
        bool retired = s->b && s->b->pc.shard->retired;
        if (u && !(retired && s->state < SS_IDLE)) {
            s->user = (uint32_t)(u - w->cfg->users);
        } else if (s->state < SS_IDLE) {
            /* Mid-login as a removed user or on a removed backend (a send of ours may be in
             * flight): just closed. */
            struct log_ctx c;
            log_info("session_user_removed", "%s", ctx(s, &c));
            close_session(s, false, "its user was removed from the config while logging in");
        } else {
            /* Logged in: it keeps the backend connection it holds (session pooling), and
             * gets no other (bind_for_command); a COM_CHANGE_USER sets s->user again. */
            s->user = 0;
            s->user_gone = true;
        }
    }
}

/* ---------- client I/O ---------- */

/* The deadline of the client's next receive, by state: the login's, or client_idle. */
static void client_recv_deadline(struct session *s)
{
    struct worker *w = s->w;
    const struct cfg *cfg = w->cfg;
    int kind = -1;
    uint64_t at = 0;
    if ((s->state == SS_LOGIN || s->state == SS_AUTH_SWITCH) && cfg->timeouts.handshake_ms > 0) {
        /* The login's deadline, not a fresh timeout per receive: a client that dribbles a
         * byte at a time does not get to keep its session. */
        kind = TIMEOUT_HANDSHAKE;
        at = s->login_deadline_ms;
    } else if (s->state == SS_IDLE && cfg->timeouts.client_idle_ms > 0) {
        kind = TIMEOUT_CLIENT_IDLE;
        at = w->now_ms + cfg->timeouts.client_idle_ms;
    }
    if (kind >= 0) {
        struct deadline_list *l = &w->deadlines[kind];
        s->dl_kind = (uint8_t)kind;
        deadline_push(l, &s->dl, at);
        if (l->head == &s->dl)
            worker_timer_need(w, at);
    }
}

void arm_client_recv(struct session *s)
{
    /* One waiting for a buffer is armed when one comes back (buffer_free), not before: a
     * receive armed meanwhile would take its data, and the buffer meant for it then lies
     * free while other receives wait (a stall, seen with receive_buffers: 16). */
    if (s->recv_armed || s->in.held || s->bw.waiting || s->state == SS_CLOSED)
        return;
    client_recv_deadline(s);
    s->recv_armed = true;
    s->inflight++;
    worker_recv(s->w, s->fd, op_tag(s, OP_CLIENT_RECV));
}

void send_own(struct session *s)
{
    s->own_send = true;
    s->out_sent = 0;
    s->inflight++;
    worker_send(s->w, s->fd, s->out, s->out_len, op_tag(s, OP_CLIENT_SEND));
}

/* Sends s->out, which the client answers (a greeting, an auth switch, a login's OK), with the
 * receive of that answer linked behind it: one completion and no loop turn in between. */
void send_own_then_recv(struct session *s)
{
    s->own_send = true;
    s->send_linked = true;
    client_recv_deadline(s);
    s->recv_armed = true;
    s->inflight++;
    worker_send_then_recv(s->w, s->fd, s->out, s->out_len, op_tag(s, OP_CLIENT_SEND),
                          op_tag(s, OP_CLIENT_RECV));
}

bool start_compression(struct session *s)
{
    s->compress_next = false;
    /* Bytes already here past the OK belong to the compressed stream: they go through it. */
    size_t pre = s->in.held ? s->in.len - s->in.scan : 0;
    int rc = io_compress_attach(s->w->io, s->fd, pre ? s->in.p + s->in.scan : NULL, pre);
    if (rc < 0) {
        close_session(s, true, "cannot start the compressed protocol");
        return false;
    }
    s->in.len -= (uint32_t)pre;
    s->compressed = true;
    s->fr.renumber = true;
    s->fr.next_seq = 0;
    return true;
}

/* Sends an ERR and closes. */
void reject(struct session *s, uint16_t code, const char *sqlstate, const char *msg)
{
    ssize_t n =
        proto_build_err(s->out, sizeof s->out, s->seq, s->caps ? s->caps : PROTO_CLIENT_PROTOCOL_41,
                        code, sqlstate, msg, strlen(msg));
    if (n < 0) {
        close_session(s, true, "could not build ERR");
        return;
    }
    struct log_ctx c;
    char safe[512];
    log_info("session_rejected", "%s code=%u error=\"%s\"", ctx(s, &c), code,
             log_safe(msg, safe, sizeof safe));
    s->out_len = (uint32_t)n;
    set_state(s, SS_REJECT);
    send_own(s);
}

/* Answers a command (its first packet's seq) itself, with an ERR or (msg NULL) an OK. */
void answer_command(struct session *s, uint8_t seq, uint16_t code, const char *state,
                    const char *msg)
{
    struct proto_ok ok = {.status = s->b ? proto_tracker_status(&s->b->tr)
                                         : PROTO_SERVER_STATUS_AUTOCOMMIT};
    ssize_t n = msg ? proto_build_err(s->out, sizeof s->out, proto_seq_next(seq), s->caps, code,
                                      state, msg, strlen(msg))
                    : proto_build_ok(s->out, sizeof s->out, proto_seq_next(seq), s->caps, &ok);
    if (n < 0) {
        close_session(s, false, "could not build an answer");
        return;
    }
    s->out_len = (uint32_t)n;
    send_own(s);
}

/* ---------- completions ---------- */

/* The linked timeout cancelled the client's receive: say why (where the protocol leaves room
 * for it) and close. */
void on_client_timeout(struct session *s)
{
    struct worker *w = s->w;
    bool login = s->state == SS_LOGIN || s->state == SS_AUTH_SWITCH || s->state == SS_BIND;
    uint64_t ms = login ? w->cfg->timeouts.handshake_ms : w->cfg->timeouts.client_idle_ms;
    STAT_INC(w->st.timeouts[login ? TIMEOUT_HANDSHAKE : TIMEOUT_CLIENT_IDLE]);
    struct log_ctx c;
    log_info("client_timeout", "%s state=%s timeout_ms=%llu error=\"%s\"", ctx(s, &c),
             state_names[s->state], (unsigned long long)ms,
             login ? "timeouts.handshake passed" : "timeouts.client_idle passed");
    char msg[200];
    if (login) {
        /* The client's next read is the answer to its HandshakeResponse (seq 2). */
        if (s->state == SS_LOGIN)
            s->seq = 2;
        if (s->state == SS_BIND)
            unbind(s, false); /* its command unanswered: the connection is discarded */
        snprintf(msg, sizeof msg, "login not finished within timeouts.handshake (%llu ms)",
                 (unsigned long long)ms);
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", msg);
        return;
    }
    /* Unasked, as MySQL 8 does (seq 0): a client reading finds why it was disconnected. */
    s->seq = 0;
    snprintf(msg, sizeof msg,
             "disconnected by ringsql after timeouts.client_idle (%llu ms) without a command",
             (unsigned long long)ms);
    reject(s, PROTO_ER_CLIENT_INTERACTION_TIMEOUT, "HY000", msg);
}

void session_deadlines_passed(struct worker *w)
{
    uint64_t next = UINT64_MAX;
    for (size_t k = 0; k < sizeof w->deadlines / sizeof w->deadlines[0]; k++) {
        struct deadline_list *l = &w->deadlines[k];
        while (l->head && l->head->at_ms <= w->now_ms + 1) {
            struct session *s = (struct session *)((char *)l->head - offsetof(struct session, dl));
            deadline_unlink(l, &s->dl);
            if (s->state == SS_BIND && !s->bind_for_cmd) {
                on_client_timeout(s); /* a login bind: no receive to cancel */
                continue;
            }
            s->timed_out = true;
            worker_cancel(w, s->fd, op_tag(s, OP_CLIENT_RECV));
        }
        if (l->head && l->head->at_ms < next)
            next = l->head->at_ms;
    }
    if (next != UINT64_MAX)
        worker_timer_need(w, next);
}

void watch_client_hup(struct session *s)
{
    if (s->hup_watched)
        return;
    s->hup_watched = true;
    s->inflight++;
    worker_watch_hup(s->w, s->fd, op_tag(s, OP_CLIENT_HUP));
}

void session_on_client_hup(struct session *s, int res)
{
    s->inflight--;
    s->hup_watched = false;
    if (s->state == SS_CLOSED) {
        maybe_free(s);
        return;
    }
    /* Between commands the client's receive sees the hang-up itself. */
    if (res < 0 || !(s->state == SS_FORWARD || s->state == SS_INFILE))
        return;
    struct log_ctx c;
    log_info("client_gone", "%s state=%s error=\"client hung up while its %s\"", ctx(s, &c),
             state_names[s->state], s->resp_started ? "response streamed" : "command ran");
    close_session(s, false, "client hung up mid-command");
}

void session_on_backend_failed(struct session *s)
{
    struct backend *b = s->b;
    if (!b) {
        /* A late completion after the failure was handled (an ERR 1927 on its way). */
        if (s->state != SS_REJECT)
            close_session(s, false, "backend connection failed");
        return;
    }
    struct worker *w = s->w;
    /* The shard's own name ("backend/user"): its indices may be an earlier config's. */
    char backend[96];
    snprintf(backend, sizeof backend, "%.*s", (int)strcspn(b->pc.shard->name, "/"),
             b->pc.shard->name);
    uint32_t conn = b->server_conn_id;
    struct log_ctx c;
    log_warn("backend_lost", "%s server_conn=%u state=%s", ctx(s, &c), conn, state_names[s->state]);
    s->b = NULL;
    b->sess = NULL;
    backend_discard(b, "failed while bound to a session");
    STAT_INC(w->st.backend_errors);
    /* Only this client is affected; it learns it in protocol where it can: an ERR answers a
     * command under way unless part of its response went out already. A command longer than
     * one receive, partly forwarded, counts (the session is idle until its last byte: a
     * server closes on one over its max_allowed_packet), and its rest has nowhere to go. */
    bool partly_sent = s->state == SS_IDLE && (s->in.held || !framer_between_packets(&s->fr));
    bool answerable = s->state == SS_FORWARD && !s->resp_started && !s->b2c_busy;
    if (partly_sent)
        s->seq = proto_seq_next(s->fr.seq0);
    else if (answerable)
        s->seq = proto_seq_next(s->cmd_seq);
    if (partly_sent || answerable || s->state == SS_BIND) {
        char msg[160];
        snprintf(msg, sizeof msg, "Lost connection to backend '%.64s' during query", backend);
        reject(s, PROTO_ER_CONNECTION_KILLED, "70100", msg);
        return;
    }
    if (s->state == SS_IDLE && s->relay) {
        /* What the server said before it closed (session_on_backend_recv): the client reads
         * it, then finds the connection closed, as from the server itself. */
        set_state(s, SS_REJECT);
        send_own(s);
        return;
    }
    /* Idle: the connection closes under the client as the server's would (a wait_timeout, a
     * KILL): its library reports the server gone (2006, 2013) and may reconnect. */
    close_session(s, false, "backend connection failed");
}

bool session_buf_ready(struct session *s)
{
    arm_client_recv(s);
    return s->recv_armed;
}
