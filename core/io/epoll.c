/* The epoll engine (see io.h): edge-triggered readiness on every descriptor, each operation
 * kept pending on its descriptor until the system call can make progress, completions queued
 * and delivered by ep_wait() in the order they came, as a ring's would be. Descriptors are
 * registered once, at their first operation, and forgotten by io_forget(). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/io/io_engine.h"

enum { EVENTS_MAX = 256, TAGS_MIN = 1024 };

enum ep_kind { EP_ACCEPT, EP_READ, EP_RECV, EP_SEND, EP_SEND_RECV, EP_HUP, EP_TIMEOUT };

struct ep_op {
    uint64_t tag;
    enum ep_kind kind;
    int fd;
    struct ep_op *hnext;       /* the tag table's chain */
    struct ep_op *next, *prev; /* the descriptor's pending operations, or the timeout list */
    const uint8_t *p;          /* EP_SEND, EP_SEND_RECV; EP_READ's destination */
    size_t len, done;
    uint64_t recv_tag; /* EP_SEND_RECV: the receive that follows */
    uint64_t at_ns;    /* EP_TIMEOUT */
};

struct ep_fd {
    struct ep_op *ops;
    bool registered;
    bool readable; /* no read saw the queue empty since the last event said there was data */
    bool writable;
    uint32_t hup; /* the hang-up events seen (sticky until the descriptor is forgotten) */
};

struct ep_cqe {
    uint64_t tag;
    int res;
    unsigned flags;
};

struct io_epoll_engine {
    int epfd;
    struct ep_fd *fds;
    size_t nfds;
    struct ep_op **tags; /* pending operations by tag (chained) */
    size_t ntags_cap, ntags;
    struct ep_op *timeouts, *timeouts_tail; /* soonest first */
    struct ep_op *free_ops;
    struct ep_cqe *cq;
    size_t ncq, cq_cap;
    uint8_t *bufs;
    size_t buf_size;
    uint16_t *free_bufs; /* a stack of buffer ids */
    uint32_t nfree, nbufs;
    bool broken; /* out of memory: ep_wait reports it */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------- completions ---------- */

static void complete(struct io_epoll_engine *e, uint64_t tag, int res, unsigned flags)
{
    if (e->ncq == e->cq_cap) {
        size_t cap = e->cq_cap ? e->cq_cap * 2 : 256;
        struct ep_cqe *cq = realloc(e->cq, cap * sizeof *cq);
        if (!cq) {
            e->broken = true;
            return;
        }
        e->cq = cq;
        e->cq_cap = cap;
    }
    e->cq[e->ncq++] = (struct ep_cqe){.tag = tag, .res = res, .flags = flags};
}

/* ---------- pending operations by tag ---------- */

static size_t tag_slot(const struct io_epoll_engine *e, uint64_t tag)
{
    return (size_t)((tag * 0x9e3779b97f4a7c15u) >> 32) & (e->ntags_cap - 1);
}

static bool tags_grow(struct io_epoll_engine *e)
{
    size_t cap = e->ntags_cap ? e->ntags_cap * 2 : TAGS_MIN;
    struct ep_op **t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    struct ep_op **old = e->tags;
    size_t old_cap = e->ntags_cap;
    e->tags = t;
    e->ntags_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        for (struct ep_op *op = old[i], *next; op; op = next) {
            next = op->hnext;
            size_t s = tag_slot(e, op->tag);
            op->hnext = t[s];
            t[s] = op;
        }
    free(old);
    return true;
}

static void tag_add(struct io_epoll_engine *e, struct ep_op *op)
{
    size_t s = tag_slot(e, op->tag);
    op->hnext = e->tags[s];
    e->tags[s] = op;
    e->ntags++;
}

static void tag_del(struct io_epoll_engine *e, struct ep_op *op)
{
    struct ep_op **pp = &e->tags[tag_slot(e, op->tag)];
    while (*pp && *pp != op)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = op->hnext;
        e->ntags--;
    }
}

static struct ep_op *tag_find(const struct io_epoll_engine *e, uint64_t tag)
{
    for (struct ep_op *op = e->tags[tag_slot(e, tag)]; op; op = op->hnext)
        if (op->tag == tag)
            return op;
    return NULL;
}

/* ---------- descriptors ---------- */

