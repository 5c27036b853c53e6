/* worker: the per-core event loop. See worker.h. */
#include "core/worker/worker.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/base/clock.h"
#include "core/conn/health.h"
#include "core/conn/kill.h"
#include "core/base/post.h"
#include "core/base/log.h"
#include "core/base/net.h"
#include "core/base/shared.h"
#include "core/io/io.h"
#include "core/conn/session.h"
#include "protocol/lenenc.h"
#include "protocol/name_set.h"

enum { LISTEN_BACKLOG = 1024 };

/* ---------- submissions: each is one completion, counted in inflight ---------- */

void worker_recv(struct worker *w, int fd, uint64_t tag)
{
    w->inflight++;
    io_recv(w->io, fd, tag);
}

void worker_send(struct worker *w, int fd, const void *p, size_t len, uint64_t tag)
{
    w->inflight++;
    io_send(w->io, fd, p, len, tag);
}

void worker_send_then_recv(struct worker *w, int fd, const void *p, size_t len, uint64_t send_tag,
                           uint64_t recv_tag)
{
    w->inflight++; /* the pair completes once */
    io_send_then_recv(w->io, fd, p, len, send_tag, recv_tag);
}

void worker_watch_hup(struct worker *w, int fd, uint64_t tag)
{
    w->inflight++;
    io_watch_hup(w->io, fd, tag);
}

void worker_timeout(struct worker *w, struct __kernel_timespec *ts, uint64_t ms, uint64_t tag)
{
    w->inflight++;
    io_timeout(w->io, ts, ms, tag);
}

void worker_close_fd(struct worker *w, int fd)
{
    io_forget(w->io, fd);
    close(fd);
}

void worker_release_fd(struct worker *w, int fd)
{
    io_forget(w->io, fd);
}

/* ---------- receive buffers ---------- */

bool worker_buf_take(struct worker *w, int res, unsigned cqe_flags, struct rbuf *rb)
{
    if (!(cqe_flags & IO_F_BUFFER)) {
        memset(rb, 0, sizeof *rb);
        return false;
    }
    uint16_t bid = (uint16_t)(cqe_flags >> IO_BUF_SHIFT);
    rb->bid = bid;
    rb->p = io_buf(w->io, bid);
    rb->len = res > 0 ? (uint32_t)res : 0;
    rb->scan = rb->sent = 0;
    rb->held = true;
    if (bid < w->nbufs)
        w->bufs_held++;
    return true;
}

void worker_buf_release(struct worker *w, struct rbuf *rb)
{
    if (!rb->held)
        return;
    io_buf_put(w->io, rb->bid);
    if (rb->bid < w->nbufs)
        w->bufs_held--;
    rb->held = false;
    rb->p = NULL;
    rb->len = rb->scan = rb->sent = 0;
    /* One buffer back: one waiting receive may go again. */
    if (w->backend_buf_waiters || w->buf_waiters)
        w->hooks->buffer_free(w);
    if (!w->backend_buf_waiters && !w->buf_waiters && STAT_GET(w->st.buf_starved_since_ms))
        STAT_SET(w->st.buf_starved_since_ms, 0);
}

/* A receive found every buffer held: /readyz fails once that lasts (metrics_ready). */
static void buf_starved(struct worker *w)
{
    STAT_INC(w->st.buf_waits);
    if (!STAT_GET(w->st.buf_starved_since_ms))
        STAT_SET(w->st.buf_starved_since_ms, w->now_ms ? w->now_ms : 1);
}

/* Free output buffers, linked through their first bytes. */
struct xbuf {
    struct xbuf *next;
};

uint8_t *worker_xbuf_take(struct worker *w)
{
    struct xbuf *x = w->free_xbufs;
    if (!x)
        return malloc(WORKER_XBUF_SIZE);
    w->free_xbufs = x->next;
    w->nfree_xbufs--;
    return (uint8_t *)x;
}

void worker_xbuf_put(struct worker *w, uint8_t *p)
{
    if (w->nfree_xbufs >= WORKER_XBUF_KEEP) {
        free(p);
        return;
    }
    struct xbuf *x = (struct xbuf *)p;
    x->next = w->free_xbufs;
    w->free_xbufs = x;
    w->nfree_xbufs++;
}

static void xbufs_free(struct worker *w)
{
    while (w->free_xbufs)
        free(worker_xbuf_take(w));
}

