/* session: one client connection as an explicit state machine.
 *
 *   accept ──(a connection free or on its way for a single user, else 1040 / 1429)──> SS_GREETING
 *   SS_GREETING   Handshake V10 sent, the login's receive linked behind it ─> SS_LOGIN
 *   SS_LOGIN      HandshakeResponse41: native or sha2 fast path ok ─> SS_BIND
 *                 another plugin ─> AuthSwitchRequest ─────────────> SS_AUTH_SWITCH
 *                 wrong user/password (1045), no free backend (1040) ─> SS_REJECT
 *   SS_AUTH_SWITCH  mysql_native_password answer ok ──────────────> SS_BIND, else SS_REJECT
 *   SS_BIND       [COM_RESET_CONNECTION] COM_INIT_DB, or COM_CHANGE_USER to clear a database
 *                 a previous client chose / COM_SET_OPTION / SET NAMES on the backend, one by one
 *                 all ok: OK (after AuthMoreData 0x03 for sha2) sent, the first command's
 *                 receive linked behind it ─> SS_IDLE; the backend's ERR (unknown db) ─> SS_REJECT
 *   SS_IDLE       a command: forwarded ────────────────────────────> SS_FORWARD
 *                 (pool.mode transaction, no backend bound: one is taken and bound first,
 *                 SS_BIND; none free: SS_WAIT up to timeouts.pool_wait, then ERR 1040)
 *                 COM_CHANGE_USER: credentials checked as at login ──> SS_BIND (the backend
 *                 reset, or swapped for one of the new user's pool) or SS_AUTH_SWITCH
 *                 COM_QUIT, hang-up ───────────────────────────────> SS_CLOSED
 *                 idle timeout: ERR 4031 ─────────────────────────> SS_REJECT
 *                 its backend connection died (KILL, server gone) ─> SS_LOST
 *   SS_FORWARD    response streamed back until the tracker says done ─> SS_IDLE
 *                 LOCAL INFILE request forwarded ─────────────────> SS_INFILE
 *   SS_INFILE     file packets forwarded until the empty one ──────> SS_FORWARD
 *                 backend died before any of the response: ERR 1927 ─> SS_REJECT
 *   SS_LOST       the next command gets ERR 1927; COM_QUIT, hang-up, timeout ─> SS_CLOSED
 *   SS_LOGIN, SS_AUTH_SWITCH  timeouts.handshake: ERR 1043 ──────────> SS_REJECT
 *   SS_REJECT     ERR sent ────────────────────────────────────────> SS_CLOSED
 *   SS_CLOSED     waits for its last completion, then is freed
 *
 * Only one buffer per direction is in flight: a backend is not read again until what it sent
 * reached the client's socket, so a slow client holds at most one buffer of its result. */
#include "core/conn/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn/kill.h"
#include "core/base/post.h"
#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/conn/stmt_meta.h"
#include "core/conn/backend.h"
#include "core/worker/worker.h"
#include "protocol/auth.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/kill.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/response.h"
#include "protocol/xlat.h"
#include "ringsql_version.h"

enum session_state {
    SS_GREETING,
    SS_LOGIN,
    SS_AUTH_SWITCH,
    SS_BIND,
    SS_IDLE,
    SS_FORWARD,
    SS_INFILE,
    SS_WAIT,
    SS_REJECT,
    SS_LOST,
    SS_CLOSED,
};

static const char *const state_names[] = {
    "greeting", "login", "auth_switch", "bind", "idle",   "forward",
    "infile",   "wait",  "reject",      "lost", "closed",
};

enum bind_step {
    BIND_RESET,
    BIND_DB,
    BIND_MULTI,
    BIND_CHARSET,
    BIND_TRACK,
    BIND_INSERT_ID,
    BIND_DONE
};

enum { SESSION_HEAD_CAP = 512, SESSION_OUT_CAP = 1024, SESSION_DB_CAP = 256 };
/* The longest login read: connect attributes up to 64 KiB (libmysqlclient's limit; Java and
 * Node drivers send hundreds of bytes routinely) plus user, auth data, database and plugin. */
enum { SESSION_LOGIN_MAX = 128 << 10 };

/* Capabilities ringsql handles itself whatever its backends negotiated; every other one is
 * offered to a client only when the backend connections have it. */
#define SELF_CAPS                                                                                  \
    (PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_CONNECT_WITH_DB | PROTO_CLIENT_NO_SCHEMA |              \
     PROTO_CLIENT_ODBC | PROTO_CLIENT_INTERACTIVE | PROTO_CLIENT_IGNORE_SIGPIPE |                  \
     PROTO_CLIENT_SECURE_CONNECTION | PROTO_CLIENT_MULTI_STATEMENTS | PROTO_CLIENT_PLUGIN_AUTH |   \
     PROTO_CLIENT_CONNECT_ATTRS | PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA |                           \
     PROTO_CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS)
#define BACKEND_CAPS                                                                               \
    (PROTO_CLIENT_FOUND_ROWS | PROTO_CLIENT_LOCAL_FILES | PROTO_CLIENT_IGNORE_SPACE |              \
     PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_MULTI_RESULTS |           \
     PROTO_CLIENT_PS_MULTI_RESULTS | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF |     \
     PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS | PROTO_XLAT_LAYOUT)

struct session {
    struct session *next_live, *prev_live;
    struct buf_wait bw;
    struct worker *w;
    uint64_t id;
    int fd;
    enum session_state state;
    struct backend *b;
    uint32_t user; /* index into cfg->users, once known */
    bool user_known;
    unsigned inflight; /* submissions tagged with this session not completed yet */
    bool recv_armed;
    bool hup_watched;  /* a POLLRDHUP watch on the client socket is in flight */
    bool own_send;     /* s->out on its way to the client */
    bool send_linked;  /* ... with the receive of the client's answer behind it */
    bool say_shutdown; /* shutting down: ERR 1053 once that receive ends */
    bool c2b_busy;     /* s->in bytes on their way to the backend */
    bool b2c_busy;     /* b->in bytes on their way to the client */
    bool quit;         /* COM_QUIT seen */
    bool expect_response;
    /* Transaction pooling: its last statement left warnings or an error on its connection:
     * the connection stays for its next statement (SHOW WARNINGS reads them there), and is
     * reset before anyone else gets it. */
    bool diag_held;
    bool cmd_reads_diag;     /* the command under way is SHOW WARNINGS, GET DIAGNOSTICS... */
    uint64_t last_insert_id; /* the last id one of its inserts generated (LAST_INSERT_ID()) */
    bool kill_wait;          /* its KILL's verdict is on its way from another worker */
    bool query_killed;       /* KILL QUERY while its command waited for a connection */
    uint32_t kill_id;        /* the session its KILL named */
    bool response_done;
    bool infile;
    bool sha2_fast;
    bool buried;
    bool touched;         /* ringsql has sent the backend something for this session */
    bool reset_first;     /* COM_CHANGE_USER on the same backend: reset it before binding */
    bool txn;             /* pool.mode transaction: the backend is bound per transaction */
    bool pinned;          /* txn, but the session left state on its backend: bound until it ends */
    bool bind_for_cmd;    /* txn: binding for the command held in s->in, not for a login */
    bool db_sent;         /* the bind sent COM_INIT_DB: the backend's database once it is OK */
    struct deadline wait; /* SS_WAIT: in w->pool_waiters, until timeouts.pool_wait */
    bool login_wait;      /* SS_WAIT for a login (its database to check), not a command */
    struct __kernel_timespec wait_ts;
    char out_lost[200];         /* SS_LOST: the ERR 1927 message for the next command */
    uint64_t login_deadline_ms; /* accept + timeouts.handshake: for the whole login */
    bool resp_started;          /* some of the current command's response reached the client */
    uint8_t cmd_seq;            /* sequence id of the current command's first packet */
    /* The client reads another response layout than its backend writes: responses go
     * through protocol/xlat.h. Without CACHE_METADATA (the backend with it) the session
     * keeps each statement's column definitions to put back those the server leaves out. */
    bool xlat;
    bool keep_meta;
    uint32_t exec_stmt; /* the COM_STMT_EXECUTE being answered */
    struct stmt_meta_cache meta;
    enum bind_step bind;
    uint64_t server_caps; /* offered in the greeting */
    uint64_t caps;        /* negotiated with the client */
    uint8_t charset;
    uint8_t seq; /* next sequence id ringsql sends during login */
    uint8_t scramble[PROTO_SCRAMBLE_LEN];
    char peer[64];
    char user_name[80];
    char db[SESSION_DB_CAP];
    size_t db_len;
    struct rbuf in;
    struct framer fr;
    struct deadline dl; /* on w->deadlines[dl_kind] while its receive runs under a timeout */
    uint8_t dl_kind;
    bool timed_out; /* its deadline passed: the receive's cancellation is a timeout */
    uint32_t out_len, out_sent;
    uint8_t out[SESSION_OUT_CAP];
    uint8_t head[SESSION_HEAD_CAP];
};

