/* proxy_int: what the workers, the maintenance thread and proxy_run() share. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "core/stats.h"

struct worker;
struct maintenance;

struct proxy {
    const struct cfg *cfg;
    uint32_t nworkers;
    struct worker *workers;
    struct maintenance *maint;
    atomic_bool stopping;
    struct maint_stats mstats; /* written by the maintenance thread only */
    /* [cfg->nbackends]: 1 while the backend accepts connections, 0 once marked down;
     * written by the maintenance thread, read by workers and the admin endpoint. */
    _Atomic uint8_t *backend_up;
};

/* A worker lost a backend connection of shard (worker, shard): the maintenance thread opens a
 * replacement. Any thread. */
void proxy_backend_lost(struct proxy *p, uint32_t worker, uint32_t shard);
/* The shard is below pool.size and a client found no free connection: open one more. */
void proxy_backend_grow(struct proxy *p, uint32_t worker, uint32_t shard);
/* An idle connection for the maintenance thread (MSG_CONN_STALE or MSG_CONN_PING, m->fd);
 * closed at once when ringsql is stopping. Takes m. */
struct msg;
void proxy_hand_over(struct proxy *p, struct msg *m);