/* The receive that found no buffer was answered so before one came back (the engine decided
 * it, then buffers went back before its completion was read): it goes again now. */
static void wake_if_available(struct worker *w)
{
    if (io_buf_available(w->io, w->bufs_held))
        w->hooks->buffer_free(w);
}

void worker_buf_wait(struct worker *w, struct buf_wait *bw)
{
    if (bw->waiting)
        return;
    bw->waiting = true;
    bw->next = w->buf_waiters;
    w->buf_waiters = bw;
    buf_starved(w);
    wake_if_available(w);
}

void worker_backend_buf_wait(struct worker *w, struct backend *b)
{
    if (b->buf_waiting)
        return;
    b->buf_waiting = true;
    b->buf_wait_next = w->backend_buf_waiters;
    w->backend_buf_waiters = b;
    buf_starved(w);
    wake_if_available(w);
}

struct shard_gauges *worker_gauges_new(uint32_t gen, size_t n)
{
    struct shard_gauges *g = calloc(1, sizeof *g + n * sizeof g->g[0]);
    if (g) {
        g->gen = gen;
        g->n = n;
    }
    return g;
}

void worker_free_retired(struct worker *w)
{
    while (w->retired) {
        struct retired_shards *r = w->retired;
        w->retired = r->next;
        free(r->shards);
        free(r);
    }
}

/* ---------- set-up ---------- */

/* One listening socket per route, bound now so that a taken address fails start-up; listen()
 * waits for the pools. */
static int listeners_open(struct worker *w)
{
    const struct cfg *cfg = w->cfg;
    w->listeners = aligned_alloc(_Alignof(struct listener), cfg->nroutes * sizeof *w->listeners);
    if (!w->listeners)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct cfg_addr *a = &cfg->routes[i].listen;
        int fd = net_bind(a, 0, true);
        if (fd < 0) {
            log_error("listen_failed", "worker=%u route=%s listen=%s:%u error=\"%s\"", w->id,
                      cfg->routes[i].name, a->host, a->port, strerror(-fd));
            return fd;
        }
        w->listeners[w->nlisteners++] = (struct listener){.fd = fd, .route = (uint32_t)i};
    }
    return 0;
}

/* The I/O engine, on the worker's own thread (an io_uring's single issuer). */
static int io_init(struct worker *w)
{
    w->nbufs = w->cfg->receive_buffers;
    const char *step = "";
    int rc = io_open(&w->io, w->proxy->io_kind, w->nbufs, WORKER_BUF_SIZE, &step);
    if (rc < 0)
        log_error("io_setup_failed", "worker=%u io=%s step=%s error=\"%s\"", w->id,
                  io_kind_name(w->proxy->io_kind), step, strerror(-rc));
    return rc;
}

void worker_users_init(struct worker *w)
{
    const struct cfg *cfg = w->cfg;
    for (size_t u = 0; u < cfg->nusers; u++) {
        struct worker_user *wu = &w->users[u];
        const char *pw = cfg->users[u].password ? cfg->users[u].password : "";
        wu->cfg = &cfg->users[u];
        size_t len = strlen(pw);
        if (len == 0) {
            wu->empty = true;
        } else if (pw[0] == '*' && proto_native_hash_parse(pw, len, wu->native) == 0) {
            wu->has_sha2 = false;
        } else if (proto_sha2_crypt_parse(pw, len, &wu->crypt) == 0) {
            wu->crypt_only = true; /* config.c checked it */
        } else if (cfg_password_is_ed25519(pw) &&
                   proto_ed25519_pub_parse(pw + 8, len - 8, wu->ed25519) == 0) {
            wu->ed25519_only = true;
        } else {
            proto_native_hash(pw, len, wu->native);
            proto_sha2_hash(pw, len, wu->sha2);
            wu->has_sha2 = true;
        }
    }
}

const struct worker_backend_info *worker_known_backend(const struct worker *w)
{
    for (size_t bi = 0; bi < w->cfg->nbackends; bi++)
        if (w->binfo[bi].known)
            return &w->binfo[bi];
    return &w->binfo[0];
}

void worker_binfo_init(struct worker_backend_info *bi, const struct cfg_backend *be)
{
    *bi = (struct worker_backend_info){.primary = be->role == CFG_ROLE_PRIMARY,
                                       .readable = be->role == CFG_ROLE_REPLICA};
}

