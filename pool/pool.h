/* pool: the backend connections of one (backend, user) pair on one worker — a shard — kept
 * on two intrusive lists, available and busy, as the seed describes. Pure bookkeeping: no
 * I/O, no locks, no allocation. A shard is touched only by the worker that owns it.
 *
 * A connection is always on exactly one list of exactly one shard from pool_shard_add() to
 * pool_remove(). Taking moves it available -> busy in O(1), returning busy -> available. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool_shard;

struct pool_link {
    struct pool_link *prev, *next;
};

enum pool_conn_where { POOL_NOWHERE, POOL_AVAILABLE, POOL_BUSY };

/* Embedded as the first member of the worker's backend connection object. */
struct pool_conn {
    struct pool_link link;
    struct pool_shard *shard;
    enum pool_conn_where where;
    uint64_t idle_since_ms; /* when it last went back to available */
    uint64_t checked_ms;    /* when it was last used or pinged */
    uint64_t created_ms;
};

struct pool_shard {
    char name[96];     /* "backend/user", for logs and client-visible errors */
    uint32_t backend;  /* index into cfg->backends */
    uint32_t user;     /* index into cfg->users */
    uint32_t target;   /* connections this shard may hold (its share of pool.size) */
    uint32_t min_idle; /* its share of pool.min_idle: kept open even when unused */
    uint32_t pending;  /* connections the maintenance thread will send (replacements, pings,
                        * growth), counted by the worker so that it never asks past target */
    bool retired;      /* its (backend, user) pair left the config: backend/user index nothing */
    bool server_user;  /* its user is one of the server's (auth.from_backend): its connections
                        * count towards auth.max_connections */
    uint32_t navailable;
    uint32_t nbusy;
    uint64_t commands; /* client commands forwarded on its connections (routing's metrics) */
    uint64_t errors;   /* ... answered with an ERR */
    struct pool_link available; /* most recently returned first: warm connections are reused */
    struct pool_link busy;
};

void pool_shard_init(struct pool_shard *s, const char *backend_name, const char *user_name,
                     uint32_t backend, uint32_t user, uint32_t target);

/* A new, idle connection joins the available list. */
void pool_shard_add(struct pool_shard *s, struct pool_conn *c, uint64_t now_ms);
/* A connection that was away (a liveness ping) comes back with its own creation and idle
 * times, in its place in the idle order: being pinged does not make it any less stale. */
void pool_shard_readd(struct pool_shard *s, struct pool_conn *c, uint64_t created_ms,
                      uint64_t idle_since_ms, uint64_t checked_ms);
/* Takes the most recently used available connection into busy; NULL when none is free. */
struct pool_conn *pool_take(struct pool_shard *s);
/* Puts a busy connection back on available (it must be clean: see pool_return_verdict). */
void pool_return(struct pool_conn *c, uint64_t now_ms);
/* Takes a connection off whichever list it is on (it is being closed). */
void pool_remove(struct pool_conn *c);
/* Moves every connection of from (both lists, order kept) to to, which must be empty, as a
 * reload does when the shard array is rebuilt: the shard's name and indices are to's. */
void pool_shard_move(struct pool_shard *to, struct pool_shard *from);

/* The available connection idle the longest, if idle for at least stale_after_ms: removed
 * from the shard and returned, so the caller can close it and have it replaced. */
struct pool_conn *pool_take_stale(struct pool_shard *s, uint64_t now_ms, uint64_t stale_after_ms);

static inline uint32_t pool_size(const struct pool_shard *s)
{
    return s->navailable + s->nbusy;
}

/* What to do with a backend connection when its client session ends. */
enum pool_verdict {
    POOL_RESET,   /* idle and healthy: COM_RESET_CONNECTION, then back to available */
    POOL_DISCARD, /* mid-response, broken or failed to reset: close; maintenance replaces it */
};

struct pool_end_state {
    bool backend_idle; /* the last response was followed to its end */
    bool healthy;      /* no I/O or protocol error on the backend socket */
};

enum pool_verdict pool_return_verdict(const struct pool_end_state *st);

/* The available connection idle the longest, left where it is; NULL when none. */
struct pool_conn *pool_peek_oldest(struct pool_shard *s);

/* The available connection idle the longest among those neither used nor pinged for
 * every_ms, removed from the shard (for a liveness ping); NULL when none. */
struct pool_conn *pool_take_unchecked(struct pool_shard *s, uint64_t now_ms, uint64_t every_ms);

/* Shard target for worker w of n when a pool of size total is split across n workers: the
 * first total % n workers hold one more. */
uint32_t pool_split(uint32_t total, uint32_t n, uint32_t w);
