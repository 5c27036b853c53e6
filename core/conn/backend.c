/* backend: a pooled backend connection's own life on its worker — idle in the pool with a
 * receive armed (so a server that hangs up is noticed at once, at no buffer cost), bound to a
 * session, reset on return, or discarded and replaced by the maintenance thread.
 *
 *   B_POOLED --pool_take--> B_BOUND --backend_release(clean)--> B_RESETTING --OK--> B_POOLED
 *   B_POOLED --health check: stale or long idle--> B_HANDOFF --receive cancelled--> socket to
 *            the maintenance thread, object B_DEAD (a pinged one comes back as a new object)
 *   any state --error, hang-up, dirty release, reset failure--> B_DEAD (freed when quiet) */
#include "core/conn/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/post.h"
#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/io/io.h"
#include "core/worker/worker.h"
#include "protocol/auth.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/lenenc.h"
#include "protocol/packet.h"

struct backend *backend_new(struct worker *w, struct msg *m)
{
    struct backend *b = aligned_alloc(64, (sizeof(struct backend) + 63) / 64 * 64);
    if (!b)
        return NULL;
    memset(b, 0, offsetof(struct backend, head));
    if (m->ssl && io_tls_attach(w->io, m->fd, m->ssl, NULL, 0) < 0) {
        free(b);
        return NULL;
    }
    m->ssl = NULL; /* the io's now */
    b->w = w;
    b->fd = m->fd;
    b->shard_idx = m->shard;
    b->server_conn_id = m->server_conn_id;
    b->caps = m->caps;
    b->charset0 = m->charset;
    memcpy(b->scramble, m->scramble, sizeof b->scramble);
    b->multi_stmts = m->returning ? m->multi_stmts : true; /* maintenance connects with it */
    b->multi_known = true;
    b->globals_epoch = m->globals_epoch;
    /* Fresh from the maintenance thread's login: no database, the login character set. Back
     * from a health-check ping: whatever a client left, unknown here. */
    b->db_known = !m->returning;
    b->charset_known = !m->returning;
    b->charset = b->charset0;
    b->state = B_POOLED;
    b->fr.head = b->head;
    b->fr.head_cap = BACKEND_HEAD_CAP;
    proto_tracker_init(&b->tr, m->status);
    b->next_live = w->live_backends;
    b->prev_live = NULL;
    if (w->live_backends)
        w->live_backends->prev_live = b;
    w->live_backends = b;
    if (w->shards[m->shard].server_user)
        atomic_fetch_add(&w->proxy->server_conns, 1);
    if (m->returning)
        pool_shard_readd(&w->shards[m->shard], &b->pc, m->created_ms, m->idle_since_ms, w->now_ms);
    else
        pool_shard_add(&w->shards[m->shard], &b->pc, w->now_ms);
    backend_arm_recv(b);
    return b;
}

void backend_arm_recv(struct backend *b)
{
    if (b->recv_armed || b->in.held || b->buf_waiting || b->state == B_DEAD)
        return; /* a waiting one is armed by buffer_free (see arm_client_recv) */
    b->recv_armed = true;
    b->inflight++;
    worker_recv(b->w, b->fd, op_tag(b, OP_BACKEND_RECV));
}

static void unlink_live(struct backend *b)
{
    struct worker *w = b->w;
    if (b->prev_live)
        b->prev_live->next_live = b->next_live;
    else
        w->live_backends = b->next_live;
    if (b->next_live)
        b->next_live->prev_live = b->prev_live;
    b->next_live = b->prev_live = NULL;
}

/* Takes it off the worker's list of backends waiting for a receive buffer, if it is on it. */
static void leave_buf_waiters(struct backend *b)
{
    if (!b->buf_waiting)
        return;
    struct backend **pp = &b->w->backend_buf_waiters;
    while (*pp && *pp != b)
        pp = &(*pp)->buf_wait_next;
    if (*pp)
        *pp = b->buf_wait_next;
    b->buf_waiting = false;
}

