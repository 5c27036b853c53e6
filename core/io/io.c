/* io.h's calls, each passed to the engine the io was opened with, or to TLS (tls.c) for a
 * descriptor that speaks it. */
#include <errno.h>
#include <stdlib.h>

#include "core/io/io_int.h"

int io_open(struct io **out, enum io_kind kind, uint32_t nbufs, size_t buf_size, const char **step)
{
    struct io *io = calloc(1, sizeof *io);
    if (!io) {
        *step = "malloc";
        return -ENOMEM;
    }
    io->kind = kind;
    io->nbufs = nbufs;
    io->buf_size = buf_size;
    int rc = kind == IO_URING ? uring_open(&io->ur, nbufs, buf_size, step)
                              : epoll_engine_open(&io->ep, nbufs, buf_size, step);
    if (rc < 0) {
        free(io);
        return rc;
    }
    *out = io;
    return 0;
}

void io_free(struct io *io)
{
    if (!io)
        return;
    tls_free_all(io);
    if (io->ur)
        uring_free(io->ur);
    if (io->ep)
        epoll_engine_free(io->ep);
    free(io);
}

enum io_kind io_kind(const struct io *io)
{
    return io->kind;
}

const char *io_kind_name(enum io_kind kind)
{
    return kind == IO_URING ? "io_uring" : "epoll";
}

void io_accept(struct io *io, int listen_fd, uint64_t tag)
{
    if (io->ur)
        uring_accept(io->ur, listen_fd, tag);
    else
        ep_accept(io->ep, listen_fd, tag);
}

void io_read(struct io *io, int fd, void *p, size_t len, uint64_t tag)
{
    if (io->ur)
        uring_read(io->ur, fd, p, len, tag);
    else
        ep_read(io->ep, fd, p, len, tag);
}

void io_recv(struct io *io, int fd, uint64_t tag)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (c)
        tls_recv(io, c, tag);
    else
        eng_recv(io, fd, tag);
}

void io_send(struct io *io, int fd, const void *p, size_t len, uint64_t tag)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (c)
        tls_send(io, c, p, len, tag, 0, false);
    else
        eng_send(io, fd, p, len, tag);
}

void io_send_then_recv(struct io *io, int fd, const void *p, size_t len, uint64_t send_tag,
                       uint64_t recv_tag)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (c)
        tls_send(io, c, p, len, send_tag, recv_tag, true);
    else if (io->ur)
        uring_send_then_recv(io->ur, fd, p, len, send_tag, recv_tag);
    else
        ep_send_then_recv(io->ep, fd, p, len, send_tag, recv_tag);
}

void io_watch_hup(struct io *io, int fd, uint64_t tag)
{
    if (io->ur)
        uring_watch_hup(io->ur, fd, tag);
    else
        ep_watch_hup(io->ep, fd, tag);
}

void io_timeout(struct io *io, struct __kernel_timespec *ts, uint64_t ms, uint64_t tag)
{
    if (io->ur)
        uring_timeout(io->ur, ts, ms, tag);
    else
        ep_timeout(io->ep, ms, tag);
}

void io_timeout_update(struct io *io, struct __kernel_timespec *ts, uint64_t ms, uint64_t target,
                       uint64_t own)
{
    if (io->ur)
        uring_timeout_update(io->ur, ts, ms, target, own);
    else
        ep_timeout_update(io->ep, ms, target, own);
}

void io_cancel(struct io *io, int fd, uint64_t target, uint64_t own)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (!c || !tls_cancel(io, c, target, own))
        eng_cancel(io, target, own);
}

void io_forget(struct io *io, int fd)
{
    struct tls_conn *c = tls_conn_of(io, fd);
    if (c)
        tls_forget(io, c);
    if (io->ep)
        ep_forget(io->ep, fd); /* a ring holds nothing of a descriptor between operations */
}

uint8_t *io_buf(struct io *io, uint16_t bid)
{
    return bid >= io->nbufs ? tls_buf(io, bid) : eng_buf(io, bid);
}

void io_buf_put(struct io *io, uint16_t bid)
{
    if (bid >= io->nbufs)
        tls_buf_put(io, bid);
    else
        eng_buf_put(io, bid);
}

bool io_buf_available(const struct io *io, uint32_t ring_held)
{
    return ring_held < io->nbufs && (!io->tls || tls_buf_available(io));
}

static void on_submitted(void *ctx)
{
    struct io *io = ctx;
    io->h->submitted(io->h->ctx);
}

/* TLS's own operations go to tls.c (which completes the caller's), the rest through. */
static void on_complete(void *ctx, uint64_t tag, int res, unsigned flags)
{
    struct io *io = ctx;
    if (tag & IO_TLS_TAG)
        tls_complete(io, tag, res, flags);
    else
        io->h->complete(io->h->ctx, tag, res, flags);
}

int io_wait(struct io *io, const struct io_handler *h)
{
    if (!io->tls) /* no descriptor ever spoke TLS: straight through */
        return io->ur ? uring_wait(io->ur, h) : ep_wait(io->ep, h);
    io->h = h;
    const struct io_handler mine = {.submitted = on_submitted, .complete = on_complete, .ctx = io};
    return io->ur ? uring_wait(io->ur, &mine) : ep_wait(io->ep, &mine);
}