static struct ep_fd *fd_state(struct io_epoll_engine *e, int fd)
{
    if ((size_t)fd >= e->nfds) {
        size_t n = e->nfds ? e->nfds : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct ep_fd *fds = realloc(e->fds, n * sizeof *fds);
        if (!fds)
            return NULL;
        memset(fds + e->nfds, 0, (n - e->nfds) * sizeof *fds);
        e->fds = fds;
        e->nfds = n;
    }
    struct ep_fd *st = &e->fds[fd];
    if (!st->registered) {
        /* Edge-triggered: one registration for the descriptor's life here. Both directions
         * are taken for ready until a system call says otherwise (EAGAIN): an event only
         * comes for what changes after that. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST)
            return NULL;
        *st = (struct ep_fd){.registered = true, .readable = true, .writable = true};
    }
    return st;
}

static void fd_unlink(struct io_epoll_engine *e, struct ep_op *op)
{
    struct ep_fd *st = &e->fds[op->fd];
    if (op->prev)
        op->prev->next = op->next;
    else
        st->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
}

static void op_free(struct io_epoll_engine *e, struct ep_op *op)
{
    op->next = e->free_ops;
    e->free_ops = op;
}

static struct ep_op *op_new(struct io_epoll_engine *e, enum ep_kind kind, int fd, uint64_t tag)
{
    struct ep_op *op = e->free_ops;
    if (op)
        e->free_ops = op->next;
    else
        op = malloc(sizeof *op);
    if (!op || ((e->ntags + 1) * 2 > e->ntags_cap && !tags_grow(e))) {
        if (op)
            op_free(e, op);
        e->broken = true;
        return NULL;
    }
    *op = (struct ep_op){.tag = tag, .kind = kind, .fd = fd};
    return op;
}

static void timeout_unlink(struct io_epoll_engine *e, struct ep_op *op);

/* The operation is done: out of every table, its completion queued. */
static void finish(struct io_epoll_engine *e, struct ep_op *op, int res, unsigned flags)
{
    if (op->kind == EP_TIMEOUT) {
        timeout_unlink(e, op);
    } else {
        fd_unlink(e, op);
    }
    tag_del(e, op);
    complete(e, op->tag, res, flags);
    op_free(e, op);
}

/* ---------- one attempt at each kind of operation; true when it finished ---------- */

static bool try_recv(struct io_epoll_engine *e, struct ep_fd *st, struct ep_op *op)
{
    if (!st->readable)
        return false;
    if (e->nfree == 0) {
        /* As a ring answers a receive with no buffer left, once data (or the end) is there. */
        uint8_t byte;
        if (recv(op->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK)) {
            st->readable = false;
            return false;
        }
        finish(e, op, -ENOBUFS, 0);
        return true;
    }
    uint16_t bid = e->free_bufs[--e->nfree];
    ssize_t n = recv(op->fd, e->bufs + (size_t)bid * e->buf_size, e->buf_size, MSG_DONTWAIT);
    if (n < 0) {
        e->free_bufs[e->nfree++] = bid;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            st->readable = false;
            return false;
        }
        finish(e, op, -errno, 0);
        return true;
    }
    /* A short read found the queue empty; what comes after it raises a new event. A hang-up
     * already seen keeps it readable (the next read returns its end of file). */
    if ((size_t)n < e->buf_size && !st->hup)
        st->readable = false;
    finish(e, op, (int)n, IO_F_BUFFER | ((unsigned)bid << IO_BUF_SHIFT));
    return true;
}

static bool try_send(struct io_epoll_engine *e, struct ep_fd *st, struct ep_op *op)
{
    while (st->writable) {
        ssize_t n = send(op->fd, op->p + op->done, op->len - op->done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                st->writable = false;
                return false;
            }
            if (errno == EINTR)
                continue;
            finish(e, op, -errno, 0);
            return true;
        }
        op->done += (size_t)n;
        if (op->kind == EP_SEND) {
            finish(e, op, (int)n, 0);
            return true;
        }
        if (op->done == op->len) {
            /* Sent whole: the same operation becomes its receive, under the receive's tag. */
            tag_del(e, op);
            op->kind = EP_RECV;
            op->tag = op->recv_tag;
            tag_add(e, op);
            return try_recv(e, st, op);
        }
        st->writable = false; /* the socket took less than all: its buffer is full */
    }
    return false;
}