void backend_maybe_free(struct backend *b)
{
    if (b->state != B_DEAD || b->inflight > 0 || b->buried)
        return;
    if (b->in.held)
        worker_buf_release(b->w, &b->in);
    if (b->xo) {
        worker_xbuf_put(b->w, b->xo);
        b->xo = NULL;
    }
    leave_buf_waiters(b);
    unlink_live(b);
    b->buried = true;
    b->next_live = b->w->grave_backends;
    b->w->grave_backends = b;
}

void backend_bury(struct worker *w)
{
    struct backend *b = w->grave_backends;
    w->grave_backends = NULL;
    while (b) {
        struct backend *next = b->next_live;
        if (b->fd >= 0) /* -1: handed over to the maintenance thread */
            worker_close_fd(w, b->fd);
        stmt_conn_clear(&b->stmts);
        free(b->cmd_big);
        free(b);
        b = next;
    }
}

/* The connection leaves its worker's pool (closed, or handed to the maintenance thread, from
 * which a pinged one comes back through backend_new): a server user's no longer counts
 * towards auth.max_connections. */
static void leaves_worker(struct backend *b)
{
    if (b->pc.shard && b->pc.shard->server_user)
        atomic_fetch_sub(&b->w->proxy->server_conns, 1);
}

void backend_discard(struct backend *b, const char *reason)
{
    if (b->state == B_DEAD)
        return;
    struct worker *w = b->w;
    struct pool_shard *sh = b->pc.shard; /* pool_remove() keeps it */
    log_info("backend_discarded", "worker=%u pool=%s server_conn=%u reason=\"%s\"", w->id, sh->name,
             b->server_conn_id, reason);
    STAT_INC(w->st.conns_discarded);
    pool_remove(&b->pc);
    /* One being handed over was counted in pending when it was to be replaced: recount. */
    bool replace = b->state != B_HANDOFF || b->handoff_replace;
    if (b->state == B_HANDOFF && b->handoff_replace && sh->pending > 0)
        sh->pending--;
    if (b->state != B_HANDOFF)
        leaves_worker(b);
    b->state = B_DEAD;
    b->sess = NULL;
    /* Wakes any receive or send still in flight; the last completion frees the object. */
    shutdown(b->fd, SHUT_RDWR);
    /* A replacement only while the shard is under its target (a reload may have lowered it,
     * or retired the shard: target 0), counting those already on their way; a server user's
     * pool grows on demand only (a connection the server killed stays gone, as directly). */
    if (!w->stopping && replace && !sh->server_user && pool_size(sh) + sh->pending < sh->target) {
        sh->pending++;
        post_backend_lost(w->proxy, w->id, b->shard_idx, w->gen);
    }
    backend_maybe_free(b);
}

/* What ringsql's own command is sent from. */
static const uint8_t *cmd_bytes(const struct backend *b)
{
    return b->cmd_big ? b->cmd_big : b->cmd;
}

/* Sends the n-byte packet ringsql built in b->cmd (or b->cmd_big). */
static void send_built(struct backend *b, ssize_t n)
{
    b->cmd_len = (uint32_t)n;
    b->cmd_sent = 0;
    b->send_busy = true;
    b->inflight++;
    worker_send(b->w, b->fd, cmd_bytes(b), b->cmd_len, op_tag(b, OP_BACKEND_SEND));
}

int backend_send_packets(struct backend *b, uint8_t *p, size_t len, uint8_t last_command)
{
    int rc = proto_tracker_begin(&b->tr, last_command, b->caps);
    if (rc < 0 || len > UINT32_MAX) {
        free(p);
        return rc < 0 ? rc : -EMSGSIZE;
    }
    free(b->cmd_big);
    b->cmd_big = p;
    send_built(b, (ssize_t)len);
    return 0;
}

/* The receive is no more: the socket goes to the maintenance thread with what it needs to
 * ping it and hand it back, and this object dies without closing it. */
