/* shared: what the workers, the maintenance thread, the admin endpoint and proxy_run() share.
 * How they reach each other: post.h (to the maintenance and main threads) and msg.h. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "core/io/io.h"
#include "core/base/msg.h"
#include "core/base/stats.h"

struct worker;
struct maintenance;
struct admin;
struct msgq;

enum { PROXY_BACKEND_ERROR_LEN = 256 };

/* A backend as the maintenance thread's replication checks last saw it. */
struct backend_repl {
    _Atomic int8_t primary;  /* 1: read_only OFF, 0: ON, -1: not checked yet (the config's) */
    _Atomic int8_t readable; /* in the read set: a replica applying, within max_lag */
    _Atomic int64_t lag_s;   /* Seconds_Behind_Master; -1: not replicating, or unknown */
};

struct proxy {
    /* The running config. Only the main thread stores it (SIGHUP reload); the old one is
     * freed once every worker and the maintenance thread acknowledged the new one. */
    const struct cfg *_Atomic cfg;
    uint32_t nworkers;
    enum io_kind io_kind; /* every worker's I/O engine, chosen at start */
    struct worker *workers;
    struct maintenance *maint;
    /* The maintenance thread's inbox while it runs (post.h), else NULL. */
    struct msgq *_Atomic maint_inbox;
    atomic_bool stopping;
    atomic_bool draining;   /* SIGTERM received: no new clients, /readyz answers 503 */
    struct admin *admin;    /* served by the maintenance thread; NULL if it could not open */
    int reload_ack_fd;      /* eventfd: each thread writes 1 once it switched to a new cfg */
    struct msgq main_inbox; /* the main thread's: user lookups' verdicts (post_to_main) */
    /* Backend connections of server users (auth.from_backend) in every worker's pools: held
     * under auth.max_connections (workers count their own; see connection_in_sight). */
    _Atomic uint32_t server_conns;
    int drained_fd;            /* eventfd: each draining worker writes 1 once it has no session */
    struct maint_stats mstats; /* written by the maintenance thread only */
    stat_t reloads_applied, reloads_rejected; /* written by the main thread only */
    /* [cfg->nbackends]: 1 while the backend accepts connections, 0 once marked down;
     * written by the maintenance thread, read by workers and the admin endpoint. A reload
     * that changes the backends replaces the array (indexed by the new config's backends);
     * the old one stays allocated until the maintenance thread stops. */
    _Atomic uint8_t *_Atomic backend_up;
    /* [cfg->nbackends]: why each backend is down ("" while up), for /metrics. The maintenance
     * thread's own (it serves the admin endpoint too), replaced with backend_up. */
    char (*backend_error)[PROXY_BACKEND_ERROR_LEN];
    /* [cfg->nbackends]: what the replication checks last saw (replication: on; NULL until the
     * maintenance thread starts), for /metrics. Replaced with backend_up, the old ones kept. */
    struct backend_repl *_Atomic backend_repl;
    /* The context clients' TLS sessions come from (tls:), NULL without one. The main thread's
     * reference: workers hold their own (struct ssl_ctx_st is OpenSSL's SSL_CTX). */
    struct ssl_ctx_st *tls_server;
    /* Counts the SET GLOBALs clients sent through ringsql. A backend connection whose
     * session variables were read from the globals before the latest (at its connect or its
     * last COM_RESET_CONNECTION, which reads them again) is reset before its next session,
     * which then starts with the globals as they are, as a new direct connection would. */
    _Atomic uint64_t globals_epoch;
    /* caching_sha2_password's RSA key and its public PEM (full authentication without TLS),
     * made at start when a user's password is stored as its hash; NULL otherwise. Never
     * changes once made (a reload that needs it first makes it before telling workers). */
    struct evp_pkey_st *rsa_key;
    char *rsa_pem;
};