static bool try_accept(struct io_epoll_engine *e, struct ep_fd *st, struct ep_op *op)
{
    while (st->readable) {
        int fd = accept4(op->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            complete(e, op->tag, fd, IO_F_MORE);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            st->readable = false;
            return false;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        finish(e, op, -errno, 0); /* as a ring's multishot accept, an error ends it */
        return true;
    }
    return false;
}

static bool try_read(struct io_epoll_engine *e, struct ep_fd *st, struct ep_op *op)
{
    if (!st->readable)
        return false;
    ssize_t n = read(op->fd, (void *)op->p, op->len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        st->readable = false;
        return false;
    }
    finish(e, op, n < 0 ? -errno : (int)n, 0);
    return true;
}

static bool attempt(struct io_epoll_engine *e, struct ep_fd *st, struct ep_op *op)
{
    switch (op->kind) {
    case EP_RECV:
        return try_recv(e, st, op);
    case EP_SEND:
    case EP_SEND_RECV:
        return try_send(e, st, op);
    case EP_ACCEPT:
        return try_accept(e, st, op);
    case EP_READ:
        return try_read(e, st, op);
    case EP_HUP:
        if (!st->hup)
            return false;
        finish(e, op, (int)st->hup, 0);
        return true;
    case EP_TIMEOUT:
        break;
    }
    return false;
}

/* Queues a new operation on its descriptor and makes a first attempt. */
static void submit(struct io_epoll_engine *e, struct ep_op *op)
{
    errno = 0;
    struct ep_fd *st = fd_state(e, op->fd);
    if (!st) {
        complete(e, op->tag, errno ? -errno : -ENOMEM, 0);
        op_free(e, op);
        return;
    }
    op->next = st->ops;
    if (st->ops)
        st->ops->prev = op;
    st->ops = op;
    tag_add(e, op);
    attempt(e, st, op);
}

/* ---------- the calls ---------- */

int epoll_engine_open(struct io_epoll_engine **out, uint32_t nbufs, size_t buf_size,
                      const char **step)
{
    struct io_epoll_engine *e = calloc(1, sizeof *e);
    *step = "malloc";
    if (!e)
        return -ENOMEM;
    e->epfd = -1;
    e->nbufs = nbufs;
    e->buf_size = buf_size;
    e->bufs = aligned_alloc(4096, (size_t)nbufs * buf_size);
    e->free_bufs = calloc(nbufs, sizeof *e->free_bufs);
    if (!e->bufs || !e->free_bufs || !tags_grow(e)) {
        epoll_engine_free(e);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < nbufs; i++)
        e->free_bufs[e->nfree++] = (uint16_t)(nbufs - 1 - i);
    *step = "epoll_create1";
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        int rc = -errno;
        epoll_engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void epoll_engine_free(struct io_epoll_engine *e)
{
    if (e->epfd >= 0)
        close(e->epfd);
    for (size_t i = 0; i < e->ntags_cap; i++)
        for (struct ep_op *op = e->tags[i], *next; op; op = next) {
            next = op->hnext;
            free(op);
        }
    for (struct ep_op *op = e->free_ops, *next; op; op = next) {
        next = op->next;
        free(op);
    }
    free(e->tags);
    free(e->fds);
    free(e->cq);
    free(e->bufs);
    free(e->free_bufs);
    free(e);
}

static void new_fd_op(struct io_epoll_engine *e, enum ep_kind kind, int fd, uint64_t tag,
                      const void *p, size_t len)
{
    struct ep_op *op = op_new(e, kind, fd, tag);
    if (!op)
        return;
    op->p = p;
    op->len = len;
    submit(e, op);
}

void ep_accept(struct io_epoll_engine *e, int listen_fd, uint64_t tag)
{
    /* accept4() after an event must not block when the connection went away meanwhile. */
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
    new_fd_op(e, EP_ACCEPT, listen_fd, tag, NULL, 0);
}

void ep_read(struct io_epoll_engine *e, int fd, void *p, size_t len, uint64_t tag)
{
    new_fd_op(e, EP_READ, fd, tag, p, len);
}

void ep_recv(struct io_epoll_engine *e, int fd, uint64_t tag)
{
    new_fd_op(e, EP_RECV, fd, tag, NULL, 0);
}

void ep_send(struct io_epoll_engine *e, int fd, const void *p, size_t len, uint64_t tag)
{
    new_fd_op(e, EP_SEND, fd, tag, p, len);
}

void ep_send_then_recv(struct io_epoll_engine *e, int fd, const void *p, size_t len,
                       uint64_t send_tag, uint64_t recv_tag)
{
    struct ep_op *op = op_new(e, EP_SEND_RECV, fd, send_tag);
    if (!op)
        return;
    op->p = p;
    op->len = len;
    op->recv_tag = recv_tag;
    submit(e, op);
}

void ep_watch_hup(struct io_epoll_engine *e, int fd, uint64_t tag)
{
    new_fd_op(e, EP_HUP, fd, tag, NULL, 0);
}

/* Puts a timeout in the list, soonest first, searched from the end: most timeouts of a kind
 * have one length, so a new one is usually the latest. */
static void timeout_link(struct io_epoll_engine *e, struct ep_op *op)
{
    struct ep_op *after = e->timeouts_tail;
    while (after && after->at_ns > op->at_ns)
        after = after->prev;
    op->prev = after;
    op->next = after ? after->next : e->timeouts;
    if (op->next)
        op->next->prev = op;
    else
        e->timeouts_tail = op;
    if (after)
        after->next = op;
    else
        e->timeouts = op;
}

static void timeout_unlink(struct io_epoll_engine *e, struct ep_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        e->timeouts = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        e->timeouts_tail = op->prev;
    op->next = op->prev = NULL;
}

void ep_timeout(struct io_epoll_engine *e, uint64_t ms, uint64_t tag)
{
    struct ep_op *op = op_new(e, EP_TIMEOUT, -1, tag);
    if (!op)
        return;
    op->at_ns = now_ns() + ms * 1000000u;
    tag_add(e, op);
    timeout_link(e, op);
}

void ep_timeout_update(struct io_epoll_engine *e, uint64_t ms, uint64_t target, uint64_t own)
{
    struct ep_op *op = tag_find(e, target);
    if (!op || op->kind != EP_TIMEOUT) {
        complete(e, own, -ENOENT, 0);
        return;
    }
    timeout_unlink(e, op);
    op->at_ns = now_ns() + ms * 1000000u;
    timeout_link(e, op);
    complete(e, own, 0, 0);
}

void ep_cancel(struct io_epoll_engine *e, uint64_t target, uint64_t own)
{
    struct ep_op *op = tag_find(e, target);
    if (!op) {
        complete(e, own, -ENOENT, 0);
        return;
    }
    finish(e, op, -ECANCELED, 0);
    complete(e, own, 0, 0);
}

void ep_forget(struct io_epoll_engine *e, int fd)
{
    if (fd < 0 || (size_t)fd >= e->nfds || !e->fds[fd].registered)
        return;
    struct ep_fd *st = &e->fds[fd];
    /* A send may still be pending: a session closes its socket once it has nothing in flight
     * of its own, while the send of its response is its backend's. A ring would complete it
     * with an error once the socket is shut down; so does this. */
    while (st->ops)
        finish(e, st->ops, -ECANCELED, 0);
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
    *st = (struct ep_fd){0};
}

uint8_t *ep_buf(struct io_epoll_engine *e, uint16_t bid)
{
    return e->bufs + (size_t)bid * e->buf_size;
}

void ep_buf_put(struct io_epoll_engine *e, uint16_t bid)
{
    e->free_bufs[e->nfree++] = bid;
}

/* The descriptor's readiness changed: every operation pending on it tries again. */
static void on_event(struct io_epoll_engine *e, const struct epoll_event *ev)
{
    int fd = ev->data.fd;
    if ((size_t)fd >= e->nfds || !e->fds[fd].registered)
        return;
    struct ep_fd *st = &e->fds[fd];
    uint32_t hup = ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        st->readable = true;
    if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        st->writable = true;
    st->hup |= hup;
    for (struct ep_op *op = st->ops, *next; op; op = next) {
        next = op->next;
        attempt(e, st, op);
    }
}

static void expire(struct io_epoll_engine *e)
{
    uint64_t now = now_ns();
    while (e->timeouts && e->timeouts->at_ns <= now) {
        struct ep_op *op = e->timeouts;
        timeout_unlink(e, op);
        tag_del(e, op);
        complete(e, op->tag, -ETIME, 0);
        op_free(e, op);
    }
}

int ep_wait(struct io_epoll_engine *e, const struct io_handler *h)
{
    if (e->broken)
        return -ENOMEM;
    int timeout_ms = -1;
    if (e->ncq > 0) {
        timeout_ms = 0;
    } else if (e->timeouts) {
        uint64_t now = now_ns(), at = e->timeouts->at_ns;
        timeout_ms = at <= now ? 0 : (int)((at - now + 999999u) / 1000000u);
    }
    struct epoll_event ev[EVENTS_MAX];
    int n = epoll_wait(e->epfd, ev, EVENTS_MAX, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;
    h->submitted(h->ctx);
    for (int i = 0; i < n; i++)
        on_event(e, &ev[i]);
    expire(e);
    /* What is queued now; completions queued by the handlers wait for the next call. */
    size_t count = e->ncq;
    for (size_t i = 0; i < count; i++) {
        struct ep_cqe c = e->cq[i]; /* the queue may move while the handler adds to it */
        h->complete(h->ctx, c.tag, c.res, c.flags);
    }
    if (count > 0) {
        memmove(e->cq, e->cq + count, (e->ncq - count) * sizeof *e->cq);
        e->ncq -= count;
    }
    return 0;
}

void ep_nop(struct io_epoll_engine *e, uint64_t tag)
{
    complete(e, tag, 0, 0);
}
