/* proxy_int: what the workers, the maintenance thread and proxy_run() share. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "core/io/io.h"
#include "core/stats.h"

struct worker;
struct maintenance;
struct admin;

struct proxy {
    /* The running config. Only the main thread stores it (SIGHUP reload); the old one is
     * freed once every worker and the maintenance thread acknowledged the new one. */
    const struct cfg *_Atomic cfg;
    uint32_t nworkers;
    enum io_kind io_kind; /* every worker's I/O engine, chosen at start */
    struct worker *workers;
    struct maintenance *maint;
    atomic_bool stopping;
    atomic_bool draining;      /* SIGTERM received: no new clients, /readyz answers 503 */
    struct admin *admin;       /* served by the maintenance thread; NULL if it could not open */
    int reload_ack_fd;         /* eventfd: each thread writes 1 once it switched to a new cfg */
    int drained_fd;            /* eventfd: each draining worker writes 1 once it has no session */
    struct maint_stats mstats; /* written by the maintenance thread only */
    stat_t reloads_applied, reloads_rejected; /* written by the main thread only */
    /* [cfg->nbackends]: 1 while the backend accepts connections, 0 once marked down;
     * written by the maintenance thread, read by workers and the admin endpoint. A reload
     * that changes the backends replaces the array (indexed by the new config's backends);
     * the old one stays allocated until the maintenance thread stops. */
    _Atomic uint8_t *_Atomic backend_up;
};

/* A worker lost a backend connection of shard (worker, shard): the maintenance thread opens a
 * replacement. Any thread. */
void proxy_backend_lost(struct proxy *p, uint32_t worker, uint32_t shard);
/* The calling thread no longer uses the previous cfg (see core/reload.c). Any thread. */
void proxy_reload_ack(struct proxy *p);
/* The shard is below pool.size and a client found no free connection: open one more. */
void proxy_backend_grow(struct proxy *p, uint32_t worker, uint32_t shard);
/* Work for the maintenance thread: an idle connection (MSG_CONN_STALE or MSG_CONN_PING,
 * m->fd; closed at once when ringsql is stopping) or a KILL for the server (MSG_BACKEND_KILL).
 * Takes m. */
struct msg;
void proxy_hand_over(struct proxy *p, struct msg *m);