/* What every event line of a session says first: worker, session id, client address, the
 * user it logged in as (or tried to) and the backend it is bound to. */
struct log_ctx {
    char text[320];
};

/* The client's address, looked up the first time a log line or an error names it: most
 * sessions never need it, and getpeername is a system call per session. A client already
 * gone (reset) by then shows as "unknown". */
static const char *peer(struct session *s)
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

static const char *ctx(struct session *s, struct log_ctx *c)
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

static void set_state(struct session *s, enum session_state to)
{
    log_debug("session_state", "worker=%u session=%llu from=%s to=%s", s->w->id,
              (unsigned long long)s->id, state_names[s->state], state_names[to]);
    s->state = to;
}

/* ---------- lifetime ---------- */

static struct session *session_alloc(struct worker *w)
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

/* The framer's head while a login packet is read: grown on the heap (up to SESSION_LOGIN_MAX)
 * as a login longer than the session's own head arrives. */
static void login_head_grow(struct framer *fr, uint32_t need)
{
    struct session *s = (struct session *)((char *)fr - offsetof(struct session, fr));
    if (need > SESSION_LOGIN_MAX)
        return; /* the login is refused once it has arrived (login_packet) */
    uint32_t cap = fr->head_cap * 2 > need ? fr->head_cap * 2 : need;
    if (cap > SESSION_LOGIN_MAX)
        cap = SESSION_LOGIN_MAX;
    uint8_t *p = fr->head == s->head ? malloc(cap) : realloc(fr->head, cap);
    if (!p)
        return;
    if (fr->head == s->head)
        memcpy(p, s->head, fr->head_len);
    fr->head = p;
    fr->head_cap = cap;
}

/* Back to the session's own head, whole packets no longer wanted. */
static void login_head_drop(struct session *s)
{
    if (s->fr.head != s->head)
        free(s->fr.head);
    s->fr.head = s->head;
    s->fr.head_cap = SESSION_HEAD_CAP;
    s->fr.grow = NULL;
}

static void maybe_free(struct session *s)
{
    if (s->state != SS_CLOSED || s->inflight > 0 || s->buried)
        return;
    struct worker *w = s->w;
    if (s->in.held)
        worker_buf_release(w, &s->in);
    login_head_drop(s);
    stmt_meta_clear(&s->meta);
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
static void give_back_untouched(struct session *s)
{
    struct backend *b = s->b;
    s->b = NULL;
    b->sess = NULL;
    b->state = B_POOLED;
    pool_return(&b->pc, s->w->now_ms);
    session_pool_ready(s->w);
}

/* Takes s off the worker's queue of sessions waiting for a connection, back to SS_IDLE. */
static void stop_waiting(struct session *s)
{
    struct worker *w = s->w;
    deadline_unlink(&w->pool_waiters, &s->wait);
    worker_cancel(w, op_tag(s, OP_WAIT_TIMEOUT));
    set_state(s, SS_IDLE);
}

static void unbind(struct session *s, bool clean)
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
    bool idle = clean && !b->kill_pending && !s->c2b_busy && !s->b2c_busy && !s->expect_response &&
                !s->infile &&
                !(s->fr.in_logical && s->state != SS_LOGIN && s->state != SS_AUTH_SWITCH);
    backend_release(b, idle);
}

/* Ends the session: the backend goes back (or away), the client socket is shut down and the
 * object is freed once nothing is in flight. */
static void close_session(struct session *s, bool clean, const char *why)
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

static void reject(struct session *s, uint16_t code, const char *sqlstate, const char *msg);

/* Between commands: the client can read an ERR telling it why. */
static void say_shutdown(struct session *s)
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
            /* Logged in: it keeps its backend connection; only a COM_CHANGE_USER reads
             * s->user again, after setting it. */
            s->user = 0;
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
    } else if ((s->state == SS_IDLE || s->state == SS_LOST) && cfg->timeouts.client_idle_ms > 0) {
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

static void arm_client_recv(struct session *s)
{
    if (s->recv_armed || s->in.held || s->state == SS_CLOSED)
        return;
    client_recv_deadline(s);
    s->recv_armed = true;
    s->inflight++;
    worker_recv(s->w, s->fd, op_tag(s, OP_CLIENT_RECV));
}

static void send_own(struct session *s)
{
    s->own_send = true;
    s->out_sent = 0;
    s->inflight++;
    worker_send(s->w, s->fd, s->out, s->out_len, op_tag(s, OP_CLIENT_SEND));
}

/* Sends s->out, which the client answers (a greeting, an auth switch, a login's OK), with the
 * receive of that answer linked behind it: one completion and no loop turn in between. */
static void send_own_then_recv(struct session *s)
{
    s->own_send = true;
    s->send_linked = true;
    client_recv_deadline(s);
    s->recv_armed = true;
    s->inflight++;
    worker_send_then_recv(s->w, s->fd, s->out, s->out_len, op_tag(s, OP_CLIENT_SEND),
                          op_tag(s, OP_CLIENT_RECV));
}

/* Sends an ERR and closes. */
static void reject(struct session *s, uint16_t code, const char *sqlstate, const char *msg)
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

/* ---------- binding ---------- */

static struct pool_shard *shard_of(struct worker *w, uint32_t backend, uint32_t user)
{
    return &w->shards[backend * w->cfg->nusers + user];
}

/* Takes a backend for user from the first backend (in config order) with one free. */
static bool take_backend(struct session *s, uint32_t user)
{
    struct worker *w = s->w;
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct pool_conn *c = pool_take(shard_of(w, bi, user));
        if (c) {
            struct backend *b = (struct backend *)c;
            b->state = B_BOUND;
            b->sess = s;
            framer_reset(&b->fr);
            s->b = b;
            return true;
        }
    }
    return false;
}

/* Every backend is marked down by the maintenance thread: the 2003-style message (code 1429,
 * see protocol/constants.h) naming the first and the error it last got; false otherwise. */
static bool backend_down_msg(struct worker *w, char *msg, size_t cap)
{
    const struct cfg *cfg = w->cfg;
    /* The worker's own copy of backend_up[] (MSG_BACKEND_STATE): indexed by its config. */
    for (size_t bi = 0; bi < cfg->nbackends; bi++)
        if (!w->binfo[bi].down)
            return false;
    /* Down means no new connection can be opened: the pooled ones still serve. */
    for (size_t i = 0; i < w->nshards; i++)
        if (w->shards[i].navailable > 0)
            return false;
    const struct cfg_backend *be = &cfg->backends[0];
    const char *err = w->binfo[0].error[0] ? w->binfo[0].error : "not reachable yet";
    char addr[300];
    snprintf(msg, cap,
             "Can't connect to backend '%.64s' (%.200s): %.255s; ringsql keeps retrying, "
             "retry later",
             be->name, cfg_addr_str(&be->addr, addr, sizeof addr), err);
    return true;
}

