/* io_int: the io object and its engine calls, shared by io.c (the interface) and tls.c (TLS
 * over either engine); nothing outside core/io includes this. */
#pragma once

#include "core/io/io_engine.h"

struct tls_state;

struct io {
    enum io_kind kind;
    struct io_uring_engine *ur;
    struct io_epoll_engine *ep;
    uint32_t nbufs; /* the engine's receive buffers: buffer ids from nbufs up are TLS's */
    size_t buf_size;
    const struct io_handler *h; /* the caller's, while io_wait() delivers */
    struct tls_state *tls;      /* NULL until a descriptor speaks TLS */
};

/* Tags of TLS's own engine operations have their top bit set; callers' never do (theirs are
 * user-space addresses with a few low bits of kind). */
#define IO_TLS_TAG (UINT64_C(1) << 63)

static inline void eng_recv(struct io *io, int fd, uint64_t tag)
{
    if (io->ur)
        uring_recv(io->ur, fd, tag);
    else
        ep_recv(io->ep, fd, tag);
}

static inline void eng_send(struct io *io, int fd, const void *p, size_t len, uint64_t tag)
{
    if (io->ur)
        uring_send(io->ur, fd, p, len, tag);
    else
        ep_send(io->ep, fd, p, len, tag);
}

static inline void eng_cancel(struct io *io, uint64_t target, uint64_t own)
{
    if (io->ur)
        uring_cancel(io->ur, target, own);
    else
        ep_cancel(io->ep, target, own);
}

static inline void eng_nop(struct io *io, uint64_t tag)
{
    if (io->ur)
        uring_nop(io->ur, tag);
    else
        ep_nop(io->ep, tag);
}

static inline uint8_t *eng_buf(struct io *io, uint16_t bid)
{
    return io->ur ? uring_buf(io->ur, bid) : ep_buf(io->ep, bid);
}

static inline void eng_buf_put(struct io *io, uint16_t bid)
{
    if (io->ur)
        uring_buf_put(io->ur, bid);
    else
        ep_buf_put(io->ep, bid);
}

/* tls.c, for io.c: the calls io.h routes to TLS when the descriptor has a session. */
struct tls_conn;
struct tls_conn *tls_conn_of(const struct io *io, int fd);
void tls_recv(struct io *io, struct tls_conn *c, uint64_t tag);
void tls_send(struct io *io, struct tls_conn *c, const void *p, size_t len, uint64_t send_tag,
              uint64_t recv_tag, bool then_recv);
/* false: target is none of c's operations (the engine's cancel is the caller's to do). */
bool tls_cancel(struct io *io, struct tls_conn *c, uint64_t target, uint64_t own);
void tls_forget(struct io *io, struct tls_conn *c);
void tls_complete(struct io *io, uint64_t tag, int res, unsigned flags);
uint8_t *tls_buf(struct io *io, uint16_t bid);
void tls_buf_put(struct io *io, uint16_t bid);
/* A plaintext buffer is free, or may still be made. */
bool tls_buf_available(const struct io *io);
void tls_free_all(struct io *io);
