/* session_bind: a connection for a session, and the client's settings applied on it. */
#include "core/conn/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base/log.h"
#include "core/base/post.h"
#include "core/conn/backend.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/response.h"
#include "protocol/xlat.h"

static void bind_next(struct session *s);
static void answer_held_err(struct session *s);
static void answer_held_command(struct session *s, uint16_t code, const char *state,
                                const char *msg);

/* Responses go to the client byte for byte when it reads the backend's layout, else through
 * xlat. A client can only have negotiated what xlat handles (offered_caps); a backend whose
 * layout it could not rewrite (another server's capabilities) refuses the login. */
bool layout_known(struct session *s, uint64_t backend_caps)
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

/* The login has its backend: check the client can read it, then apply the client's database,
 * options and character set (bind_next) and answer OK. */
void bind_for_login(struct session *s)
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

void send_login_ok(struct session *s)
{
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
    /* CLIENT_COMPRESS: the client compresses from its next packet on, so the receive starts
     * once compression is set up under it (start_compression, when this OK is out). */
    s->compress_next = (s->caps & PROTO_CLIENT_COMPRESS) && !s->compressed;
    if ((s->in.held && s->in.scan < s->in.len) || s->compress_next)
        send_own(s); /* commands pipelined behind a COM_CHANGE_USER: served once it is sent */
    else
        send_own_then_recv(s);
}

