/* stats: the counters ringsql keeps for its metrics endpoint.
 *
 * Each worker owns one struct worker_stats and is the only thread that writes it; the admin
 * endpoint (maintenance thread) reads every worker's and sums them. Fields are relaxed
 * atomics so the reader sees whole values, and STAT_ADD is a load plus a store, not a locked
 * read-modify-write: on the hot path a counter costs what a plain increment costs. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t stat_t;

/* Why a client was turned away before it could send a command. */
enum stat_reject {
    REJECT_POOL_FULL,    /* 1040: no available connection in its shard */
    REJECT_AUTH,         /* 1045: unknown user or wrong password */
    REJECT_BACKEND_DOWN, /* 2003: every backend for its user is down */
    REJECT_PROTOCOL,     /* malformed login, unsupported capabilities or plugin */
    REJECT_SHUTDOWN,     /* arrived or outlived the drain while ringsql stopped */
    REJECT_KINDS,
};

enum stat_timeout {
    TIMEOUT_HANDSHAKE,   /* timeouts.handshake: login not finished */
    TIMEOUT_CLIENT_IDLE, /* timeouts.client_idle */
    TIMEOUT_POOL_WAIT,   /* timeouts.pool_wait: a command found no connection in time */
    TIMEOUT_KINDS,
};

/* Commands are counted by their first byte; everything from STAT_COMMANDS - 1 up shares the
 * last slot. */
enum { STAT_COMMANDS = 32 };

struct worker_stats {
    stat_t clients_accepted;
    stat_t clients_tls;   /* sessions that started TLS (SSLRequest) */
    stat_t accept_errors; /* accept() failed (out of descriptors, memory) */
    stat_t buf_waits;     /* receives that found every receive buffer held */
    /* gauge: since when (clock_ms) a receive has waited for a buffer; 0 while none waits */
    stat_t buf_starved_since_ms;
    stat_t clients_connected; /* gauge: sessions open now (accepted, not yet closed) */
    stat_t sessions_done;
    stat_t sessions_pinned; /* transaction pooling: kept their backend for the rest */
    stat_t stmt_reprepares; /* transaction pooling: statements prepared again on a connection */
    stat_t stmt_evictions;  /* ... closed on one to keep pool.max_prepared_per_connection */
    stat_t rejected[REJECT_KINDS];
    stat_t timeouts[TIMEOUT_KINDS];

    stat_t conns_received;       /* backend connections handed over by maintenance */
    stat_t conns_reset;          /* returned to available after COM_RESET_CONNECTION */
    stat_t conns_discarded;      /* closed dirty or broken: a replacement was asked for */
    stat_t conns_recycled_stale; /* handed back as stale by the health check */
    stat_t conns_kept;           /* back to the pool without a reset: the session left no state */
    stat_t backend_errors;       /* a bound backend failed (sessions saw ERR 2013) */

    stat_t bytes_c2b, bytes_b2c;     /* forwarded client -> backend, backend -> client */
    stat_t packets_c2b, packets_b2c; /* logical packets */
    stat_t commands[STAT_COMMANDS];  /* client commands forwarded, by command byte */
};

/* One pool shard as its worker last published it (after each batch of completions): the
 * admin endpoint reads these instead of the worker's own lists. */
struct shard_gauge {
    stat_t available;
    stat_t busy;
    stat_t commands; /* counters: commands forwarded on its connections, and ERRs answered */
    stat_t errors;
};

/* A worker's gauges for one config generation (shard i = backend * nusers + user of that
 * config). A reload publishes a new set; the old ones stay allocated until the worker is
 * destroyed, so a reader never holds a freed one. */
struct shard_gauges {
    uint32_t gen;
    size_t n;
    struct shard_gauges *older;
    struct shard_gauge g[];
};

/* Counters of the maintenance thread (its own writer, same rules). */
struct maint_stats {
    stat_t conns_created;  /* opened and handed to a worker */
    stat_t connect_failed; /* attempts that failed */
    stat_t pings;          /* liveness pings sent */
    stat_t pings_failed;
};

#define STAT_ADD(field, n)                                                                         \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (n),    \
                          memory_order_relaxed)
#define STAT_INC(field) STAT_ADD(field, 1)
#define STAT_SUB(field, n)                                                                         \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) - (n),    \
                          memory_order_relaxed)
#define STAT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)
#define STAT_SET(field, v) atomic_store_explicit(&(field), (v), memory_order_relaxed)
