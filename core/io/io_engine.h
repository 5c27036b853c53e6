/* The two engines behind io.h, for io.c to choose between; nothing else includes this. */
#pragma once

#include "core/io/io.h"

struct io_uring_engine;
int uring_open(struct io_uring_engine **out, uint32_t nbufs, size_t buf_size, const char **step);
void uring_free(struct io_uring_engine *e);
void uring_accept(struct io_uring_engine *e, int listen_fd, uint64_t tag);
void uring_read(struct io_uring_engine *e, int fd, void *p, size_t len, uint64_t tag);
void uring_recv(struct io_uring_engine *e, int fd, uint64_t tag);
void uring_send(struct io_uring_engine *e, int fd, const void *p, size_t len, uint64_t tag);
void uring_send_then_recv(struct io_uring_engine *e, int fd, const void *p, size_t len,
                          uint64_t send_tag, uint64_t recv_tag);
void uring_watch_hup(struct io_uring_engine *e, int fd, uint64_t tag);
void uring_timeout(struct io_uring_engine *e, struct __kernel_timespec *ts, uint64_t ms,
                   uint64_t tag);
void uring_timeout_update(struct io_uring_engine *e, struct __kernel_timespec *ts, uint64_t ms,
                          uint64_t target, uint64_t own);
void uring_cancel(struct io_uring_engine *e, uint64_t target, uint64_t own);
uint8_t *uring_buf(struct io_uring_engine *e, uint16_t bid);
void uring_buf_put(struct io_uring_engine *e, uint16_t bid);
int uring_wait(struct io_uring_engine *e, const struct io_handler *h);

struct io_epoll_engine;
int epoll_engine_open(struct io_epoll_engine **out, uint32_t nbufs, size_t buf_size,
                      const char **step);
void epoll_engine_free(struct io_epoll_engine *e);
void ep_accept(struct io_epoll_engine *e, int listen_fd, uint64_t tag);
void ep_read(struct io_epoll_engine *e, int fd, void *p, size_t len, uint64_t tag);
void ep_recv(struct io_epoll_engine *e, int fd, uint64_t tag);
void ep_send(struct io_epoll_engine *e, int fd, const void *p, size_t len, uint64_t tag);
void ep_send_then_recv(struct io_epoll_engine *e, int fd, const void *p, size_t len,
                       uint64_t send_tag, uint64_t recv_tag);
void ep_watch_hup(struct io_epoll_engine *e, int fd, uint64_t tag);
void ep_timeout(struct io_epoll_engine *e, uint64_t ms, uint64_t tag);
void ep_timeout_update(struct io_epoll_engine *e, uint64_t ms, uint64_t target, uint64_t own);
void ep_cancel(struct io_epoll_engine *e, uint64_t target, uint64_t own);
void ep_forget(struct io_epoll_engine *e, int fd);
uint8_t *ep_buf(struct io_epoll_engine *e, uint16_t bid);
void ep_buf_put(struct io_epoll_engine *e, uint16_t bid);
int ep_wait(struct io_epoll_engine *e, const struct io_handler *h);

/* A no-op that completes at once with tag (TLS's completions queued for delivery). */
void uring_nop(struct io_uring_engine *e, uint64_t tag);
void ep_nop(struct io_epoll_engine *e, uint64_t tag);
