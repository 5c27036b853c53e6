/* metrics: sums the workers' counters and renders them for /metrics and /readyz. */
#include "core/admin/metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/base/clock.h"
#include "core/admin/prom.h"
#include "core/base/shared.h"
#include "core/worker/worker.h"
#include "ringsql_version.h"

/* /readyz fails once a worker's receives have waited this long for a buffer. */
enum { METRICS_BUF_STARVED_MS = 1000 };

/* Client command bytes by name; the last slot (STAT_COMMANDS - 1) gathers the rest. */
static const char *const command_names[STAT_COMMANDS] = {
    "sleep",
    "quit",
    "init_db",
    "query",
    "field_list",
    "create_db",
    "drop_db",
    "refresh",
    "shutdown",
    "statistics",
    "process_info",
    "connect",
    "process_kill",
    "debug",
    "ping",
    "time",
    "delayed_insert",
    "change_user",
    "binlog_dump",
    "table_dump",
    "connect_out",
    "register_slave",
    "stmt_prepare",
    "stmt_execute",
    "stmt_send_long_data",
    "stmt_close",
    "stmt_reset",
    "set_option",
    "stmt_fetch",
    "daemon",
    "binlog_dump_gtid",
    "other",
};

static const char *const reject_names[REJECT_KINDS] = {
    [REJECT_POOL_FULL] = "pool_full",       [REJECT_AUTH] = "auth",
    [REJECT_BACKEND_DOWN] = "backend_down", [REJECT_PROTOCOL] = "protocol",
    [REJECT_SHUTDOWN] = "shutdown",
};

static const char *const timeout_names[TIMEOUT_KINDS] = {
    [TIMEOUT_HANDSHAKE] = "handshake",
    [TIMEOUT_CLIENT_IDLE] = "client_idle",
    [TIMEOUT_POOL_WAIT] = "pool_wait",
};

/* Sums one worker_stats counter (at byte offset off) over every worker. */
static uint64_t sum_at(const struct proxy *p, size_t off)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < p->nworkers; i++)
        sum += STAT_GET(*(stat_t *)((char *)&p->workers[i].st + off));
    return sum;
}
#define SUM(p, field) sum_at(p, offsetof(struct worker_stats, field))
#define SUM_AT(p, array, i) sum_at(p, offsetof(struct worker_stats, array) + (i) * sizeof(stat_t))

/* Sums one shard over the workers whose gauges are of generation gen; false when some
 * worker is still switching to it (and so left out). */
static bool shard_sum(const struct proxy *p, unsigned gen, size_t shard, struct shard_gauge *sum)
{
    bool complete = true;
    uint64_t avail = 0, busy = 0, commands = 0, errors = 0;
    for (uint32_t i = 0; i < p->nworkers; i++) {
        const struct shard_gauges *g =
            atomic_load_explicit(&p->workers[i].gauges, memory_order_acquire);
        if (!g || g->gen != gen || shard >= g->n) {
            complete = false;
            continue;
        }
        avail += STAT_GET(g->g[shard].available);
        busy += STAT_GET(g->g[shard].busy);
        commands += STAT_GET(g->g[shard].commands);
        errors += STAT_GET(g->g[shard].errors);
    }
    atomic_init(&sum->available, avail);
    atomic_init(&sum->busy, busy);
    atomic_init(&sum->commands, commands);
    atomic_init(&sum->errors, errors);
    return complete;
}

static bool shard_sums(const struct proxy *p, unsigned gen, size_t shard, uint64_t *avail,
                       uint64_t *busy)
{
    struct shard_gauge sum;
    bool complete = shard_sum(p, gen, shard, &sum);
    *avail = STAT_GET(sum.available);
    *busy = STAT_GET(sum.busy);
    return complete;
}

/* Per backend: the commands forwarded on its connections and the ERRs among their answers,
 * over its pools (users) and the workers. */