static bool reject_backend_down(struct session *s)
{
    char msg[640];
    if (!backend_down_msg(s->w, msg, sizeof msg))
        return false;
    STAT_INC(s->w->st.rejected[REJECT_BACKEND_DOWN]);
    reject(s, PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "08S01", msg);
    return true;
}

/* A connection for user is free now, or on its way (a replacement, a ping, or one asked for
 * now because the shard is below pool.size: see pool.min_idle). */
static bool connection_in_sight(struct worker *w, uint32_t user)
{
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct pool_shard *sh = shard_of(w, bi, user);
        if (sh->navailable > 0 || sh->pending > 0)
            return true;
    }
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct pool_shard *sh = shard_of(w, bi, user);
        if (pool_size(sh) + sh->pending < sh->target) {
            sh->pending++;
            post_backend_grow(w->proxy, w->id, (uint32_t)(sh - w->shards), w->gen);
            return true;
        }
    }
    return false;
}

/* Why user's pool has no connection to give (counted as a rejection): the ERR's code, its
 * SQL state in *state and the message in msg. */
static uint16_t no_backend_error(struct session *s, uint32_t user, char *msg, size_t cap,
                                 const char **state)
{
    struct worker *w = s->w;
    const struct cfg *cfg = w->cfg;
    if (backend_down_msg(w, msg, cap)) {
        STAT_INC(w->st.rejected[REJECT_BACKEND_DOWN]);
        *state = "08S01";
        return PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE;
    }
    struct pool_shard *sh = shard_of(w, 0, user);
    if (pool_size(sh) == 0 && sh->target > 0)
        snprintf(msg, cap,
                 "pool '%s' for user '%s' has no connection to its backend yet (it is "
                 "unreachable or still connecting); check the backend and retry",
                 cfg->backends[0].name, cfg->users[user].name);
    else
        snprintf(msg, cap,
                 "pool '%s' for user '%s' has no free connection (%u in use); raise pool.size "
                 "or retry",
                 cfg->backends[0].name, cfg->users[user].name, sh->nbusy);
    STAT_INC(w->st.rejected[REJECT_POOL_FULL]);
    *state = "08004";
    return PROTO_ER_CON_COUNT_ERROR;
}

static void reject_no_backend(struct session *s, uint32_t user)
{
    char msg[640];
    const char *state;
    uint16_t code = no_backend_error(s, user, msg, sizeof msg, &state);
    reject(s, code, state, msg);
}

/* ---------- greeting and login ---------- */

/* The backend's capabilities, and DEPRECATE_EOF, which xlat adds for clients that ask. */
static uint64_t offered_caps(const struct worker *w)
{
    uint64_t backend = w->binfo[0].caps;
    return SELF_CAPS | (backend & BACKEND_CAPS) | PROTO_CLIENT_DEPRECATE_EOF;
}

static void make_scramble(struct worker *w, uint8_t *out)
{
    /* Drawn from OpenSSL a batch at a time: each RAND_bytes call checks for a fork with
     * getpid(), a system call. */
    if (w->random_left < PROTO_SCRAMBLE_LEN) {
        if (RAND_bytes(w->random, sizeof w->random) != 1) {
            for (size_t i = 0; i < sizeof w->random; i++)
                w->random[i] = (uint8_t)rand();
        }
        w->random_left = sizeof w->random;
    }
    w->random_left -= PROTO_SCRAMBLE_LEN;
    memcpy(out, w->random + w->random_left, PROTO_SCRAMBLE_LEN);
    explicit_bzero(w->random + w->random_left, PROTO_SCRAMBLE_LEN);
    /* Scrambles are sent NUL-terminated and read as 7-bit text by some clients. */
    for (int i = 0; i < PROTO_SCRAMBLE_LEN; i++) {
        out[i] &= 0x7f;
        if (out[i] == 0 || out[i] == '$')
            out[i] = (uint8_t)('a' + i);
    }
}

static void greet(struct session *s)
{
    struct worker *w = s->w;
    const struct worker_backend_info *info = &w->binfo[0];
    char version[160];
    /* MariaDB announces itself as "5.5.5-<version>" so that old MySQL clients parse it. */
    snprintf(version, sizeof version, "%s%s-ringsql-%s",
             strstr(info->version, "MariaDB") ? "5.5.5-" : "", info->version, RINGSQL_VERSION);
    make_scramble(s->w, s->scramble);
    s->server_caps = offered_caps(w);
    struct proto_handshake hs = {
        .protocol_version = 10,
        .server_version = {(const uint8_t *)version, strlen(version)},
        .conn_id = (uint32_t)s->id,
        .scramble_len = PROTO_SCRAMBLE_LEN,
        .caps = s->server_caps,
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
        .status = PROTO_SERVER_STATUS_AUTOCOMMIT,
        .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE)},
    };
    memcpy(hs.scramble, s->scramble, PROTO_SCRAMBLE_LEN);
    ssize_t n = proto_build_handshake(s->out, sizeof s->out, &hs);
    if (n < 0) {
        close_session(s, true, "could not build the handshake");
        return;
    }
    s->out_len = (uint32_t)n;
    s->seq = 1; /* the HandshakeResponse's */
    s->fr.grow = login_head_grow;
    set_state(s, SS_LOGIN);
    send_own_then_recv(s);
}

void session_start(struct worker *w, int fd)
{
    struct session *s = session_alloc(w);
    if (!s) {
        close(fd);
        return;
    }
    s->fd = fd;
    s->id = ((uint64_t)(w->id + 1) << SESSION_ID_SHIFT) |
            (w->next_session_id++ & ((1u << SESSION_ID_SHIFT) - 1));
    s->state = SS_GREETING;
    s->peer[0] = '\0';
    s->login_deadline_ms = w->now_ms + w->cfg->timeouts.handshake_ms;
    /* Every backend down, or none ever reached (no version or capabilities to greet with). */
    if (reject_backend_down(s))
        return;
    if (!w->binfo[0].known) {
        reject_no_backend(s, 0);
        return;
    }
    /* The seed's order: with one user, a client that no connection can serve is turned away
     * at connect. The connection itself is taken only once the client logged in: a client
     * that connects and says nothing (slowloris) holds no backend. */
    s->txn = w->cfg->pool.mode == CFG_POOL_TRANSACTION;
    if (w->cfg->nusers == 1 && !s->txn) {
        s->user = 0;
        s->user_known = true;
        if (!connection_in_sight(w, 0)) {
            reject_no_backend(s, 0);
            return;
        }
    }
    greet(s);
}

static void deny(struct session *s, const char *user, bool with_password)
{
    char msg[256];
    snprintf(msg, sizeof msg, "Access denied for user '%s'@'%s' (using password: %s)", user,
             peer(s), with_password ? "YES" : "NO");
    STAT_INC(s->w->st.rejected[REJECT_AUTH]);
    /* Untouched (at login) straight back to available; used (COM_CHANGE_USER) reset first. */
    unbind(s, true);
    reject(s, PROTO_ER_ACCESS_DENIED, "28000", msg);
}

static void bind_next(struct session *s);
static void answer_held_command(struct session *s, uint16_t code, const char *state,
                                const char *msg);

/* Responses go to the client byte for byte when it reads the backend's layout, else through
 * xlat. A client can only have negotiated what xlat handles (offered_caps); a backend whose
 * layout it could not rewrite (another server's capabilities) refuses the login. */