static void bind_next(struct session *s)
{
    struct backend *b = s->b;
    int rc = 0;
    for (;;) {
        switch (s->bind) {
        case BIND_RESET:
            s->bind = BIND_CLEAR_DB;
            if (!s->bind_for_cmd && b->pc.shard->server_user) {
                /* A server user's login: COM_CHANGE_USER as it, so that the server reads its
                 * account afresh (privileges granted or revoked, the account dropped) as for a
                 * new connection; it resets the session and clears the database too. */
                s->reset_first = false;
                s->bind = BIND_MULTI;
                rc = backend_send_change_user(b);
                goto sent;
            }
            /* COM_CHANGE_USER on the same backend; a COM_CHANGE_USER below resets too. */
            if (s->client_reset || backend_globals_stale(b) ||
                (s->reset_first && (s->db_len > 0 || backend_db_is(b, NULL, 0)))) {
                s->reset_first = false;
                rc = backend_send_cmd(b, PROTO_COM_RESET_CONNECTION, NULL, 0);
                goto sent;
            }
            break;
        case BIND_CLEAR_DB:
            s->bind = BIND_MULTI;
            s->reset_first = false;
            /* A client's COM_RESET_CONNECTION keeps its current database. */
            if (s->client_reset || s->db_len > 0 || backend_db_is(b, NULL, 0))
                break;
            /* COM_RESET_CONNECTION kept an earlier client's database: clear it. */
            rc = backend_send_change_user(b);
            goto sent;
        case BIND_MULTI: {
            s->bind = BIND_CHARSET;
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
            s->bind = BIND_DB;
            if (s->charset != 0 && (!b->charset_known || s->charset != b->charset)) {
                char q[200];
                int n = charset_query(s->charset, q, sizeof q);
                b->charset = s->charset;
                b->charset_known = true;
                rc = backend_send_cmd(b, PROTO_COM_QUERY, q, (size_t)n);
                goto sent;
            }
            break;
        case BIND_DB:
            s->bind = BIND_TRACK;
            if (s->client_reset || s->db_len == 0 || backend_db_is(b, s->db, s->db_len))
                break;
            b->db_known = false; /* until the server says OK */
            s->db_sent = true;
            rc = backend_send_cmd(b, PROTO_COM_INIT_DB, s->db, s->db_len);
            goto sent;
        case BIND_TRACK:
            s->bind = BIND_INSERT_ID;
            if (s->db_sent) {
                s->db_sent = false;
                backend_set_db(b, s->db, s->db_len);
            }
            if (!b->tracking) {
                /* The server then flags every OK that changed the session (SET, USE,
                 * temporary tables, PREPARE, ...): such a session keeps its backend. */
                static const char q[] = "SET SESSION session_track_state_change=1";
                b->tracking = true;
                rc = backend_send_cmd(b, PROTO_COM_QUERY, q, sizeof q - 1);
                goto sent;
            }
            break;
        case BIND_INSERT_ID:
            s->bind = BIND_STMT;
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
        case BIND_STMT:
            s->bind = BIND_DONE;
            if (s->bind_for_cmd && s->txn) {
                rc = stmt_step_send(s);
                if (rc != 0) {
                    rc = rc < 0 ? rc : 0;
                    goto sent;
                }
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
                s->up->command_bound(s);
                return;
            }
            deadline_unlink(&s->w->deadlines[s->dl_kind], &s->dl);
            s->client_reset = false;
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
    if (err.code == PROTO_ER_MUST_CHANGE_PASSWORD && !s->bind_for_cmd)
        return 1; /* a login whose password expired: the server's sandbox answers the client's
                   * statements then, as on a direct connection, not its login */
    ssize_t n = proto_build_err(s->out, sizeof s->out, s->seq, s->caps, err.code, err.sqlstate,
                                (const char *)err.message.ptr, err.message.len);
    if (n < 0)
        return (int)n;
    s->out_len = (uint32_t)n;
    return 2;
}

void bind_data(struct session *s)
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
    if (s->step_prepare || s->bind == BIND_DONE) {
        stmt_step_done(s, rc == 1);
        if (rc == 2) {
            /* The statement could not be prepared again (a table dropped...): its command
             * gets the server's ERR, and the session goes on. */
            answer_held_err(s);
            return;
        }
    }
    if (rc == 2) {
        /* The backend refused (unknown database...): the client gets its ERR; the backend
         * is idle and goes back through a reset, but after a failed COM_CHANGE_USER (a
         * server user's account locked or dropped), which leaves it logged in as no one:
         * the server answers anything but a login with "Unknown command" then. */
        struct log_ctx c;
        log_info("session_rejected",
                 "%s code=%u error=\"the backend refused the client's "
                 "database or settings\"",
                 ctx(s, &c), b->tr.error_code);
        unbind(s, b->tr.command != PROTO_COM_CHANGE_USER);
        set_state(s, SS_REJECT);
        send_own(s);
        return;
    }
    bind_next(s);
}

/* A client's COM_RESET_CONNECTION (s->in.sent past it, seq its sequence id), on the backend
 * it holds: ringsql resets it and applies the client's own character set again (a server
 * restores the login's; the pool's would be another), and keeps the current database, as a
 * server does. The OK answers the command; a transaction-pooled session is free again. */
void reset_for_client(struct session *s, uint8_t seq)
{
    s->seq = proto_seq_next(seq);
    s->client_reset = true;
    s->state_left = false;
    s->sha2_fast = false;
    s->pinned = false;
    s->diag_held = false;
    s->last_insert_id = 0;
    stmt_meta_clear(&s->meta);
    stmt_session_clear(s);
    s->bind = BIND_RESET;
    set_state(s, SS_BIND);
    bind_next(s);
}

/* ---------- transaction pooling: a connection per command, and waiting for one ---------- */

/* The command at s->in.scan, not forwarded, gets an ERR and the session goes on, when the
 * command lies whole in the buffer (else the session ends with the ERR). */
static void answer_held_command(struct session *s, uint16_t code, const char *state,
                                const char *msg)
{
    s->query_killed = false; /* whatever the answer, the command is over */
    s->facts_at = NULL;
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

/* The command at s->in.scan is answered with the ERR a bind step got (in s->out). */
static void answer_held_err(struct session *s)
{
    struct proto_phys ph;
    if (proto_phys_read(s->in.p + s->in.scan, s->in.len - s->in.scan, &ph, NULL) != 0) {
        close_session(s, false, "a statement command could not be answered");
        return;
    }
    s->bind_for_cmd = false;
    set_state(s, SS_IDLE);
    s->in.scan += (uint32_t)ph.span;
    s->in.sent = s->in.scan;
    send_own(s);
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

void bind_stmt_first(struct session *s)
{
    s->seq =
        s->in.len - s->in.scan >= PROTO_HEADER_LEN ? proto_seq_next(s->in.p[s->in.scan + 3]) : 1;
    s->bind_for_cmd = true;
    s->bind = BIND_STMT;
    set_state(s, SS_BIND);
    bind_next(s);
}

/* Transaction pooling, no free connection: queues the session for one (FIFO per worker) for
 * at most timeouts.pool_wait. False (and nothing done) with the backend down or no wait
 * configured. */
bool wait_for_backend(struct session *s)
{
    struct worker *w = s->w;
    uint64_t ms = w->cfg->timeouts.pool_wait_ms;
    char msg[640];
    if (ms == 0 || backend_down_msg(w, s->target, msg, sizeof msg))
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
void bind_for_command(struct session *s)
{
    if (s->user_gone) {
        answer_held_command(s, PROTO_ER_ACCESS_DENIED, "28000",
                            "this session's user was removed from ringsql's config; log in "
                            "again");
        return;
    }
    if (s->w->cfg->routes[s->route].policy == CFG_POLICY_SPLIT)
        s->target = command_target(s);
    if (take_backend(s, s->user)) {
        bind_taken(s);
        return;
    }
    (void)connection_in_sight(s->w, s->user, s->target); /* grows the shard, if below its size */
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

void session_grow_refused(struct worker *w, uint32_t user, uint16_t code, const char *state,
                          const char *msg)
{
    for (struct deadline *d = w->pool_waiters.head, *next; d; d = next) {
        next = d->next;
        struct session *s = (struct session *)((char *)d - offsetof(struct session, wait));
        if (s->user != user)
            continue;
        bool login = s->login_wait;
        s->login_wait = false;
        stop_waiting(s);
        if (login)
            reject(s, code, state, msg);
        else
            answer_held_command(s, code, state, msg);
    }
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
            if (take_backend(s, s->user) || backend_down_msg(w, s->target, msg, sizeof msg)) {
                end_wait(s);
                served = true;
            } else if (w->users[s->user].cfg->from_server) {
                /* A connection given back may be an idle one to close for it (make_room). */
                (void)connection_in_sight(w, s->user, s->target);
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

/* The credentials are right: a connection of the user's pool is taken (or waited for), the
 * session's database and character set applied, and the OK sent. */
void login_ok(struct session *s)
{
    uint32_t user = s->user;
    s->user_gone = false;
    if (s->cu_undo) {
        /* A COM_CHANGE_USER's: the backend is reset or swapped, its statements are gone. */
        free(s->cu_undo);
        s->cu_undo = NULL;
        stmt_meta_clear(&s->meta);
        stmt_session_clear(s);
    }
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
        if (!s->b && s->db_len == 0 && !s->w->users[user].cfg->from_server) {
            /* Nothing to apply and nothing to check on a backend: bound at the first command
             * (a server user's login is checked there, see BIND_RESET). */
            if (layout_known(s, worker_known_backend(s->w)->caps))
                send_login_ok(s);
            return;
        }
    }
    if (s->w->cfg->routes[s->route].policy == CFG_POLICY_SPLIT)
        s->target = TARGET_PRIMARY; /* a login's database is checked where writes go */
    if (!s->b && !take_backend(s, user)) {
        (void)connection_in_sight(s->w, user, s->target); /* grows the shard for the next one */
        /* A server user's pool starts empty and grows as its clients come: they wait for it,
         * in session pooling too. */
        if ((s->txn || s->w->users[user].cfg->from_server) && wait_for_backend(s)) {
            s->login_wait = true;
            return;
        }
        reject_no_backend(s, user);
        return;
    }
    bind_for_login(s);
}