static void hand_over_now(struct backend *b)
{
    struct worker *w = b->w;
    struct msg *m = calloc(1, sizeof *m);
    if (!m) {
        backend_discard(b, "out of memory during the health check");
        return;
    }
    m->kind = b->handoff;
    m->gen = b->handoff_gen; /* a reload since: the maintenance thread drops it */
    m->replace = b->handoff_replace;
    m->worker = w->id;
    m->shard = b->shard_idx;
    m->fd = b->fd;
    m->server_conn_id = b->server_conn_id;
    m->caps = b->caps;
    m->charset = b->charset0;
    m->status = proto_tracker_status(&b->tr);
    m->multi_stmts = b->multi_stmts;
    m->created_ms = b->pc.created_ms;
    m->globals_epoch = b->globals_epoch;
    m->idle_since_ms = b->pc.idle_since_ms;
    uint32_t bi = b->shard_idx / (uint32_t)w->cfg->nusers;
    snprintf(m->version, sizeof m->version, "%s", w->binfo[bi].version);
    if (io_tls_on(w->io, b->fd) && !(m->ssl = io_tls_detach(w->io, b->fd))) {
        free(m);
        backend_discard(b, "its TLS session could not be handed over");
        return;
    }
    worker_release_fd(w, b->fd);
    b->fd = -1;
    b->state = B_DEAD;
    post_to_maintenance(w->proxy, m);
    backend_maybe_free(b);
}

void backend_hand_over(struct backend *b, enum msg_kind kind, bool replace)
{
    if (b->state != B_POOLED)
        return;
    pool_remove(&b->pc);
    leaves_worker(b);
    /* A ping would hand back a connection whose prepared statements the new object does not
     * know: they would stay on the server, counted against max_prepared_stmt_count. */
    if (kind == MSG_CONN_PING && (b->stmts.n > 0 || b->stmts.nclosing > 0))
        kind = MSG_CONN_STALE;
    b->state = B_HANDOFF;
    b->handoff = kind;
    b->handoff_gen = b->w->gen;
    b->handoff_replace = replace;
    if (kind == MSG_CONN_STALE) {
        STAT_INC(b->w->st.conns_recycled_stale);
        log_info("backend_recycled", "worker=%u pool=%s server_conn=%u reason=\"stale\" replace=%s",
                 b->w->id, b->pc.shard->name, b->server_conn_id, replace ? "yes" : "no");
    }
    if (!b->recv_armed) {
        /* Waiting for a receive buffer: no receive to cancel. */
        leave_buf_waiters(b);
        hand_over_now(b);
        return;
    }
    /* Nobody else may read the socket while the worker's receive is armed on it. */
    worker_cancel(b->w, b->fd, op_tag(b, OP_BACKEND_RECV));
}

void backend_set_db(struct backend *b, const char *db, size_t len)
{
    b->db_known = len <= sizeof b->db;
    if (b->db_known) {
        if (len > 0)
            memcpy(b->db, db, len);
        b->db_len = (uint8_t)len;
    }
}

bool backend_db_is(const struct backend *b, const char *db, size_t len)
{
    return b->db_known && b->db_len == len && (len == 0 || memcmp(b->db, db, len) == 0);
}

bool backend_globals_stale(const struct backend *b)
{
    return b->globals_epoch !=
           atomic_load_explicit(&b->w->proxy->globals_epoch, memory_order_relaxed);
}

void backend_session_reset(struct backend *b)
{
    b->globals_epoch = atomic_load_explicit(&b->w->proxy->globals_epoch, memory_order_relaxed);
    b->insert_id_set = false;
    b->diag_dirty = false;
    b->charset = b->charset0;
    b->charset_known = true;
    b->tracking = false;
    stmt_conn_clear(&b->stmts); /* the server closed them */
}

int backend_send_cmd(struct backend *b, uint8_t command, const void *arg, size_t arg_len)
{
    struct proto_wr wr = proto_wr_init(b->cmd, sizeof b->cmd);
    size_t start = proto_wr_packet_begin(&wr);
    proto_wr_u8(&wr, command);
    if (arg_len > 0)
        proto_wr_mem(&wr, arg, arg_len);
    ssize_t n = proto_wr_packet_end(&wr, start, 0);
    if (n < 0)
        return (int)n;
    int rc = proto_tracker_begin(&b->tr, command, b->caps);
    if (rc < 0)
        return rc;
    if (command == PROTO_COM_RESET_CONNECTION)
        backend_session_reset(b);
    send_built(b, n);
    return 0;
}