static void arm_accept(struct worker *w, struct listener *l)
{
    w->inflight++;
    io_accept(w->io, l->fd, op_tag(l, OP_ACCEPT));
    l->accepting = true;
}

/* Arms every listener that has no accept armed (start, and after a pause). */
static void arm_accepts(struct worker *w)
{
    for (uint32_t i = 0; i < w->nlisteners; i++)
        if (!w->listeners[i].accepting)
            arm_accept(w, &w->listeners[i]);
}

static void cancel_accepts(struct worker *w)
{
    for (uint32_t i = 0; i < w->nlisteners; i++)
        if (w->listeners[i].accepting)
            worker_cancel(w, -1, op_tag(&w->listeners[i], OP_ACCEPT));
}

/* An accept failed: counted, logged once a second with the count, and when the process or
 * system is out of descriptors (or memory), accepting pauses instead of failing again at once
 * (the client waits in the listen backlog). */
static void accept_failed(struct worker *w, int res)
{
    STAT_INC(w->st.accept_errors);
    w->accept_fails_unlogged++;
    if (w->now_ms >= w->accept_log_ms) {
        log_warn("accept_failed", "worker=%u error=\"%s\" count=%u", w->id, strerror(-res),
                 w->accept_fails_unlogged);
        w->accept_fails_unlogged = 0;
        w->accept_log_ms = w->now_ms + 1000;
    }
    if (w->accept_paused ||
        !(res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM))
        return;
    w->accept_paused = true;
    cancel_accepts(w); /* every listener: the descriptors are the process's */
    worker_timeout(w, &w->accept_pause_ts, WORKER_ACCEPT_PAUSE_MS, op_tag(w, OP_ACCEPT_RESUME));
}

static void arm_wake(struct worker *w)
{
    w->inflight++;
    io_read(w->io, w->inbox.efd, &w->wake_buf, sizeof w->wake_buf, op_tag(w, OP_WAKE));
}

void worker_cancel(struct worker *w, int fd, uint64_t tag)
{
    w->inflight++;
    io_cancel(w->io, fd, tag, op_tag(NULL, OP_IGNORE));
}

void worker_timer_need(struct worker *w, uint64_t at_ms)
{
    if (w->stopping || (w->timer_armed && w->timer_at_ms <= at_ms))
        return;
    uint64_t ms = at_ms > w->now_ms ? at_ms - w->now_ms : 0;
    /* An armed timer is moved earlier in place: no second timer, no race with its firing. */
    w->inflight++;
    if (w->timer_armed) {
        io_timeout_update(w->io, &w->timer_update_ts, ms, op_tag(w, OP_TIMER),
                          op_tag(NULL, OP_IGNORE));
    } else {
        io_timeout(w->io, &w->timer_ts, ms, op_tag(w, OP_TIMER));
        w->timer_armed = true;
    }
    w->timer_at_ms = at_ms;
}

/* ---------- events ---------- */

static void begin_stop(struct worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    log_debug("worker_stopping", "worker=%u", w->id);
    cancel_accepts(w);
    worker_cancel(w, -1, op_tag(w, OP_WAKE));
    if (w->timer_armed)
        worker_cancel(w, -1, op_tag(w, OP_TIMER));
    w->hooks->stopping(w);
}

/* SIGTERM: no new client from now on. Shutting the listening socket down makes the kernel
 * refuse new connections (and reset those still in its backlog); the sessions go on. */
static void begin_drain(struct worker *w)
{
    if (w->draining || w->stopping)
        return;
    w->draining = true;
    cancel_accepts(w);
    for (uint32_t i = 0; i < w->nlisteners; i++)
        shutdown(w->listeners[i].fd, SHUT_RDWR);
}

/* The loop's own messages; the rest goes to the layer above. */
static void on_msg(struct worker *w, struct msg *m)
{
    switch (m->kind) {
    case MSG_LISTEN:
        if (!w->stopping) {
            for (uint32_t i = 0; i < w->nlisteners; i++)
                if (listen(w->listeners[i].fd, LISTEN_BACKLOG) != 0)
                    log_error("listen_failed", "worker=%u route=%s error=\"%s\"", w->id,
                              w->cfg->routes[w->listeners[i].route].name, strerror(errno));
            arm_accepts(w);
        }
        break;
    case MSG_STOP:
        begin_stop(w);
        break;
    case MSG_DRAIN:
        begin_drain(w);
        break;
    default:
        w->hooks->message(w, m);
        return;
    }
    free(m);
}