static void backend_sums(const struct proxy *p, const struct cfg *cfg, unsigned gen, size_t bi,
                         uint64_t *commands, uint64_t *errors)
{
    *commands = *errors = 0;
    for (size_t u = 0; u < cfg->nusers; u++) {
        struct shard_gauge sum;
        shard_sum(p, gen, bi * cfg->nusers + u, &sum);
        *commands += STAT_GET(sum.commands);
        *errors += STAT_GET(sum.errors);
    }
}

static void one(struct prom_buf *b, const char *name, const char *type, const char *help,
                uint64_t value)
{
    prom_family(b, name, type, help);
    prom_sample(b, name, NULL, value);
}

static void clients(struct prom_buf *b, struct proxy *p)
{
    const char *v[] = {"version", RINGSQL_VERSION, NULL};
    prom_family(b, "ringsql_build_info", "gauge", "ringsql's version (the value is always 1).");
    prom_sample(b, "ringsql_build_info", v, 1);
    one(b, "ringsql_workers", "gauge", "Worker threads.", p->nworkers);
    one(b, "ringsql_draining", "gauge", "1 once SIGTERM was received and ringsql drains.",
        atomic_load(&p->draining) ? 1 : 0);
    one(b, "ringsql_clients_connected", "gauge", "Client connections open now.",
        SUM(p, clients_connected));
    one(b, "ringsql_clients_accepted_total", "counter", "Client connections accepted.",
        SUM(p, clients_accepted));
    one(b, "ringsql_clients_tls_total", "counter", "Client sessions that started TLS.",
        SUM(p, clients_tls));
    one(b, "ringsql_accept_errors_total", "counter",
        "Accepts that failed (out of descriptors or memory); accepting pauses 100 ms after one.",
        SUM(p, accept_errors));
    one(b, "ringsql_receive_buffer_waits_total", "counter",
        "Receives that found every receive buffer of their worker held, and waited.",
        SUM(p, buf_waits));
    one(b, "ringsql_sessions_total", "counter", "Client sessions served and closed.",
        SUM(p, sessions_done));
    one(b, "ringsql_sessions_pinned_total", "counter",
        "Transaction-pooled sessions that left state on their backend connection and kept it.",
        SUM(p, sessions_pinned));
    one(b, "ringsql_prepared_reprepared_total", "counter",
        "Transaction pooling: client statements prepared again on a connection that lacked them",
        SUM(p, stmt_reprepares));
    one(b, "ringsql_prepared_evicted_total", "counter",
        "Transaction pooling: statements closed on a connection to keep "
        "pool.max_prepared_per_connection",
        SUM(p, stmt_evictions));
    prom_family(b, "ringsql_rejected_total", "counter",
                "Clients turned away (or, transaction pooling, commands refused), by reason.");
    for (int r = 0; r < REJECT_KINDS; r++) {
        const char *l[] = {"reason", reject_names[r], NULL};
        prom_sample(b, "ringsql_rejected_total", l, SUM_AT(p, rejected, r));
    }
    prom_family(b, "ringsql_timeouts_total", "counter", "Client timeouts, by kind.");
    for (int t = 0; t < TIMEOUT_KINDS; t++) {
        const char *l[] = {"kind", timeout_names[t], NULL};
        prom_sample(b, "ringsql_timeouts_total", l, SUM_AT(p, timeouts, t));
    }
}