/* The backend user's mysql_native_password answer to the connection's current scramble. */
static size_t native_answer(const struct backend *b, uint8_t out[PROTO_NATIVE_HASH_LEN])
{
    const struct cfg_user *u = &b->w->cfg->users[b->pc.shard->user];
    if (u->has_stage1) { /* a server user's: SHA1(password) is all ringsql has */
        proto_native_scramble_stage1(u->stage1, b->scramble, out);
        return PROTO_NATIVE_HASH_LEN;
    }
    const char *pw = u->backend_password ? u->backend_password : "";
    return proto_native_scramble(pw, strlen(pw), b->scramble, out);
}

int backend_send_change_user(struct backend *b)
{
    const struct cfg_user *u = &b->w->cfg->users[b->pc.shard->user];
    uint8_t auth[PROTO_NATIVE_HASH_LEN];
    size_t alen = native_answer(b, auth);
    struct proto_change_user cu = {
        .user = {(const uint8_t *)u->backend_user, strlen(u->backend_user)},
        .auth_response = {auth, alen},
        .charset = b->charset0,
        .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE)},
    };
    ssize_t n = proto_build_change_user(b->cmd, sizeof b->cmd, b->caps, &cu);
    if (n < 0)
        return (int)n;
    int rc = proto_tracker_begin(&b->tr, PROTO_COM_CHANGE_USER, b->caps);
    stmt_conn_clear(&b->stmts); /* the server closes them */
    if (rc < 0)
        return rc;
    backend_session_reset(b); /* and no database: */
    backend_set_db(b, NULL, 0);
    b->multi_known = false;
    send_built(b, n);
    return 0;
}

int backend_send_auth_switch_reply(struct backend *b, const uint8_t *p, size_t len, uint8_t seq)
{
    struct proto_bytes plugin, data;
    if (proto_auth_switch_parse(p, len, &plugin, &data) < 0 ||
        plugin.len != strlen(PROTO_PLUGIN_NATIVE) ||
        memcmp(plugin.ptr, PROTO_PLUGIN_NATIVE, plugin.len) != 0 || data.len < PROTO_SCRAMBLE_LEN)
        return -EPROTO;
    memcpy(b->scramble, data.ptr, PROTO_SCRAMBLE_LEN);
    uint8_t auth[PROTO_NATIVE_HASH_LEN];
    size_t alen = native_answer(b, auth);
    ssize_t n = proto_build_raw(b->cmd, sizeof b->cmd, proto_seq_next(seq), auth, alen);
    if (n < 0)
        return (int)n;
    int rc = proto_tracker_feed_client(&b->tr, auth, alen);
    if (rc != PROTO_TRACK_MORE)
        return rc < 0 ? rc : -EPROTO;
    send_built(b, n);
    return 0;
}

void backend_release(struct backend *b, bool idle_and_healthy)
{
    struct pool_end_state st = {.backend_idle = idle_and_healthy && !b->in.held && !b->send_busy &&
                                                proto_tracker_idle(&b->tr),
                                .healthy = idle_and_healthy};
    b->sess = NULL;
    if (b->w->stopping || b->pc.shard->retired || pool_return_verdict(&st) == POOL_DISCARD) {
        backend_discard(b, "session ended mid-response or broken");
        return;
    }
    b->state = B_RESETTING;
    framer_reset(&b->fr);
    if (backend_send_cmd(b, PROTO_COM_RESET_CONNECTION, NULL, 0) < 0) {
        backend_discard(b, "could not send COM_RESET_CONNECTION");
        return;
    }
    backend_arm_recv(b);
}

/* COM_RESET_CONNECTION's answer: OK puts the connection back on the available list. */
static int reset_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct backend *b = ctx;
    (void)seq;
    if (len != head_len)
        return -EPROTO;
    int v = proto_tracker_feed(&b->tr, head, head_len);
    if (v < 0)
        return v;
    if (v == PROTO_TRACK_DONE)
        return b->tr.error ? -EPROTO : 1;
    return v == PROTO_TRACK_MORE ? 0 : -EPROTO;
}

