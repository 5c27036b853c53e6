/* io: a worker's I/O, one interface over two engines. io_uring (uring.c) is the default and
 * keeps its optimisations (provided-buffer ring, multishot accept, linked send-then-receive,
 * poll-first receives); epoll (epoll.c) serves where io_uring is unavailable (container
 * seccomp profiles, kernel.io_uring_disabled, gVisor), with the same bounded receive buffers.
 *
 * Every operation is asynchronous and ends in exactly one completion (a multishot accept: one
 * per connection, flagged IO_F_MORE while more will come), delivered by io_wait() to its
 * callback, never from inside the call that submitted it. A completion carries the caller's
 * tag, a result (bytes, a descriptor, or -errno as the system call would give it) and flags.
 * Only the thread that opened an io uses it. */
#pragma once

#include <linux/time_types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum io_kind { IO_URING, IO_EPOLL };

/* Completion flags (io_uring's own values, so that its engine passes them through). */
enum {
    IO_F_BUFFER = 1u << 0, /* a receive's buffer id is in the upper 16 bits */
    IO_F_MORE = 1u << 1,   /* a multishot accept goes on */
    IO_BUF_SHIFT = 16,
};

struct io;

/* An engine with nbufs receive buffers of buf_size bytes (nbufs a power of two). Returns 0 or
 * -errno, the failing step's name in *step ("io_uring_setup", "epoll_create1", ...). */
int io_open(struct io **out, enum io_kind kind, uint32_t nbufs, size_t buf_size, const char **step);
void io_free(struct io *io);
enum io_kind io_kind(const struct io *io);
const char *io_kind_name(enum io_kind kind);

/* Whether io_uring can be set up here (with what this build needs); if not, -errno and the
 * step that failed. */
int io_uring_probe(const char **step);

/* Accepts connections on listen_fd until cancelled (multishot). */
void io_accept(struct io *io, int listen_fd, uint64_t tag);
/* Reads into p (a plain read: the inbox's eventfd). */
void io_read(struct io *io, int fd, void *p, size_t len, uint64_t tag);
/* A receive into one of the engine's buffers, taken once data is there (IO_F_BUFFER), or
 * -ENOBUFS when every buffer is held. */
void io_recv(struct io *io, int fd, uint64_t tag);
/* Sends some of p (res: how much). */
void io_send(struct io *io, int fd, const void *p, size_t len, uint64_t tag);
/* Sends all of p, then receives: one completion, the receive's (recv_tag), or the send's
 * (send_tag) if the send failed, with its error. */
void io_send_then_recv(struct io *io, int fd, const void *p, size_t len, uint64_t send_tag,
                       uint64_t recv_tag);
/* Completes once the peer hangs up or the socket is shut down (res: the poll events). */
void io_watch_hup(struct io *io, int fd, uint64_t tag);
/* Completes with -ETIME after ms (ts: storage the engine may use until then). */
void io_timeout(struct io *io, struct __kernel_timespec *ts, uint64_t ms, uint64_t tag);
/* Moves the pending timeout `target` to ms from now; `own` is this request's completion. */
void io_timeout_update(struct io *io, struct __kernel_timespec *ts, uint64_t ms, uint64_t target,
                       uint64_t own);
/* Ends the operation tagged target on fd (-1: a timeout) (it completes with -ECANCELED); `own`
 * is this request's completion. */
void io_cancel(struct io *io, int fd, uint64_t target, uint64_t own);
/* The descriptor leaves this io (closed, or handed to another thread); what is still pending
 * on it completes with -ECANCELED. */
void io_forget(struct io *io, int fd);

/* TLS on fd from now on (tls.c): receives complete with plaintext, in buffers of their own
 * (ids past the engine's), and sends with their plaintext length once all of the ciphertext is
 * out. ssl is set up by the caller (its context, accept or connect state; a session already
 * established elsewhere keeps it) and owned by the io from here: io_forget frees it. pre: bytes
 * already received on fd that belong to the TLS stream (a ClientHello that came in the same
 * receive as the SSLRequest before it). The handshake, if not done, runs inside the first
 * receive, which fails with -EPROTO when it does (io_tls_error says why). */
struct ssl_st;
int io_tls_attach(struct io *io, int fd, struct ssl_st *ssl, const uint8_t *pre, size_t pre_len);
/* The compressed protocol on fd from now on (a client's CLIENT_COMPRESS, after its login's
 * OK), above TLS if fd has it: receives complete with the plain bytes, sends go out as
 * compressed packets. pre: bytes already received after the OK (compressed). */
int io_compress_attach(struct io *io, int fd, const uint8_t *pre, size_t pre_len);
bool io_tls_on(const struct io *io, int fd);
/* Why TLS on fd failed, for the log; NULL when it has not. */
const char *io_tls_error(const struct io *io, int fd);
/* fd's TLS session, given back to work on the socket itself (the descriptor leaves for another
 * thread); NULL when fd has none, or it still has something in flight or unread. */
struct ssl_st *io_tls_detach(struct io *io, int fd);

/* Receive buffer bid's memory, and its return once its bytes are used. */
uint8_t *io_buf(struct io *io, uint16_t bid);
void io_buf_put(struct io *io, uint16_t bid);
/* Whether a receive armed now would find a buffer, with ring_held of the engine's buffers
 * (ids below its count) in the caller's hands: a receive whose "no buffer" was decided before
 * buffers came back must not wait for the next one to come back (it may never come). */
bool io_buf_available(const struct io *io, uint32_t ring_held);

/* What io_wait() calls: submitted() once the submissions are with the kernel (what was only
 * waiting for them, a descriptor to close, can go), then complete() for each completion. */
struct io_handler {
    void (*submitted)(void *ctx);
    void (*complete)(void *ctx, uint64_t tag, int res, unsigned flags);
    void *ctx;
};

/* Hands the submissions to the kernel, waits for at least one completion and delivers every
 * completion there is. Returns 0 or -errno (a broken engine). */
int io_wait(struct io *io, const struct io_handler *h);