static bool layout_known(struct session *s, uint64_t backend_caps)
{
    s->xlat = proto_xlat_needed(backend_caps, s->caps);
    s->keep_meta = s->xlat && ((backend_caps & ~s->caps) & PROTO_MARIADB_CLIENT_CACHE_METADATA);
    if (proto_xlat_supported(backend_caps, s->caps) == 0)
        return true;
    char msg[256];
    snprintf(msg, sizeof msg,
             "ringsql cannot give this client (capabilities 0x%llx) responses in its layout from "
             "this backend (0x%llx)",
             (unsigned long long)(s->caps & PROTO_XLAT_LAYOUT),
             (unsigned long long)(backend_caps & PROTO_XLAT_LAYOUT));
    unbind(s, true);
    reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", msg);
    return false;
}

static void send_login_ok(struct session *s);
static void release_if_free(struct session *s);
static bool wait_for_backend(struct session *s);
static void bind_for_login(struct session *s);
static void client_data(struct session *s);

static void login_ok(struct session *s)
{
    uint32_t user = s->user;
    if (s->b && (s->b->pc.shard->retired || s->b->pc.shard->user != user)) {
        /* Bound to another user's shard (pre-bound at accept, or COM_CHANGE_USER): give it
         * back, untouched or through a reset. */
        unbind(s, true);
        s->reset_first = false;
    }
    if (s->txn) {
        /* A login, or a COM_CHANGE_USER (which resets the backend it keeps), starts clean. */
        s->pinned = false;
        s->diag_held = false;
        s->last_insert_id = 0;
        if (!s->b)
            s->reset_first = false;
        if (!s->b && s->db_len == 0) {
            /* Nothing to apply and nothing to check on a backend: bound at the first command. */
            if (layout_known(s, s->w->binfo[0].caps))
                send_login_ok(s);
            return;
        }
    }
    if (!s->b && !take_backend(s, user)) {
        (void)connection_in_sight(s->w, user); /* grows the shard for the next client */
        if (s->txn && wait_for_backend(s)) {
            s->login_wait = true;
            return;
        }
        reject_no_backend(s, user);
        return;
    }
    bind_for_login(s);
}

/* The login has its backend: check the client can read it, then apply the client's database,
 * options and character set (bind_next) and answer OK. */
static void bind_for_login(struct session *s)
{
    if (!layout_known(s, s->b->caps))
        return;
    struct worker *w = s->w;
    if (w->cfg->timeouts.handshake_ms > 0) {
        /* The login's deadline holds while a slow backend answers the bind, too. */
        struct deadline_list *l = &w->deadlines[TIMEOUT_HANDSHAKE];
        s->dl_kind = TIMEOUT_HANDSHAKE;
        deadline_insert(l, &s->dl, s->login_deadline_ms);
        if (l->head == &s->dl)
            worker_timer_need(w, s->login_deadline_ms);
    }
    set_state(s, SS_BIND);
    s->touched = true;
    s->bind = BIND_RESET;
    bind_next(s);
}

static bool bytes_eq(struct proto_bytes b, const char *str)
{
    size_t n = strlen(str);
    return b.len == n && memcmp(b.ptr, str, n) == 0;
}

/* The database a client asked for; refused when too long. */
static int set_db(struct session *s, struct proto_bytes db)
{
    if (db.len >= sizeof s->db) {
        reject(s, PROTO_ER_BAD_DB_ERROR, "42000", "Database name is too long");
        return -ENAMETOOLONG;
    }
    if (db.len > 0)
        memcpy(s->db, db.ptr, db.len);
    s->db_len = db.len;
    s->db[s->db_len] = '\0';
    return 0;
}

/* Checks the credentials of a HandshakeResponse or a COM_CHANGE_USER against the config:
 * mysql_native_password, or the caching_sha2_password fast path; any other plugin is asked
 * to switch to mysql_native_password. Binds on success. */
static void authenticate(struct session *s, struct proto_bytes user, struct proto_bytes auth,
                         struct proto_bytes plugin)
{
    struct worker *w = s->w;
    size_t ul = user.len < sizeof s->user_name - 1 ? user.len : sizeof s->user_name - 1;
    if (ul > 0)
        memcpy(s->user_name, user.ptr, ul);
    s->user_name[ul] = '\0';
    if (memchr(s->user_name, '\'', ul))
        s->user_name[0] = '\0';
    const struct cfg_user *cu = cfg_find_user(w->cfg, s->user_name);
    bool with_pw = auth.len > 0;
    if (!cu || user.len != ul) {
        deny(s, s->user_name, with_pw);
        return;
    }
    s->user = (uint32_t)(cu - w->cfg->users);
    s->user_known = true;
    const struct worker_user *wu = &w->users[s->user];
    const uint8_t *stored = wu->empty ? NULL : wu->native;
    if (plugin.len == 0 || bytes_eq(plugin, PROTO_PLUGIN_NATIVE)) {
        if (!proto_native_verify(s->scramble, auth.ptr, auth.len, stored)) {
            deny(s, s->user_name, with_pw);
            return;
        }
        login_ok(s);
        return;
    }
    /* An empty sha2 answer from a user with a password: the client kept its scramble for the
     * plugin the greeting named (libmariadb does) and waits to be switched. */
    if (bytes_eq(plugin, PROTO_PLUGIN_CACHING_SHA2) &&
        (wu->empty || (wu->has_sha2 && auth.len > 0))) {
        if (!proto_sha2_verify(s->scramble, auth.ptr, auth.len, wu->empty ? NULL : wu->sha2)) {
            deny(s, s->user_name, with_pw);
            return;
        }
        s->sha2_fast = !wu->empty;
        login_ok(s);
        return;
    }
    /* Any other plugin (client_ed25519, mysql_clear_password, ...; sha2 when only a native hash
     * is configured): switch to native, as a server whose user has that plugin does. */
    ssize_t n = proto_build_auth_switch(s->out, sizeof s->out, s->seq, PROTO_PLUGIN_NATIVE,
                                        s->scramble, PROTO_SCRAMBLE_LEN);
    if (n < 0) {
        close_session(s, true, "could not build the auth switch");
        return;
    }
    s->seq = proto_seq_next(s->seq);
    s->out_len = (uint32_t)n;
    set_state(s, SS_AUTH_SWITCH);
    send_own_then_recv(s);
}

static void on_handshake_response(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    s->seq = proto_seq_next(seq);
    if (proto_is_ssl_request(p, len)) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01",
               "ringsql does not offer TLS to clients yet; connect without TLS "
               "(e.g. --ssl=0 or ssl-mode=DISABLED)");
        return;
    }
    struct proto_handshake_response r;
    if (proto_handshake_response_parse(p, len, s->server_caps, &r) < 0) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
        return;
    }
    s->caps = proto_caps_negotiate(r.caps, s->server_caps);
    s->charset = r.charset;
    if (set_db(s, r.database) < 0)
        return;
    authenticate(s, r.user, r.auth_response, r.auth_plugin);
}

/* COM_CHANGE_USER from a logged-in client: a login without a new greeting (the answer is
 * checked against the session's first scramble, as servers do). The same user keeps its
 * backend, which is reset; another user's session swaps it for one of that user's pool. A
 * failure ends the session, as after a failed login. */
static void on_change_user(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    struct proto_change_user cu;
    s->seq = proto_seq_next(seq);
    set_state(s, SS_LOGIN);
    s->login_deadline_ms = s->w->now_ms + s->w->cfg->timeouts.handshake_ms; /* a new login */
    if (proto_change_user_parse(p, len, s->caps, &cu) < 0) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", "Bad COM_CHANGE_USER packet");
        return;
    }
    if (set_db(s, cu.database) < 0)
        return;
    if (cu.charset > 0 && cu.charset <= UINT8_MAX)
        s->charset = (uint8_t)cu.charset;
    s->sha2_fast = false;
    s->reset_first = true;
    stmt_meta_clear(&s->meta); /* the backend is reset or swapped: its statements are gone */
    struct log_ctx c;
    log_info("session_change_user", "%s", ctx(s, &c)); /* user=: the one it changes from */
    authenticate(s, cu.user, cu.auth_response, cu.auth_plugin);
}