static void traffic(struct prom_buf *b, struct proxy *p)
{
    const char *c2b[] = {"direction", "client_to_backend", NULL};
    const char *b2c[] = {"direction", "backend_to_client", NULL};
    prom_family(b, "ringsql_forwarded_bytes_total", "counter", "Bytes forwarded.");
    prom_sample(b, "ringsql_forwarded_bytes_total", c2b, SUM(p, bytes_c2b));
    prom_sample(b, "ringsql_forwarded_bytes_total", b2c, SUM(p, bytes_b2c));
    prom_family(b, "ringsql_forwarded_packets_total", "counter",
                "MySQL packets (logical, however many 16 MiB fragments) forwarded.");
    prom_sample(b, "ringsql_forwarded_packets_total", c2b, SUM(p, packets_c2b));
    prom_sample(b, "ringsql_forwarded_packets_total", b2c, SUM(p, packets_b2c));
    prom_family(b, "ringsql_commands_total", "counter",
                "Client commands forwarded, by command (COM_QUERY is command=\"query\").");
    for (int c = 0; c < STAT_COMMANDS; c++) {
        uint64_t n = SUM_AT(p, commands, c);
        if (n == 0 && c != 3)
            continue; /* only commands seen, and always query */
        const char *l[] = {"command", command_names[c], NULL};
        prom_sample(b, "ringsql_commands_total", l, n);
    }
}

/* Each backend's role, place in the read set, lag, and the commands routed to it. */
static void routing(struct prom_buf *b, struct proxy *p, const struct cfg *cfg, unsigned gen)
{
    struct backend_repl *rp = atomic_load(&p->backend_repl); /* as backend_up: cfg's */
    prom_family(b, "ringsql_backend_role", "gauge",
                "1 for the backend's role now: primary (read_only OFF) or replica.");
    for (size_t bi = 0; bi < cfg->nbackends; bi++) {
        int8_t seen = rp ? atomic_load(&rp[bi].primary) : -1;
        bool primary = seen < 0 ? cfg->backends[bi].role == CFG_ROLE_PRIMARY : seen == 1;
        const char *l[] = {"backend", cfg->backends[bi].name, "role",
                           primary ? "primary" : "replica", NULL};
        prom_sample(b, "ringsql_backend_role", l, 1);
    }
    prom_family(b, "ringsql_backend_readable", "gauge",
                "1 while a replica is in the read set (replicating, within replication.max_lag).");
    for (size_t bi = 0; bi < cfg->nbackends; bi++) {
        const char *l[] = {"backend", cfg->backends[bi].name, NULL};
        prom_sample(b, "ringsql_backend_readable", l,
                    rp ? (uint64_t)atomic_load(&rp[bi].readable)
                       : cfg->backends[bi].role == CFG_ROLE_REPLICA);
    }
    prom_family(b, "ringsql_backend_lag_seconds", "gauge",
                "A replica's Seconds_Behind_Master at the last check (absent where unknown).");
    for (size_t bi = 0; rp && bi < cfg->nbackends; bi++) {
        int64_t lag = atomic_load(&rp[bi].lag_s);
        const char *l[] = {"backend", cfg->backends[bi].name, NULL};
        if (lag >= 0)
            prom_sample(b, "ringsql_backend_lag_seconds", l, (uint64_t)lag);
    }
    static const char *const names[] = {"ringsql_backend_queries_total",
                                        "ringsql_backend_query_errors_total"};
    static const char *const helps[] = {
        "Client commands forwarded to the backend (where routing sent them).",
        "Client commands the backend answered with an ERR."};
    for (int k = 0; k < 2; k++) {
        prom_family(b, names[k], "counter", helps[k]);
        for (size_t bi = 0; bi < cfg->nbackends; bi++) {
            uint64_t n[2];
            backend_sums(p, cfg, gen, bi, &n[0], &n[1]);
            const char *l[] = {"backend", cfg->backends[bi].name, NULL};
            prom_sample(b, names[k], l, n[k]);
        }
    }
}