static void dispatch(void *ctx, uint64_t tag, int res, unsigned flags)
{
    struct worker *w = ctx;
    enum op op = (enum op)(tag & OP_MASK);
    void *ptr = (void *)(uintptr_t)(tag & ~OP_MASK);
    bool more = flags & IO_F_MORE;
    if (!more)
        w->inflight--;
    switch (op) {
    case OP_ACCEPT: {
        struct listener *l = ptr;
        if (res >= 0) {
            if (w->stopping || w->draining) {
                STAT_INC(w->st.rejected[REJECT_SHUTDOWN]);
                close(res);
            } else {
                STAT_INC(w->st.clients_accepted);
                STAT_INC(w->st.clients_connected);
                w->hooks->accepted(w, res, l->route);
            }
        } else if (res != -ECANCELED && !w->draining) {
            accept_failed(w, res);
        }
        if (!more)
            l->accepting = false;
        if (!more && !w->stopping && !w->draining && !w->accept_paused)
            arm_accept(w, l);
        break;
    }
    case OP_ACCEPT_RESUME:
        w->accept_paused = false;
        if (!w->stopping && !w->draining)
            arm_accepts(w);
        break;
    case OP_WAKE: {
        struct msg *m = msgq_take_all(&w->inbox);
        while (m) {
            struct msg *next = m->next;
            on_msg(w, m);
            m = next;
        }
        if (!w->stopping)
            arm_wake(w);
        break;
    }
    case OP_TIMER:
        w->timer_armed = false;
        if (res != -ECANCELED && !w->stopping)
            w->hooks->timer(w);
        break;
    case OP_IGNORE:
        break;
    default: /* a session's or a backend connection's */
        w->hooks->complete(w, op, ptr, res, flags);
        break;
    }
}

/* Publishes each shard's list sizes for the admin endpoint (a store only when one moved). */
static void publish_gauges(struct worker *w)
{
    struct shard_gauges *set = atomic_load_explicit(&w->gauges, memory_order_relaxed);
    for (size_t i = 0; i < w->nshards; i++) {
        const struct pool_shard *sh = &w->shards[i];
        struct shard_gauge *g = &set->g[i];
        if (STAT_GET(g->available) != sh->navailable)
            atomic_store_explicit(&g->available, sh->navailable, memory_order_relaxed);
        if (STAT_GET(g->busy) != sh->nbusy)
            atomic_store_explicit(&g->busy, sh->nbusy, memory_order_relaxed);
        if (STAT_GET(g->commands) != sh->commands)
            atomic_store_explicit(&g->commands, sh->commands, memory_order_relaxed);
        if (STAT_GET(g->errors) != sh->errors)
            atomic_store_explicit(&g->errors, sh->errors, memory_order_relaxed);
    }
}

/* Draining: the main thread learns once this worker has no session left. */
static void report_drained(struct worker *w)
{
    if (!w->draining || w->drain_reported || w->live_sessions)
        return;
    w->drain_reported = true;
    uint64_t one = 1;
    ssize_t n = write(w->proxy->drained_fd, &one, sizeof one);
    (void)n;
}

/* The submissions are with the kernel: what waited for them to name no descriptor goes. */
static void submitted(void *ctx)
{
    struct worker *w = ctx;
    w->now_ms = clock_ms();
    w->hooks->submitted(w);
}

static void run(struct worker *w)
{
    const struct io_handler h = {.submitted = submitted, .complete = dispatch, .ctx = w};
    arm_wake(w);
    while (!(w->stopping && w->inflight == 0 && !w->live_sessions && !w->live_backends)) {
        int rc = io_wait(w->io, &h);
        if (rc < 0) {
            log_error("io_failed", "worker=%u io=%s error=\"%s\"", w->id,
                      io_kind_name(io_kind(w->io)), strerror(-rc));
            break;
        }
        publish_gauges(w);
        report_drained(w);
    }
}

/* Not inlined: tests/unit/check_worker_blocking.sh allows its one lock, taken before the
 * loop starts, by this function's name. */