static void on_auth_switch_reply(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    const struct worker_user *wu = &s->w->users[s->user];
    s->seq = proto_seq_next(seq);
    if (!proto_native_verify(s->scramble, p, len, wu->empty ? NULL : wu->native)) {
        deny(s, s->user_name, len > 0);
        return;
    }
    login_ok(s);
}

static int login_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct session *s = ctx;
    if (seq != s->seq) {
        s->seq = proto_seq_next(seq);
        reject(s, PROTO_ER_NET_PACKETS_OUT_OF_ORDER, "08S01", "Got packets out of order");
    } else if (head_len != len) {
        s->seq = proto_seq_next(seq);
        reject(s, PROTO_ER_NET_PACKET_TOO_LARGE, "08S01",
               "Got a packet bigger than ringsql reads at login (128 KiB)");
    } else if (s->state == SS_LOGIN) {
        on_handshake_response(s, head, head_len, seq);
    } else {
        on_auth_switch_reply(s, head, head_len, seq);
    }
    login_head_drop(s);
    return 1;
}

/* ---------- applying the client's database, options and character set ---------- */

/* Collation ids clients commonly send, with what SET NAMES needs for them. */
static const struct {
    uint8_t id;
    const char *charset;
    const char *collation;
} collations[] = {
    {8, "latin1", "latin1_swedish_ci"},
    {47, "latin1", "latin1_bin"},
    {33, "utf8mb3", "utf8mb3_general_ci"},
    {83, "utf8mb3", "utf8mb3_bin"},
    {192, "utf8mb3", "utf8mb3_unicode_ci"},
    {45, "utf8mb4", "utf8mb4_general_ci"},
    {46, "utf8mb4", "utf8mb4_bin"},
    {224, "utf8mb4", "utf8mb4_unicode_ci"},
    {255, "utf8mb4", NULL}, /* MySQL 8's utf8mb4_0900_ai_ci: MariaDB's closest default */
    {63, "binary", NULL},
    {11, "ascii", "ascii_general_ci"},
};

static int charset_query(uint8_t id, char *out, size_t cap)
{
    for (size_t i = 0; i < sizeof collations / sizeof collations[0]; i++) {
        if (collations[i].id != id)
            continue;
        if (collations[i].collation)
            return snprintf(out, cap, "SET NAMES %s COLLATE %s", collations[i].charset,
                            collations[i].collation);
        return snprintf(out, cap, "SET NAMES %s", collations[i].charset);
    }
    /* The server takes a default collation's id for these variables. */
    return snprintf(out, cap,
                    "SET character_set_client=%u, character_set_results=%u, "
                    "collation_connection=%u",
                    id, id, id);
}

static void send_login_ok(struct session *s)
{
    struct proto_wr wr = proto_wr_init(s->out, sizeof s->out);
    size_t used = 0;
    if (s->sha2_fast) {
        uint8_t fast = PROTO_CSHA2_FAST_AUTH_SUCCESS;
        ssize_t n = proto_build_auth_more_data(s->out, sizeof s->out, s->seq, &fast, 1);
        if (n < 0) {
            close_session(s, true, "could not build AuthMoreData");
            return;
        }
        used = (size_t)n;
        s->seq = proto_seq_next(s->seq);
    }
    (void)wr;
    struct proto_ok ok = {.status = s->b ? proto_tracker_status(&s->b->tr)
                                         : PROTO_SERVER_STATUS_AUTOCOMMIT};
    ssize_t n = proto_build_ok(s->out + used, sizeof s->out - used, s->seq, s->caps, &ok);
    if (n < 0) {
        close_session(s, true, "could not build OK");
        return;
    }
    s->out_len = (uint32_t)(used + (size_t)n);
    struct log_ctx c;
    log_debug("session_ready", "%s", ctx(s, &c));
    set_state(s, SS_IDLE);
    release_if_free(s);
    if (s->in.held && s->in.scan < s->in.len)
        send_own(s); /* commands pipelined behind a COM_CHANGE_USER: served once it is sent */
    else
        send_own_then_recv(s);
}

/* Transaction pooling: the command held in s->in reads LAST_INSERT_ID(), and the connection's
 * value is not this session's (another session's insert set it, or it is 0 and this
 * session's is not). */
static bool insert_id_is_another(const struct session *s)
{
    const struct backend *b = s->b;
    if (b->insert_id_set ? b->insert_id_owner == s->id : s->last_insert_id == 0)
        return false;
    const uint8_t *p = s->in.p + s->in.scan;
    struct proto_phys ph;
    return proto_phys_read(p, s->in.len - s->in.scan, &ph, NULL) == 0 && ph.payload_len > 1 &&
           p[PROTO_HEADER_LEN] == PROTO_COM_QUERY &&
           proto_query_reads_insert_id(p + PROTO_HEADER_LEN + 1, ph.payload_len - 1);
}

static void bind_next(struct session *s)
{
    struct backend *b = s->b;
    int rc = 0;
    for (;;) {
        switch (s->bind) {
        case BIND_RESET:
            s->bind = BIND_DB;
            /* COM_CHANGE_USER on the same backend; a COM_CHANGE_USER below resets too. */
            if (s->reset_first && (s->db_len > 0 || backend_db_is(b, NULL, 0))) {
                s->reset_first = false;
                rc = backend_send_cmd(b, PROTO_COM_RESET_CONNECTION, NULL, 0);
                goto sent;
            }
            break;
        case BIND_DB:
            s->bind = BIND_MULTI;
            s->reset_first = false;
            if (backend_db_is(b, s->db, s->db_len))
                break;
            if (s->db_len > 0) {
                b->db_known = false; /* until the server says OK */
                s->db_sent = true;
                rc = backend_send_cmd(b, PROTO_COM_INIT_DB, s->db, s->db_len);
                goto sent;
            }
            /* COM_RESET_CONNECTION kept an earlier client's database: clear it. */
            rc = backend_send_change_user(b);
            goto sent;
        case BIND_MULTI: {
            s->bind = BIND_CHARSET;
            if (s->db_sent) {
                s->db_sent = false;
                backend_set_db(b, s->db, s->db_len);
            }
            bool want = (s->caps & PROTO_CLIENT_MULTI_STATEMENTS) != 0;
            if (!b->multi_known || b->multi_stmts != want) {
                /* COM_SET_OPTION: 0 turns multi-statements on, 1 off. */
                uint8_t arg[2] = {want ? 0 : 1, 0};
                b->multi_stmts = want;
                b->multi_known = true;
                rc = backend_send_cmd(b, PROTO_COM_SET_OPTION, arg, sizeof arg);
                goto sent;
            }
            break;
        }
        case BIND_CHARSET:
            s->bind = BIND_TRACK;
            if (s->charset != 0 && (!b->charset_known || s->charset != b->charset)) {
                char q[200];
                int n = charset_query(s->charset, q, sizeof q);
                b->charset = s->charset;
                b->charset_known = true;
                rc = backend_send_cmd(b, PROTO_COM_QUERY, q, (size_t)n);
                goto sent;
            }
            break;
        case BIND_TRACK:
            s->bind = BIND_INSERT_ID;
            if (s->txn && !b->tracking) {
                /* The server then flags every OK that changed the session (SET, USE,
                 * temporary tables, PREPARE, ...): such a session keeps its backend. */
                static const char q[] = "SET SESSION session_track_state_change=1";
                b->tracking = true;
                rc = backend_send_cmd(b, PROTO_COM_QUERY, q, sizeof q - 1);
                goto sent;
            }
            break;
        case BIND_INSERT_ID:
            s->bind = BIND_DONE;
            if (s->bind_for_cmd && insert_id_is_another(s)) {
                /* The command reads LAST_INSERT_ID() on a connection whose value is someone
                 * else's: it gets its own session's back (0 if it inserted nothing). */
                char q[48];
                int n = snprintf(q, sizeof q, "DO LAST_INSERT_ID(%llu)",
                                 (unsigned long long)s->last_insert_id);
                b->insert_id_set = true;
                b->insert_id_owner = s->id;
                rc = backend_send_cmd(b, PROTO_COM_QUERY, q, (size_t)n);
                goto sent;
            }
            break;
        case BIND_DONE: {
            struct log_ctx c;
            log_debug("session_bound", "%s server_conn=%u", ctx(s, &c), b->server_conn_id);
            if (s->bind_for_cmd) {
                s->bind_for_cmd = false;
                set_state(s, SS_IDLE);
                if (s->query_killed) { /* a KILL QUERY came while it waited for this */
                    answer_held_command(s, PROTO_ER_QUERY_INTERRUPTED, "70100",
                                        "Query execution was interrupted");
                    return;
                }
                client_data(s);
                return;
            }
            deadline_unlink(&s->w->deadlines[s->dl_kind], &s->dl);
            send_login_ok(s);
            return;
        }
        }
    }
sent:
    if (rc < 0) {
        session_on_backend_failed(s);
        return;
    }
    backend_arm_recv(b);
}