static void pools(struct prom_buf *b, struct proxy *p, const struct cfg *cfg, unsigned gen)
{
    _Atomic uint8_t *up = p->backend_up; /* this thread's (maintenance) is cfg's */
    prom_family(b, "ringsql_backend_up", "gauge", "1 while the backend accepts connections.");
    for (size_t bi = 0; bi < cfg->nbackends; bi++) {
        const char *l[] = {"backend", cfg->backends[bi].name, NULL};
        prom_sample(b, "ringsql_backend_up", l, up ? up[bi] : 0);
    }
    prom_family(b, "ringsql_backend_down_info", "gauge",
                "1 for a backend that is down, with why (its last connect error).");
    for (size_t bi = 0; p->backend_error && bi < cfg->nbackends; bi++) {
        if (!p->backend_error[bi][0] || (up && up[bi]))
            continue;
        const char *l[] = {"backend", cfg->backends[bi].name, "error", p->backend_error[bi], NULL};
        prom_sample(b, "ringsql_backend_down_info", l, 1);
    }
    routing(b, p, cfg, gen);
    prom_family(b, "ringsql_pool_connections", "gauge",
                "Backend connections of each pool (backend, user), by state.");
    for (size_t s = 0; s < cfg->nbackends * cfg->nusers; s++) {
        uint64_t avail, busy;
        shard_sums(p, gen, s, &avail, &busy);
        const char *be = cfg->backends[s / cfg->nusers].name, *u = cfg->users[s % cfg->nusers].name;
        const char *la[] = {"backend", be, "user", u, "state", "available", NULL};
        const char *lb[] = {"backend", be, "user", u, "state", "busy", NULL};
        prom_sample(b, "ringsql_pool_connections", la, avail);
        prom_sample(b, "ringsql_pool_connections", lb, busy);
    }
    prom_family(b, "ringsql_pool_target_connections", "gauge",
                "pool.size: the connections each pool (backend, user) should hold.");
    for (size_t s = 0; s < cfg->nbackends * cfg->nusers; s++) {
        const char *l[] = {"backend", cfg->backends[s / cfg->nusers].name, "user",
                           cfg->users[s % cfg->nusers].name, NULL};
        prom_sample(b, "ringsql_pool_target_connections", l, cfg->pool.size);
    }
}

static void connections(struct prom_buf *b, struct proxy *p)
{
    one(b, "ringsql_backend_connections_created_total", "counter",
        "Backend connections opened and handed to a worker.", STAT_GET(p->mstats.conns_created));
    one(b, "ringsql_backend_connect_failures_total", "counter",
        "Backend connection attempts that failed.", STAT_GET(p->mstats.connect_failed));
    one(b, "ringsql_backend_connections_reset_total", "counter",
        "Backend connections reset (COM_RESET_CONNECTION) and pooled again after a session.",
        SUM(p, conns_reset));
    one(b, "ringsql_backend_connections_kept_total", "counter",
        "Backend connections pooled again without a reset: the session left no state on them.",
        SUM(p, conns_kept));
    one(b, "ringsql_backend_connections_recycled_total", "counter",
        "Idle backend connections replaced by the health check as stale.",
        SUM(p, conns_recycled_stale));
    one(b, "ringsql_backend_connections_discarded_total", "counter",
        "Backend connections closed (dirty, broken, stale or shutting down).",
        SUM(p, conns_discarded));
    one(b, "ringsql_backend_errors_total", "counter",
        "Bound backend connections that failed under a session.", SUM(p, backend_errors));
    one(b, "ringsql_backend_pings_total", "counter", "Liveness pings sent to idle connections.",
        STAT_GET(p->mstats.pings));
    one(b, "ringsql_backend_ping_failures_total", "counter", "Liveness pings that failed.",
        STAT_GET(p->mstats.pings_failed));
    prom_family(b, "ringsql_config_reloads_total", "counter", "SIGHUP reloads, by result.");
    const char *ok[] = {"result", "applied", NULL}, *bad[] = {"result", "rejected", NULL};
    prom_sample(b, "ringsql_config_reloads_total", ok, STAT_GET(p->reloads_applied));
    prom_sample(b, "ringsql_config_reloads_total", bad, STAT_GET(p->reloads_rejected));
}