static enum backend_news reset_on_data(struct backend *b)
{
    int rc = framer_walk(&b->fr, &b->in, reset_packet, b);
    bool leftover = b->in.scan < b->in.len;
    worker_buf_release(b->w, &b->in);
    if (rc < 0 || leftover) {
        backend_discard(b, "COM_RESET_CONNECTION failed");
        return BACKEND_QUIET;
    }
    if (rc == 1 && pool_size(b->pc.shard) > b->pc.shard->target) {
        backend_discard(b, "pool.size lowered");
        return BACKEND_QUIET;
    }
    if (rc != 1) {
        backend_arm_recv(b);
        return BACKEND_QUIET;
    }
    struct worker *w = b->w;
    STAT_INC(w->st.conns_reset);
    b->state = B_POOLED;
    pool_return(&b->pc, w->now_ms);
    log_debug("backend_returned", "worker=%u pool=%s server_conn=%u", w->id, b->pc.shard->name,
              b->server_conn_id);
    backend_arm_recv(b);
    return BACKEND_POOLED;
}

enum backend_news backend_on_recv(struct backend *b, int res, unsigned flags)
{
    b->inflight--;
    b->recv_armed = false;
    struct rbuf rb;
    bool got = worker_buf_take(b->w, res, flags, &rb);
    switch (b->state) {
    case B_DEAD:
        if (got)
            worker_buf_release(b->w, &rb);
        backend_maybe_free(b);
        return BACKEND_QUIET;
    case B_BOUND:
        if (got)
            b->in = rb;
        return BACKEND_FOR_SESSION;
    case B_POOLED:
        if (got)
            worker_buf_release(b->w, &rb);
        if (res == -ENOBUFS) {
            worker_backend_buf_wait(b->w, b);
            return BACKEND_QUIET;
        }
        backend_discard(b, res == 0  ? "server closed an idle connection"
                           : res < 0 ? "receive failed on an idle connection"
                                     : "server sent data on an idle connection");
        return BACKEND_QUIET;
    case B_HANDOFF:
        if (got)
            worker_buf_release(b->w, &rb);
        if (res == -ECANCELED || res == -ENOBUFS) {
            hand_over_now(b);
            return BACKEND_QUIET;
        }
        /* It closed or spoke while being handed over: broken either way. */
        backend_discard(b, res == 0 ? "server closed an idle connection"
                                    : "idle connection failed during the health check");
        return BACKEND_QUIET;
    case B_RESETTING:
        if (res == -ENOBUFS) {
            worker_backend_buf_wait(b->w, b);
            return BACKEND_QUIET;
        }
        if (!got) {
            backend_discard(b, "connection lost during COM_RESET_CONNECTION");
            return BACKEND_QUIET;
        }
        b->in = rb;
        return reset_on_data(b);
    }
    return BACKEND_QUIET;
}

enum backend_news backend_on_send(struct backend *b, int res)
{
    b->inflight--;
    if (b->state == B_DEAD) {
        b->send_busy = false;
        backend_maybe_free(b);
        return BACKEND_QUIET;
    }
    if (b->cmd_len > 0) {
        /* ringsql's own command: finish it here, whoever drives the connection. */
        if (res <= 0) {
            b->send_busy = false;
            b->cmd_len = 0;
            free(b->cmd_big);
            b->cmd_big = NULL;
            if (b->state == B_BOUND)
                return BACKEND_FAILED;
            backend_discard(b, "send failed");
            return BACKEND_QUIET;
        }
        b->cmd_sent += (uint32_t)res;
        if (b->cmd_sent < b->cmd_len) {
            b->inflight++;
            worker_send(b->w, b->fd, cmd_bytes(b) + b->cmd_sent, b->cmd_len - b->cmd_sent,
                        op_tag(b, OP_BACKEND_SEND));
            return BACKEND_QUIET;
        }
        b->cmd_len = 0;
        b->send_busy = false;
        free(b->cmd_big);
        b->cmd_big = NULL;
        return BACKEND_QUIET;
    }
    b->send_busy = false;
    return BACKEND_QUIET;
}

enum backend_news backend_on_b2c_sent(struct backend *b, int res)
{
    (void)res;
    b->inflight--;
    if (b->state == B_DEAD) {
        backend_maybe_free(b);
        return BACKEND_QUIET;
    }
    return b->state == B_BOUND && b->sess ? BACKEND_FOR_SESSION : BACKEND_QUIET;
}
