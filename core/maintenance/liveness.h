/* liveness: what the maintenance thread says to an idle backend socket a worker handed it.
 * Blocking calls bounded by a timeout: never for a worker. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ssl_st;
/* Sends COM_QUIT (best effort, through ssl when the connection has TLS) and closes fd; ssl is
 * freed. */
void liveness_quit(int fd, struct ssl_st *ssl);
/* A COM_PING under way on an idle backend socket, answered as the socket becomes readable:
 * many are polled together, so a stalled backend costs each its own timeout, not the sum. */
struct liveness_ping {
    int fd;
    struct ssl_st *ssl;   /* the connection's TLS session, or NULL; it stays the caller's */
    int rc;               /* once done: 0 (its OK came) or -errno */
    char err[160];        /* once done with rc < 0: why */
    uint64_t deadline_ms; /* monotonic */
    bool done;
    /* Internal: the answer read so far. */
    uint8_t buf[4 + 64];
    size_t got, want;
};

/* Sends COM_PING on p->fd (set by the caller); its answer is due within timeout_ms. p may be
 * done at once (the send failed). */
void liveness_ping_start(struct liveness_ping *p, uint64_t timeout_ms);
/* Reads what has come of the answer (the socket polled readable or in error). */
void liveness_ping_read(struct liveness_ping *p);
/* Done with -ETIMEDOUT when the deadline passed without the answer. */
void liveness_ping_expire(struct liveness_ping *p, uint64_t now_ms);
