/* The loop's news routed to the sessions and backend connections (see events.h). */
#include "core/conn/events.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/base/post.h"
#include "core/base/shared.h"
#include "core/conn/backend.h"
#include "core/conn/health.h"
#include "core/conn/session.h"
#include "core/conn/worker_reload.h"
#include "protocol/constants.h"
#include "protocol/name_set.h"

static void complete(struct worker *w, enum op op, void *ptr, int res, unsigned flags)
{
    switch (op) {
    case OP_CLIENT_RECV:
        session_on_client_recv(ptr, res, flags);
        break;
    case OP_CLIENT_SEND:
        session_on_client_send(ptr, res);
        break;
    case OP_BACKEND_RECV: {
        struct backend *b = ptr;
        enum backend_news news = backend_on_recv(b, res, flags);
        if (news == BACKEND_FOR_SESSION)
            session_on_backend_recv(b->sess, res, flags);
        else if (news == BACKEND_POOLED)
            session_pool_ready(w);
        break;
    }
    case OP_BACKEND_SEND: {
        struct backend *b = ptr;
        if (backend_on_send(b, res) == BACKEND_FAILED)
            session_on_backend_failed(b->sess);
        break;
    }
    case OP_C2B_SEND:
        session_on_c2b_sent(ptr, res);
        break;
    case OP_B2C_SEND: {
        struct backend *b = ptr;
        if (backend_on_b2c_sent(b, res) == BACKEND_FOR_SESSION)
            session_on_b2c_sent(b->sess, res);
        break;
    }
    case OP_WAIT_TIMEOUT:
        session_on_wait_timeout(ptr, res);
        break;
    case OP_CLIENT_HUP:
        session_on_client_hup(ptr, res);
        break;
    default:
        break; /* the loop's own */
    }
}

static void accepted(struct worker *w, int fd, uint32_t route)
{
    session_start(w, fd, route);
}

/* A connection the maintenance thread opened (or pinged and gave back) for shard m->shard. */
static void backend_arrived(struct worker *w, struct msg *m)
{
    if (m->gen != w->gen || m->shard >= w->nshards) {
        msg_conn_close(m); /* for an earlier config */
        return;
    }
    struct pool_shard *sh = &w->shards[m->shard];
    if (sh->pending > 0)
        sh->pending--;
    if (w->stopping || pool_size(sh) >= sh->target) {
        msg_conn_close(m); /* pool.size was lowered meanwhile */
        return;
    }
    uint32_t bi = m->shard / (uint32_t)w->cfg->nusers;
    struct worker_backend_info *info = &w->binfo[bi];
    if (!m->returning)
        STAT_INC(w->st.conns_received);
    if (!info->known) {
        info->known = true;
        info->caps = m->caps;
        snprintf(info->version, sizeof info->version, "%s", m->version);
    }
    if (!backend_new(w, m)) {
        msg_conn_close(m);
        sh->pending++;
        post_backend_lost(w->proxy, w->id, m->shard, w->gen);
    }
    session_pool_ready(w);
}

/* MSG_KILL, MSG_KILL_DONE, MSG_BACKEND_KILLED: a KILL's steps across workers (conn/kill.h). */
static void kill_step(struct worker *w, struct msg *m)
{
    switch (m->kind) {
    case MSG_KILL: {
        /* A user index means something only in the generation it was sent in. */
        int code = m->gen == w->gen
                       ? session_kill(w, m->session, m->user, m->gen, m->query_only, m->killer)
                       : PROTO_ER_KILL_DENIED;
        uint32_t back = m->worker;
        m->kind = MSG_KILL_DONE;
        m->worker = w->id;
        m->code = (uint16_t)code;
        msgq_push(&w->proxy->workers[back].inbox, m);
        return;
    }
    case MSG_KILL_DONE:
        session_kill_answered(w, m->killer, m->code);
        break;
    default:
        session_backend_killed(w, m->session, m->server_conn_id);
        break;
    }
    free(m);
}

static void message(struct worker *w, struct msg *m)
{
    switch (m->kind) {
    case MSG_BACKEND_NEW:
        backend_arrived(w, m);
        break;
    case MSG_HEALTH_CHECK:
        health_check(w);
        worker_sweep_retired(w);
        break;
    case MSG_BACKEND_STATE:
        if (m->gen == w->gen && m->backend < w->cfg->nbackends) {
            struct worker_backend_info *info = &w->binfo[m->backend];
            info->down = !m->up;
            snprintf(info->error, sizeof info->error, "%s", m->up ? "" : m->error);
            session_pool_ready(w); /* down: those waiting are told at once */
        }
        break;
    case MSG_BACKEND_ROLE:
        if (m->gen == w->gen && m->backend < w->cfg->nbackends) {
            struct worker_backend_info *info = &w->binfo[m->backend];
            info->primary = m->primary;
            info->readable = m->readable;
            if (m->demoted) /* a server that stopped taking writes: a fresh start there */
                health_close_idle(w, m->backend);
            session_pool_ready(w); /* those waiting for a primary or a replica may have one */
        }
        break;
    case MSG_RELOAD:
        worker_apply_cfg(w, m->cfg, m->gen, m->users_only);
        SSL_CTX_free(w->tls_ctx);
        w->tls_ctx = m->tls;
        break;
    case MSG_ROUTINES:
        name_set_unref(w->routines);
        w->routines = m->names;
        break;
    case MSG_KILL:
    case MSG_KILL_DONE:
    case MSG_BACKEND_KILLED:
        kill_step(w, m);
        return;
    case MSG_USER_READY:
        session_user_ready(w, m->lookup);
        msg_free(m);
        return;
    case MSG_GROW_REFUSED:
        if (m->gen == w->gen && m->shard < w->nshards) {
            struct pool_shard *sh = &w->shards[m->shard];
            sh->pending = sh->pending > m->count ? sh->pending - m->count : 0;
            session_grow_refused(w, sh->user, m->code, m->sqlstate, m->error);
        }
        break;
    default:
        break; /* for the maintenance thread only */
    }
    free(m);
}

/* One buffer came back: the first waiting backend receive goes again, else a session's (one
 * that arms nothing, closing meanwhile, does not use up the buffer's turn). */
static void buffer_free(struct worker *w)
{
    while (w->backend_buf_waiters) {
        struct backend *b = w->backend_buf_waiters;
        w->backend_buf_waiters = b->buf_wait_next;
        b->buf_waiting = false;
        backend_arm_recv(b);
        if (b->recv_armed)
            return;
    }
    while (w->buf_waiters) {
        struct buf_wait *bw = w->buf_waiters;
        w->buf_waiters = bw->next;
        bw->waiting = false;
        if (session_buf_ready(bw->s))
            return;
    }
}

static void submitted(struct worker *w)
{
    backend_bury(w);
    session_bury(w);
}

static void stopping(struct worker *w)
{
    session_shutdown_all(w);
    for (struct backend *b = w->live_backends, *next; b; b = next) {
        next = b->next_live;
        if (b->state == B_POOLED || b->state == B_RESETTING)
            backend_discard(b, "shutting down");
    }
}

static void stopped(struct worker *w)
{
    backend_bury(w);
    session_bury(w);
    session_free_all(w);
}

static void destroyed(struct worker *w)
{
    name_set_unref(w->routines);
    w->routines = NULL;
}

const struct worker_hooks conn_hooks = {
    .complete = complete,
    .accepted = accepted,
    .message = message,
    .buffer_free = buffer_free,
    .timer = session_deadlines_passed,
    .submitted = submitted,
    .stopping = stopping,
    .stopped = stopped,
    .destroyed = destroyed,
};