size_t metrics_size_hint(const struct cfg *cfg)
{
    size_t names = 0; /* each pool's labels appear three times, each backend's once more */
    for (size_t b = 0; b < cfg->nbackends; b++)
        names += (strlen(cfg->backends[b].name) + 256) * (3 * cfg->nusers + 1);
    for (size_t u = 0; u < cfg->nusers; u++)
        names += (strlen(cfg->users[u].name) + 256) * 3 * cfg->nbackends;
    return 16384 + names;
}

size_t metrics_render(struct proxy *p, const struct cfg *cfg, unsigned gen, char *buf, size_t cap)
{
    struct prom_buf b = {.buf = buf, .cap = cap};
    clients(&b, p);
    traffic(&b, p);
    pools(&b, p, cfg, gen);
    connections(&b, p);
    return b.overflow ? 0 : b.len;
}

/* Whether backend bi must be up (and hold connections) for ringsql to be ready: every backend
 * without replication checks; with them, the primaries that are up, one of which is needed (a
 * replica down only moves its reads elsewhere, a primary down while another took over is the
 * failover done). */
static bool needed(struct proxy *p, const struct cfg *cfg, size_t bi)
{
    if (!cfg->replication.enabled)
        return true;
    struct backend_repl *rp = atomic_load(&p->backend_repl);
    _Atomic uint8_t *up = p->backend_up;
    int8_t seen = rp ? atomic_load(&rp[bi].primary) : -1;
    bool primary = seen < 0 ? cfg->backends[bi].role == CFG_ROLE_PRIMARY : seen == 1;
    return primary && (!up || up[bi]);
}

/* With replication checks: false (and why) when no primary is up. */
static bool primary_up(struct proxy *p, const struct cfg *cfg, char *reason, size_t len)
{
    for (size_t bi = 0; bi < cfg->nbackends; bi++)
        if (needed(p, cfg, bi))
            return true;
    snprintf(reason, len, "no primary backend is up (read_only OFF and answering)");
    return false;
}

bool metrics_ready(struct proxy *p, const struct cfg *cfg, unsigned gen, char *reason, size_t len)
{
    if (atomic_load(&p->draining) || atomic_load(&p->stopping)) {
        snprintf(reason, len, "draining: ringsql is shutting down");
        return false;
    }
    if (cfg->replication.enabled && !primary_up(p, cfg, reason, len))
        return false;
    _Atomic uint8_t *up = p->backend_up;
    for (size_t bi = 0; bi < cfg->nbackends; bi++) {
        if (up && !up[bi] && !cfg->replication.enabled) {
            snprintf(reason, len, "backend '%s' is down", cfg->backends[bi].name);
            return false;
        }
    }
    for (size_t s = 0; s < cfg->nbackends * cfg->nusers; s++) {
        uint64_t avail, busy;
        /* A worker switching to gen is left out: no verdict on a partial sum. A pool allowed
         * to shrink to nothing when idle (min_idle 0) is ready while its backend is up. */
        if (cfg->pool.min_idle > 0 && needed(p, cfg, s / cfg->nusers) &&
            shard_sums(p, gen, s, &avail, &busy) && avail + busy == 0) {
            snprintf(reason, len, "pool '%s/%s' has no backend connection",
                     cfg->backends[s / cfg->nusers].name, cfg->users[s % cfg->nusers].name);
            return false;
        }
    }
    /* A worker whose receives have all waited for a buffer for a while serves no one. */
    uint64_t now = clock_ms();
    for (uint32_t i = 0; i < p->nworkers; i++) {
        uint64_t since = STAT_GET(p->workers[i].st.buf_starved_since_ms);
        if (since && now > since && now - since > METRICS_BUF_STARVED_MS) {
            snprintf(reason, len,
                     "worker %u has had no free receive buffer for %llu ms (every one is held "
                     "by a transfer that does not move)",
                     i, (unsigned long long)(now - since));
            return false;
        }
    }
    snprintf(reason, len, "ready");
    return true;
}