/* One packet of the answer to a bind command; on an ERR the client gets it as its own. */
static int bind_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct session *s = ctx;
    struct backend *b = s->b;
    int v = proto_tracker_feed(&b->tr, head, head_len);
    if (v < 0)
        return v;
    if (v == PROTO_TRACK_AUTH) {
        /* The backend's COM_CHANGE_USER asked for a fresh mysql_native_password answer. */
        if (head_len != len || b->send_busy)
            return -EPROTO;
        int rc = backend_send_auth_switch_reply(b, head, head_len, seq);
        return rc < 0 ? rc : 0;
    }
    if (v != PROTO_TRACK_DONE)
        return v == PROTO_TRACK_MORE ? 0 : -EPROTO;
    if (!b->tr.error)
        return 1;
    struct proto_err err;
    if (head_len != len || proto_err_parse(head, head_len, b->caps, &err) < 0)
        return -EPROTO;
    ssize_t n = proto_build_err(s->out, sizeof s->out, s->seq, s->caps, err.code, err.sqlstate,
                                (const char *)err.message.ptr, err.message.len);
    if (n < 0)
        return (int)n;
    s->out_len = (uint32_t)n;
    return 2;
}

static void bind_data(struct session *s)
{
    struct backend *b = s->b;
    int rc = framer_walk(&b->fr, &b->in, bind_packet, s);
    bool leftover = b->in.scan < b->in.len;
    worker_buf_release(s->w, &b->in);
    if (rc < 0 || (rc > 0 && leftover)) {
        session_on_backend_failed(s);
        return;
    }
    backend_arm_recv(b);
    if (rc == 0)
        return;
    if (rc == 2) {
        /* The backend refused (unknown database...): the client gets its ERR; the backend
         * is idle and goes back through a reset. */
        struct log_ctx c;
        log_info("session_rejected",
                 "%s code=%u error=\"the backend refused the client's "
                 "database or settings\"",
                 ctx(s, &c), b->tr.error_code);
        unbind(s, true);
        set_state(s, SS_REJECT);
        send_own(s);
        return;
    }
    bind_next(s);
}

