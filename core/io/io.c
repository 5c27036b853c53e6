/* io.h's calls, each passed to the engine the io was opened with. */
#include <errno.h>
#include <stdlib.h>

#include "core/io/io_engine.h"

struct io {
    enum io_kind kind;
    struct io_uring_engine *ur;
    struct io_epoll_engine *ep;
};

int io_open(struct io **out, enum io_kind kind, uint32_t nbufs, size_t buf_size,
            const char **step)
{
    struct io *io = calloc(1, sizeof *io);
    if (!io) {
        *step = "malloc";
        return -ENOMEM;
    }
    io->kind = kind;
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
    if (io->ur)
        uring_recv(io->ur, fd, tag);
    else
        ep_recv(io->ep, fd, tag);
}

void io_send(struct io *io, int fd, const void *p, size_t len, uint64_t tag)
{
    if (io->ur)
        uring_send(io->ur, fd, p, len, tag);
    else
        ep_send(io->ep, fd, p, len, tag);
}

void io_send_then_recv(struct io *io, int fd, const void *p, size_t len, uint64_t send_tag,
                       uint64_t recv_tag)
{
    if (io->ur)
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

void io_cancel(struct io *io, uint64_t target, uint64_t own)
{
    if (io->ur)
        uring_cancel(io->ur, target, own);
    else
        ep_cancel(io->ep, target, own);
}

void io_forget(struct io *io, int fd)
{
    if (io->ep)
        ep_forget(io->ep, fd); /* a ring holds nothing of a descriptor between operations */
}

uint8_t *io_buf(struct io *io, uint16_t bid)
{
    return io->ur ? uring_buf(io->ur, bid) : ep_buf(io->ep, bid);
}

void io_buf_put(struct io *io, uint16_t bid)
{
    if (io->ur)
        uring_buf_put(io->ur, bid);
    else
        ep_buf_put(io->ep, bid);
}

int io_wait(struct io *io, const struct io_handler *h)
{
    return io->ur ? uring_wait(io->ur, h) : ep_wait(io->ep, h);
}