__attribute__((noinline)) static void report_init(struct worker *w, int rc)
{
    pthread_mutex_lock(&w->init_mu);
    w->init_rc = rc;
    w->init_done = true;
    pthread_cond_signal(&w->init_cv);
    pthread_mutex_unlock(&w->init_mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int rc = io_init(w);
    if (rc < 0) {
        report_init(w, rc);
        return NULL;
    }
    w->now_ms = clock_ms();
    report_init(w, 0);
    run(w);
    w->hooks->stopped(w);
    xbufs_free(w);
    return NULL;
}

int worker_start(struct worker *w, struct proxy *p, uint32_t id, const struct worker_hooks *hooks)
{
    const struct cfg *cfg = p->cfg;
    memset(w, 0, sizeof *w);
    w->id = id;
    w->hooks = hooks;
    w->proxy = p;
    w->cfg = cfg;
    if (p->tls_server && SSL_CTX_up_ref(p->tls_server))
        w->tls_ctx = p->tls_server;
    w->inbox.efd = -1;
    pthread_mutex_init(&w->init_mu, NULL);
    pthread_cond_init(&w->init_cv, NULL);
    int rc = msgq_init(&w->inbox);
    if (rc < 0)
        return rc;
    rc = listeners_open(w);
    if (rc < 0)
        return rc;
    w->nshards = cfg->nbackends * cfg->nusers;
    w->shards = calloc(w->nshards, sizeof *w->shards);
    w->users = calloc(cfg->nusers, sizeof *w->users);
    w->binfo = calloc(cfg->nbackends, sizeof *w->binfo);
    w->gauges = worker_gauges_new(0, w->nshards);
    if (!w->shards || !w->users || !w->binfo || !w->gauges)
        return -ENOMEM;
    for (size_t b = 0; b < cfg->nbackends; b++)
        worker_binfo_init(&w->binfo[b], &cfg->backends[b]);
    for (size_t b = 0; b < cfg->nbackends; b++)
        for (size_t u = 0; u < cfg->nusers; u++)
            pool_shard_init(&w->shards[b * cfg->nusers + u], cfg->backends[b].name,
                            cfg->users[u].name, (uint32_t)b, (uint32_t)u,
                            pool_split(cfg->pool.size, p->nworkers, id));
    for (size_t i = 0; i < w->nshards; i++) {
        /* The maintenance thread's first fill opens pool.min_idle's share of each shard, and
         * at least one where the shard may hold any: the worker learns the backend's version
         * and capabilities from it (it greets clients with them). An extra one goes stale
         * unused and is not replaced. */
        struct pool_shard *sh = &w->shards[i];
        sh->min_idle = pool_split(cfg->pool.min_idle, p->nworkers, id);
        sh->pending = sh->min_idle > 0 || sh->target == 0 ? sh->min_idle : 1;
    }
    worker_users_init(w);
    w->next_session_id = 1;
    rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0)
        return -rc;
    pthread_mutex_lock(&w->init_mu);
    while (!w->init_done)
        pthread_cond_wait(&w->init_cv, &w->init_mu);
    pthread_mutex_unlock(&w->init_mu);
    if (w->init_rc < 0) {
        pthread_join(w->thread, NULL);
        w->thread = 0;
    }
    return w->init_rc;
}

void worker_post(struct worker *w, enum msg_kind kind)
{
    struct msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = kind;
        m->fd = -1;
        msgq_push(&w->inbox, m);
    }
}

void worker_stop(struct worker *w)
{
    if (!w->thread)
        return;
    worker_post(w, MSG_STOP);
    pthread_join(w->thread, NULL);
    w->thread = 0;
}

void worker_destroy(struct worker *w)
{
    io_free(w->io);
    w->io = NULL;
    for (uint32_t i = 0; i < w->nlisteners; i++)
        close(w->listeners[i].fd);
    free(w->listeners);
    w->listeners = NULL;
    w->nlisteners = 0;
    msgq_destroy(&w->inbox);
    free(w->shards);
    free(w->users);
    free(w->binfo);
    SSL_CTX_free(w->tls_ctx);
    if (w->hooks)
        w->hooks->destroyed(w);
    for (struct shard_gauges *g = w->gauges, *older; g; g = older) {
        older = g->older;
        free(g);
    }
    w->gauges = NULL;
    worker_free_retired(w);
    pthread_mutex_destroy(&w->init_mu);
    pthread_cond_destroy(&w->init_cv);
    w->shards = NULL;
    w->users = NULL;
    w->binfo = NULL;
}