/* Answers a command (its first packet's seq) itself, with an ERR or (msg NULL) an OK. */
static void answer_command(struct session *s, uint8_t seq, uint16_t code, const char *state,
                           const char *msg)
{
    struct proto_ok ok = {.status = PROTO_SERVER_STATUS_AUTOCOMMIT};
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

/* ---------- transaction pooling ---------- */

static void pin(struct session *s, const char *why)
{
    s->pinned = true;
    s->b->db_known = false; /* the client may change it from now on */
    STAT_INC(s->w->st.sessions_pinned);
    struct log_ctx c;
    log_debug("session_pinned", "%s reason=\"%s\"", ctx(s, &c), why);
}

/* The text of a COM_QUERY or COM_STMT_PREPARE (after its command byte), from the packet whose
 * first head_len bytes are head (len in all), its length in *text_len. Where only the head was
 * kept, the text is read in the receive buffer when it lies whole there (it ends there: the
 * framer stopped just past it); NULL where it cannot be read, which callers take for a yes. */
static const uint8_t *command_text(const struct session *s, const uint8_t *head, size_t head_len,
                                   uint64_t len, size_t *text_len)
{
    if (head_len < len) {
        if (len >= PROTO_MAX_PAYLOAD || s->in.scan < len)
            return NULL;
        head = s->in.p + s->in.scan - len;
        head_len = (size_t)len;
    }
    *text_len = head_len - 1;
    return head + 1;
}

/* Transaction pooling: whether this command may leave state the server does not report. */
static bool command_pins(const struct session *s, const uint8_t *head, size_t head_len,
                         uint64_t len)
{
    const uint8_t *text;
    size_t n;
    switch (head[0]) {
    case PROTO_COM_STMT_PREPARE:
    case PROTO_COM_SET_OPTION:
    case PROTO_COM_INIT_DB: /* reported too, but the database is what binds check first */
        return true;
    case PROTO_COM_QUERY:
        text = command_text(s, head, head_len, len, &n);
        return !text || proto_query_leaves_state(text, n, s->w->routines);
    default:
        return false;
    }
}

/* Session pooling: whether this command may change the connection's current database, which
 * the next session's bind would then have to set again (a prepared statement's text is read
 * when it is prepared: the database is only checked at the next bind). */
static bool command_may_change_db(const struct session *s, const uint8_t *head, size_t head_len,
                                  uint64_t len)
{
    const uint8_t *text;
    size_t n;
    switch (head[0]) {
    case PROTO_COM_INIT_DB:
        return true;
    case PROTO_COM_QUERY:
    case PROTO_COM_STMT_PREPARE:
        text = command_text(s, head, head_len, len, &n);
        return !text || proto_query_may_change_db(text, n);
    default:
        return false;
    }
}

/* Whether the next command in s->in needs a backend (not when its header is incomplete). */
static bool needs_backend(const struct session *s)
{
    const uint8_t *p = s->in.p + s->in.scan;
    size_t avail = s->in.len - s->in.scan;
    if (avail < PROTO_HEADER_LEN + 1)
        return true;
    struct proto_phys ph;
    struct proto_kill k;
    switch (p[PROTO_HEADER_LEN]) {
    case PROTO_COM_QUIT:
    case PROTO_COM_CHANGE_USER:
    case PROTO_COM_PING:
    case PROTO_COM_RESET_CONNECTION:
    case PROTO_COM_PROCESS_KILL:
        return false;
    case PROTO_COM_QUERY: /* a KILL, whole in the buffer, is answered by ringsql (on_kill) */
        /* (An empty packet's "command" byte is the next packet's: it has none.) */
        return proto_phys_read(p, avail, &ph, NULL) != 0 || ph.payload_len == 0 ||
               proto_kill_parse(p + PROTO_HEADER_LEN + 1, ph.payload_len - 1, &k) ==
                   PROTO_KILL_NONE;
    default:
        return true;
    }
}

/* The command at s->in.scan, not forwarded, gets an ERR and the session goes on, when the
 * command lies whole in the buffer (else the session ends with the ERR). */
static void answer_held_command(struct session *s, uint16_t code, const char *state,
                                const char *msg)
{
    s->query_killed = false; /* whatever the answer, the command is over */
    struct proto_phys ph;
    if (proto_phys_read(s->in.p + s->in.scan, s->in.len - s->in.scan, &ph, NULL) != 0 ||
        ph.payload_len >= PROTO_MAX_PAYLOAD) {
        reject(s, code, state, msg);
        return;
    }
    s->in.scan += (uint32_t)ph.span;
    s->in.sent = s->in.scan;
    answer_command(s, ph.seq, code, state, msg);
}

/* No connection for the command at s->in.scan: ERR 1040, or 1429 when the backend is down. */
static void refuse_for_no_backend(struct session *s)
{
    char msg[640];
    const char *state;
    uint16_t code = no_backend_error(s, s->user, msg, sizeof msg, &state);
    answer_held_command(s, code, state, msg);
}

/* The command in s->in has a backend now: apply the client's database, character set and
 * options where they differ (bind_next), then forward it. */
static void bind_taken(struct session *s)
{
    /* An ERR from binding (say, the database was dropped) answers the command. */
    s->seq =
        s->in.len - s->in.scan >= PROTO_HEADER_LEN ? proto_seq_next(s->in.p[s->in.scan + 3]) : 1;
    s->touched = true;
    s->bind_for_cmd = true;
    s->bind = BIND_RESET;
    set_state(s, SS_BIND);
    bind_next(s);
}

/* Transaction pooling, no free connection: queues the session for one (FIFO per worker) for
 * at most timeouts.pool_wait. False (and nothing done) with the backend down or no wait
 * configured. */
static bool wait_for_backend(struct session *s)
{
    struct worker *w = s->w;
    uint64_t ms = w->cfg->timeouts.pool_wait_ms;
    char msg[640];
    if (ms == 0 || backend_down_msg(w, msg, sizeof msg))
        return false;
    deadline_push(&w->pool_waiters, &s->wait, w->now_ms + ms);
    set_state(s, SS_WAIT);
    struct log_ctx c;
    log_debug("session_waits", "%s pool_wait_ms=%llu", ctx(s, &c), (unsigned long long)ms);
    s->inflight++;
    worker_timeout(w, &s->wait_ts, ms, op_tag(s, OP_WAIT_TIMEOUT));
    return true;
}

/* A command while no backend is bound: take one, or wait for one, or refuse it. */
static void bind_for_command(struct session *s)
{
    if (take_backend(s, s->user)) {
        bind_taken(s);
        return;
    }
    (void)connection_in_sight(s->w, s->user); /* grows the shard, if below its size */
    if (!wait_for_backend(s))
        refuse_for_no_backend(s);
}

/* The wait is over: with a connection (s->b), or without one (refused: 1040 or 1429; a
 * login ends there, a command's session goes on). */
static void end_wait(struct session *s)
{
    bool login = s->login_wait;
    s->login_wait = false;
    stop_waiting(s);
    if (s->b)
        login ? bind_for_login(s) : bind_taken(s);
    else if (login)
        reject_no_backend(s, s->user);
    else
        refuse_for_no_backend(s);
}

void session_pool_ready(struct worker *w)
{
    if (!w->pool_waiters.head || w->pool_waking)
        return; /* nobody waits (the usual case, on every connection given back) */
    w->pool_waking = true;
    /* From the head again after each session served: serving one may free or take others. */
    char msg[640];
    bool served = true;
    while (served) {
        served = false;
        for (struct deadline *d = w->pool_waiters.head; d && !served; d = d->next) {
            struct session *s = (struct session *)((char *)d - offsetof(struct session, wait));
            if (take_backend(s, s->user) || backend_down_msg(w, msg, sizeof msg)) {
                end_wait(s);
                served = true;
            }
        }
    }
    w->pool_waking = false;
}

void session_on_wait_timeout(struct session *s, int res)
{
    s->inflight--;
    if (s->state == SS_CLOSED) {
        maybe_free(s);
        return;
    }
    /* Removed once a connection came; or a late one from an earlier wait than this one. */
    if (res != -ETIME || s->state != SS_WAIT || s->w->now_ms + 1 < s->wait.at_ms)
        return;
    STAT_INC(s->w->st.timeouts[TIMEOUT_POOL_WAIT]);
    struct log_ctx c;
    log_info("client_timeout",
             "%s state=wait timeout_ms=%llu error=\"timeouts.pool_wait passed "
             "without a free connection\"",
             ctx(s, &c), (unsigned long long)s->w->cfg->timeouts.pool_wait_ms);
    end_wait(s);
}

/* After a command: a transaction-pooled session that left nothing on its backend gives it
 * back as it is (nothing to reset), between transactions only. */
static void release_if_free(struct session *s)
{
    struct backend *b = s->b;
    if (!s->txn || s->pinned || s->diag_held || !b || b->in.held || b->send_busy ||
        b->kill_pending || !proto_tracker_idle(&b->tr))
        return;
    uint16_t st = proto_tracker_status(&b->tr);
    if ((st & (PROTO_SERVER_STATUS_IN_TRANS | PROTO_SERVER_MORE_RESULTS_EXISTS |
               PROTO_SERVER_STATUS_CURSOR_EXISTS)) ||
        !(st & PROTO_SERVER_STATUS_AUTOCOMMIT))
        return;
    if (b->diag_dirty) {
        /* Its diagnostics area may still hold this session's warnings or errors (a statement
         * that uses no table leaves it as it was): reset before another session reads it. */
        s->b = NULL;
        backend_release(b, true);
        return;
    }
    give_back_untouched(s);
}

/* ---------- KILL (core/conn/kill.c carries it between workers) ---------- */

static struct session *find_session(struct worker *w, uint64_t id)
{
    for (struct session *s = w->live_sessions; s; s = s->next_live)
        if (s->id == id)
            return s;
    return NULL;
}

/* The command under way on t's connection is killed on the server, which is told from a
 * connection of its own; meanwhile t's connection goes to no one else. */
static void kill_running_command(struct session *t, bool query_only)
{
    struct backend *b = t->b;
    if (!b || b->kill_pending || !(t->state == SS_FORWARD || t->state == SS_INFILE) ||
        b->pc.shard->retired)
        return;
    b->kill_pending = true;
    kill_backend(t->w, t->id, b->shard_idx, b->server_conn_id, query_only);
}

int session_kill(struct worker *w, uint64_t id, uint32_t user, uint32_t gen, bool query_only,
                 uint64_t killer)
{
    struct session *t = find_session(w, id);
    if (!t || t->state == SS_GREETING || t->state == SS_LOGIN || t->state == SS_AUTH_SWITCH ||
        t->state == SS_REJECT || t->state == SS_CLOSED)
        return PROTO_ER_NO_SUCH_THREAD;
    if (gen != w->gen || t->user != user)
        return PROTO_ER_KILL_DENIED; /* as the server: only one's own user's threads */
    struct log_ctx c;
    log_info("session_killed", "%s by_session=%llu query_only=%d", ctx(t, &c),
             (unsigned long long)killer, query_only);
    if ((t->state == SS_WAIT && !t->login_wait) || (t->state == SS_BIND && t->bind_for_cmd))
        t->query_killed = true; /* not on the server yet: answered 1317 once bound */
    kill_running_command(t, query_only);
    if (!query_only && t->id != killer)
        close_session(t, false, "KILL CONNECTION");
    return 0;
}

static void answer_kill(struct session *s, uint8_t seq, uint64_t id, int code)
{
    char msg[64];
    if (code == PROTO_ER_NO_SUCH_THREAD)
        snprintf(msg, sizeof msg, "Unknown thread id: %llu", (unsigned long long)id);
    else if (code == PROTO_ER_KILL_DENIED)
        snprintf(msg, sizeof msg, "You are not owner of thread %llu", (unsigned long long)id);
    else
        snprintf(msg, sizeof msg, "KILL could not be sent");
    answer_command(s, seq, (uint16_t)code, "HY000", code ? msg : NULL);
}

/* A client's KILL [QUERY] id (a ringsql session id): answered here once the verdict is known,
 * never forwarded (the server would read id as one of its own threads). */
static void on_kill(struct session *s, uint8_t seq, uint32_t id, bool query_only)
{
    s->in.sent = s->in.scan;
    s->kill_id = id;
    int code = session_id_worker(id) == s->w->id
                   ? session_kill(s->w, id, s->user, s->w->gen, query_only, s->id)
                   : kill_ask_owner(s->w, session_id_worker(id), s->id, s->user, id, query_only);
    if (code == KILL_PENDING) {
        s->kill_wait = true;
        s->cmd_seq = seq;
        s->expect_response = true;
        s->response_done = false;
        s->resp_started = false;
        set_state(s, SS_FORWARD); /* settles once session_kill_answered() answers */
        return;
    }
    if (code == 0 && !query_only && id == s->id) {
        close_session(s, true, "KILL of its own connection");
        return;
    }
    answer_kill(s, seq, id, code);
}

void session_kill_answered(struct worker *w, uint64_t killer, uint16_t code)
{
    struct session *s = find_session(w, killer);
    if (!s || !s->kill_wait || s->state != SS_FORWARD)
        return;
    s->kill_wait = false;
    s->expect_response = false;
    answer_kill(s, s->cmd_seq, s->kill_id, code);
}

void session_backend_killed(struct worker *w, uint64_t id, uint32_t server_conn)
{
    struct session *t = find_session(w, id);
    if (!t || !t->b || t->b->server_conn_id != server_conn)
        return; /* gone: its connection was discarded, not pooled */
    t->b->kill_pending = false;
    if (t->state == SS_IDLE)
        release_if_free(t);
}

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
    if (!s->response_done && !s->hup_watched) {
        /* A response longer than one buffer: ringsql stops reading the client while it streams,
         * and a client gone meanwhile with a full window would hold the backend until its
         * kernel gives up (tcp_fin_timeout). Watched once per session, from the first one. */
        s->hup_watched = true;
        s->inflight++;
        worker_watch_hup(s->w, s->fd, op_tag(s, OP_CLIENT_HUP));
    }
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
        if (!whole || len != 5)
            return -EPROTO;
        on_kill(s, seq,
                (uint32_t)head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 |
                    (uint32_t)head[4] << 24,
                false);
        return 1;
    case PROTO_COM_QUERY: {
        struct proto_kill k;
        enum proto_kill_kind kind =
            whole ? proto_kill_parse(head + 1, head_len - 1, &k) : PROTO_KILL_NONE;
        if (kind == PROTO_KILL_ONE) {
            on_kill(s, seq, k.id, k.query_only);
            return 1;
        }
        if (kind == PROTO_KILL_OTHER) {
            s->in.sent = s->in.scan;
            answer_command(s, seq, PROTO_ER_NOT_SUPPORTED_YET, "42000",
                           "ringsql answers KILL [QUERY | CONNECTION] <id> alone, with the id "
                           "of one of its own sessions; KILL USER, KILL QUERY ID and KILL among "
                           "other statements are not forwarded");
            return 1;
        }
        break;
    }
    default:
        break;
    }
    if (!b) {
        /* Transaction pooling between transactions: COM_PING, COM_RESET_CONNECTION (see
         * needs_backend()) have nothing to ask a backend. */
        if (!whole)
            return -EPROTO;
        s->in.sent = s->in.scan;
        answer_command(s, seq, 0, NULL, NULL);
        return 1;
    }
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
        backend_session_reset(b);
    xlat_command(s, head, head_len, seq);
    s->cmd_reads_diag = s->txn && head[0] == PROTO_COM_QUERY &&
                        proto_query_reads_diagnostics(head + 1, head_len - 1);
    if (s->txn && !s->pinned && command_pins(s, head, head_len, len))
        pin(s, "a statement that may leave state the server does not report");
    if (!s->txn && b->db_known && command_may_change_db(s, head, head_len, len))
        b->db_known = false; /* transaction pooling learns it from the server (and pins) */
    STAT_INC(s->w->st.packets_c2b);
    STAT_INC(s->w->st.commands[head[0] < STAT_COMMANDS ? head[0] : STAT_COMMANDS - 1]);
    s->expect_response = v != PROTO_TRACK_DONE;
    s->response_done = false;
    s->resp_started = false;
    s->cmd_seq = seq;
    set_state(s, SS_FORWARD);
    return 1;
}

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
    if (s->state == SS_FORWARD && s->expect_response)
        return; /* the response is on its way */
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
    if (s->txn && !s->b && s->state == SS_IDLE && needs_backend(s)) {
        bind_for_command(s);
        return;
    }
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
static int track_response(struct session *s, const uint8_t *head, size_t head_len)
{
    struct backend *b = s->b;
    STAT_INC(s->w->st.packets_b2c);
    int v = proto_tracker_feed(&b->tr, head, head_len);
    if (v < 0)
        return v;
    switch (v) {
    case PROTO_TRACK_DONE:
        s->response_done = true;
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
    (void)len;
    (void)seq;
    return track_response(ctx, head, head_len);
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
    case PROTO_COM_STMT_EXECUTE:
        s->exec_stmt = has_id ? le32(head + 1) : 0;
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
    int v = track_response(s, p, len);
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

/* The linked timeout cancelled the client's receive: say why (where the protocol leaves room
 * for it) and close. */
static void on_client_timeout(struct session *s)
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

/* SS_LOST: the client speaks after its backend connection died; COM_QUIT ends quietly,
 * anything else gets ERR 1927 (2013-style) naming the backend. */
static void on_lost_command(struct session *s)
{
    const uint8_t *p = s->in.p;
    bool quit = s->in.len >= PROTO_HEADER_LEN + 1 && p[PROTO_HEADER_LEN] == PROTO_COM_QUIT;
    uint8_t seq = s->in.len >= PROTO_HEADER_LEN ? p[3] : 0;
    worker_buf_release(s->w, &s->in);
    if (quit) {
        close_session(s, true, "client quit");
        return;
    }
    s->seq = proto_seq_next(seq);
    reject(s, PROTO_ER_CONNECTION_KILLED, "70100", s->out_lost);
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
            worker_cancel(w, op_tag(s, OP_CLIENT_RECV));
        }
        if (l->head && l->head->at_ms < next)
            next = l->head->at_ms;
    }
    if (next != UINT64_MAX)
        worker_timer_need(w, next);
}

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
        close_session(s, true, res == 0 ? "client closed" : "error");
        return;
    }
    s->in = rb;
    switch (s->state) {
    case SS_LOST:
        on_lost_command(s);
        return;
    case SS_LOGIN:
    case SS_AUTH_SWITCH: {
        int rc = framer_walk(&s->fr, &s->in, login_packet, s);
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
    switch (s->state) {
    case SS_REJECT:
        close_session(s, true, "rejected");
        return;
    default:
        settle(s); /* an ERR ringsql answered a command with */
        return;
    }
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
    log_info("client_gone", "%s state=%s error=\"client hung up while its response streamed\"",
             ctx(s, &c), state_names[s->state]);
    close_session(s, false, "client hung up mid-response");
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
        /* The server spoke unasked (it is shutting down, or killed the connection). */
        session_on_backend_failed(s);
        return;
    }
}

void session_on_backend_failed(struct session *s)
{
    struct backend *b = s->b;
    if (!b) {
        /* A late completion after the failure was handled (an ERR 1927 on its way). */
        if (s->state != SS_REJECT && s->state != SS_LOST)
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
    if (s->state == SS_IDLE) {
        snprintf(s->out_lost, sizeof s->out_lost,
                 "Lost connection to backend '%.64s' (server connection %u closed while this "
                 "client was idle); reconnect",
                 backend, conn);
        set_state(s, SS_LOST);
        arm_client_recv(s);
        return;
    }
    close_session(s, false, "backend connection failed");
}

void session_buf_ready(struct session *s)
{
    arm_client_recv(s);
}
