#include "core/maintenance/maintenance.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/clock.h"
#include "core/maintenance/connect.h"
#include "core/maintenance/liveness.h"
#include "core/base/post.h"
#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/maintenance/replication.h"
#include "core/maintenance/routines.h"
#include "core/maintenance/server_users.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/name_set.h"

enum { BACKOFF_MIN_MS = 100, BACKOFF_MAX_MS = 5000, ROUTINES_REFRESH_MS = 10 * 1000 };

/* backend_up arrays of earlier configs, freed at stop: another thread may still read one. */
struct old_up {
    struct old_up *next;
    _Atomic uint8_t *up;
};

struct maintenance {
    struct proxy *p;
    const struct cfg *cfg; /* this thread's config: p->cfg changes before MSG_RELOAD comes */
    uint32_t gen;          /* its generation: messages of another one are stale */
    struct old_up *old_up;
    pthread_t thread;
    struct msgq inbox;
    int ready_fd;
    size_t nshards;
    uint32_t *missing;       /* [worker * nshards + shard]: connections to open */
    uint64_t *retry_at;      /* [backend]: no attempt before this (monotonic ms) */
    uint64_t *backoff_ms;    /* [backend] */
    int8_t *state;           /* [backend]: -1 not known yet, 0 down, 1 up (as last told workers) */
    struct backend_tls *tls; /* [backend]: TLS contexts (connect.h) */
    uint64_t next_check_ms;  /* when to send the next MSG_HEALTH_CHECK */
    struct pinging *pinging; /* COM_PINGs under way, polled with the inbox */
    size_t npinging, pinging_cap;
    struct name_set *routines; /* the stored functions last told workers (transaction pooling) */
    uint64_t next_routines_ms; /* when to fetch them again */
    struct replication *repl;  /* role and lag checks (replication:) */
    bool stop;
};

/* A long-idle connection a worker handed over, its COM_PING under way. */
struct pinging {
    struct liveness_ping lp;
    struct msg *msg;
};

static uint64_t now_ms(void)
{
    return clock_ms();
}

/* SIGHUP: this thread's tables for the new config, the per-backend ones matched by name.
 * Nothing is missing in the new generation until each worker reports its new shards'
 * deficits. False (the old config kept, not acknowledged) when memory ran out. */
static bool reshape(struct maintenance *m, const struct cfg *cfg, uint32_t gen)
{
    const struct cfg *old = m->cfg;
    size_t nb = cfg->nbackends, nshards = nb * cfg->nusers;
    uint32_t *missing = calloc((size_t)m->p->nworkers * nshards + 1, sizeof *missing);
    uint64_t *retry_at = calloc(nb, sizeof *retry_at), *backoff = calloc(nb, sizeof *backoff);
    int8_t *state = calloc(nb, sizeof *state);
    char(*errors)[PROXY_BACKEND_ERROR_LEN] = calloc(nb, sizeof *errors);
    _Atomic uint8_t *up = calloc(nb, sizeof *up);
    struct old_up *keep = calloc(1, sizeof *keep);
    if (!missing || !retry_at || !backoff || !state || !errors || !up || !keep) {
        free(errors);
        free(missing);
        free(retry_at);
        free(backoff);
        free(state);
        free((void *)up);
        free(keep);
        log_error("reload_failed", "thread=maintenance error=\"out of memory\"");
        return false;
    }
    for (size_t b = 0; b < nb; b++) {
        const struct cfg_backend *be = cfg_find_backend(old, cfg->backends[b].name);
        long ob = be ? be - old->backends : -1;
        retry_at[b] = ob >= 0 ? m->retry_at[ob] : 0;
        backoff[b] = ob >= 0 ? m->backoff_ms[ob] : BACKOFF_MIN_MS;
        state[b] = ob >= 0 ? m->state[ob] : -1;
        if (ob >= 0 && m->p->backend_error)
            memcpy(errors[b], m->p->backend_error[ob], sizeof errors[b]);
        atomic_init(&up[b], ob >= 0 ? atomic_load(&m->p->backend_up[ob]) : 1);
    }
    free(m->missing);
    free(m->retry_at);
    free(m->backoff_ms);
    free(m->state);
    connect_tls_free(m->tls, old->nbackends);
    m->tls = connect_tls_build(cfg);
    m->missing = missing;
    m->retry_at = retry_at;
    m->backoff_ms = backoff;
    m->state = state;
    keep->up = m->p->backend_up;
    keep->next = m->old_up;
    m->old_up = keep;
    m->p->backend_up = up;
    free(m->p->backend_error);
    m->p->backend_error = errors;
    m->nshards = nshards;
    m->cfg = cfg;
    m->gen = gen;
    return true;
}

/* A shard index means something only in the generation it was sent in. */
static bool shard_valid(const struct maintenance *m, const struct msg *msg)
{
    return msg->gen == m->gen && msg->worker < m->p->nworkers && msg->shard < m->nshards;
}

/* A pinged connection's verdict: sent back to its worker, or closed and replaced. */
static void ping_finished(struct maintenance *m, struct pinging *pg)
{
    const struct cfg *cfg = m->cfg;
    struct msg *msg = pg->msg;
    const char *backend = cfg->backends[msg->shard / cfg->nusers].name;
    STAT_INC(m->p->mstats.pings);
    if (pg->lp.rc == 0 && shard_valid(m, msg) && !m->stop) {
        log_debug("backend_pinged", "worker=%u backend=%s server_conn=%u", msg->worker, backend,
                  msg->server_conn_id);
        msg->kind = MSG_BACKEND_NEW;
        msg->returning = true;
        msgq_push(&m->p->workers[msg->worker].inbox, msg);
        return;
    }
    if (pg->lp.rc < 0) {
        STAT_INC(m->p->mstats.pings_failed);
        log_warn("backend_ping_failed", "worker=%u backend=%s server_conn=%u error=\"%s\"",
                 msg->worker, backend, msg->server_conn_id, pg->lp.err);
    }
    msg_conn_close(msg);
    if (shard_valid(m, msg) && !m->stop)
        m->missing[msg->worker * m->nshards + msg->shard]++;
    free(msg);
}

/* Starts the COM_PING of a long-idle connection a worker handed over (MSG_CONN_PING). */
static void ping_start(struct maintenance *m, struct msg *msg)
{
    if (m->npinging == m->pinging_cap) {
        size_t cap = m->pinging_cap ? m->pinging_cap * 2 : 16;
        struct pinging *grown = realloc(m->pinging, cap * sizeof *grown);
        if (!grown) {
            struct pinging lost = {.lp = {.rc = -ENOMEM, .done = true}, .msg = msg};
            snprintf(lost.lp.err, sizeof lost.lp.err, "out of memory");
            ping_finished(m, &lost);
            return;
        }
        m->pinging = grown;
        m->pinging_cap = cap;
    }
    struct pinging *pg = &m->pinging[m->npinging++];
    *pg = (struct pinging){.lp = {.fd = msg->fd, .ssl = msg->ssl}, .msg = msg};
    liveness_ping_start(&pg->lp, m->cfg->timeouts.connect_ms);
    if (pg->lp.done) { /* the send failed */
        ping_finished(m, pg);
        m->npinging--;
    }
}

/* Reads the answers the poll found, expires the late ones, and finishes every one done. */
static void pings_step(struct maintenance *m, const struct pollfd *pfd)
{
    uint64_t now = now_ms();
    size_t kept = 0;
    for (size_t i = 0; i < m->npinging; i++) {
        struct pinging *pg = &m->pinging[i];
        if (pfd && pfd[i].revents)
            liveness_ping_read(&pg->lp);
        liveness_ping_expire(&pg->lp, now);
        if (pg->lp.done || m->stop) {
            ping_finished(m, pg);
            continue;
        }
        m->pinging[kept++] = *pg;
    }
    m->npinging = kept;
}

/* A client's KILL of a session whose command runs on backend connection server_conn_id: the
 * server is told from a connection of the same backend user (who may kill its own threads),
 * then the worker hears it is done. */
static void kill_on_server(struct maintenance *m, struct msg *msg)
{
    const struct cfg *cfg = m->cfg;
    const struct cfg_backend *be = &cfg->backends[msg->shard / cfg->nusers];
    char err[160] = "", sql[64];
    /* A server user's password ringsql does not know: auth.user kills for it (it needs
     * CONNECTION ADMIN). */
    const struct cfg_user *u = &cfg->users[msg->shard % cfg->nusers];
    struct cfg_user admin = {.backend_user = cfg->auth.user,
                             .backend_password = cfg->auth.password};
    MYSQL *my = connect_admin(cfg, be, u->from_server ? &admin : u, err, sizeof err);
    int n = snprintf(sql, sizeof sql, "KILL %s%u", msg->query_only ? "QUERY " : "",
                     msg->server_conn_id);
    if (my && mysql_real_query(my, sql, (unsigned long)n) != 0)
        snprintf(err, sizeof err, "%u %s", mysql_errno(my), mysql_error(my));
    if (my)
        mysql_close(my);
    if (err[0])
        log_warn("backend_kill_failed", "worker=%u backend=%s server_conn=%u error=\"%s\"",
                 msg->worker, be->name, msg->server_conn_id, err);
    else
        log_info("backend_killed", "worker=%u backend=%s server_conn=%u query_only=%d", msg->worker,
                 be->name, msg->server_conn_id, msg->query_only);
    msg->kind = MSG_BACKEND_KILLED;
    msgq_push(&m->p->workers[msg->worker].inbox, msg);
}

/* A copy of like to every worker (a MSG_ROUTINES copy holds its own reference to the names). */
static void tell_workers(struct maintenance *m, const struct msg *like)
{
    for (uint32_t w = 0; w < m->p->nworkers; w++) {
        struct msg *msg = malloc(sizeof *msg);
        if (!msg)
            continue;
        *msg = *like;
        if (msg->kind == MSG_ROUTINES)
            name_set_ref(msg->names);
        msgq_push(&m->p->workers[w].inbox, msg);
    }
}

/* Transaction pooling: the stored functions' names, fetched from the first backend up as each
 * distinct backend user, told to every worker. A fetch that fails keeps the names known before
 * (a name too many only pins). */
static void refresh_routines(struct maintenance *m)
{
    const struct cfg *cfg = m->cfg;
    m->next_routines_ms = now_ms() + ROUTINES_REFRESH_MS;
    size_t bi = 0;
    while (bi < cfg->nbackends && m->state[bi] != 1)
        bi++;
    if (cfg->pool.mode != CFG_POOL_TRANSACTION || bi == cfg->nbackends)
        return;
    struct name_set *set = name_set_new();
    bool complete = set != NULL;
    for (size_t ui = 0; set && ui < cfg->nusers; ui++) {
        const struct cfg_user *u = &cfg->users[ui];
        if (u->from_server)
            continue; /* a password ringsql does not know (libmariadb needs it) */
        size_t same = 0;
        while (same < ui && strcmp(cfg->users[same].backend_user, u->backend_user) != 0)
            same++;
        if (same < ui)
            continue; /* that backend user's functions are in already */
        char err[256];
        MYSQL *my = connect_admin(cfg, &cfg->backends[bi], u, err, sizeof err);
        if (!my || !routines_fetch(my, set, err, sizeof err)) {
            complete = false;
            log_warn("routines_fetch_failed", "backend=%s user=%s error=\"%s\"",
                     cfg->backends[bi].name, u->backend_user, err);
        }
        if (my)
            mysql_close(my);
    }
    if (!set || (!complete && !name_set_add_all(set, m->routines))) {
        name_set_unref(set);
        return;
    }
    if (name_set_count(set) != name_set_count(m->routines))
        log_info("routines_known", "functions=%zu", name_set_count(set));
    name_set_unref(m->routines);
    m->routines = set;
    tell_workers(m, &(struct msg){.kind = MSG_ROUTINES, .fd = -1, .names = set});
}

static void tell_workers_cb(void *m, const struct msg *like)
{
    tell_workers(m, like);
}

static void on_msg(struct maintenance *m, struct msg *msg)
{
    bool valid = shard_valid(m, msg);
    uint32_t *miss = valid ? &m->missing[msg->worker * m->nshards + msg->shard] : NULL;
    switch (msg->kind) {
    case MSG_STOP:
        m->stop = true;
        break;
    case MSG_RELOAD:
        if (reshape(m, msg->cfg, msg->gen)) {
            replication_reshape(m->repl, msg->cfg, msg->gen);
            post_reload_ack(m->p);
            m->next_routines_ms = 0; /* pool.mode may be transaction now */
        }
        break;
    case MSG_BACKEND_LOST:
    case MSG_BACKEND_GROW:
        if (miss)
            (*miss)++;
        break;
    case MSG_CONN_STALE:
        liveness_quit(msg->fd, msg->ssl);
        msg->ssl = NULL;
        if (miss && msg->replace)
            (*miss)++;
        break;
    case MSG_USER_LOOKUP:
        server_user_check(m->cfg, m->gen, m->state, m->tls, atomic_load(&m->p->globals_epoch),
                          msg->lookup);
        msg->kind = MSG_USER_FOUND;
        post_to_main(m->p, msg);
        return;
    case MSG_BACKEND_KILL:
        if (valid) {
            kill_on_server(m, msg);
            return;
        }
        break; /* an earlier config's shard: not sent; the connection is discarded once let go */
    case MSG_CONN_PING:
        if (miss && !m->stop) {
            ping_start(m, msg);
            return;
        }
        msg_conn_close(msg); /* of an older generation: its worker asks again if it needs one */
        break;
    default:
        break;
    }
    free(msg);
}

static void drain(struct maintenance *m)
{
    uint64_t v;
    ssize_t n = read(m->inbox.efd, &v, sizeof v);
    (void)n;
    struct msg *msg = msgq_take_all(&m->inbox);
    while (msg) {
        struct msg *next = msg->next;
        on_msg(m, msg);
        msg = next;
    }
}

/* Tells every worker that backend bi went up or down (with the error clients will see). */
static void set_backend_state(struct maintenance *m, size_t bi, bool up, const char *err)
{
    const struct cfg_backend *be = &m->cfg->backends[bi];
    if (m->state[bi] == (up ? 1 : 0))
        return;
    char addr[300];
    if (up && m->state[bi] == 0)
        log_info("backend_up", "backend=%s address=%s", be->name,
                 cfg_addr_str(&be->addr, addr, sizeof addr));
    else if (!up)
        log_warn("backend_down", "backend=%s address=%s error=\"%s\" retry_ms=%llu", be->name,
                 cfg_addr_str(&be->addr, addr, sizeof addr), err,
                 (unsigned long long)m->backoff_ms[bi]);
    m->state[bi] = up ? 1 : 0;
    atomic_store(&m->p->backend_up[bi], up ? 1 : 0);
    if (m->p->backend_error)
        snprintf(m->p->backend_error[bi], sizeof m->p->backend_error[bi], "%s", up ? "" : err);
    struct msg state = {
        .kind = MSG_BACKEND_STATE, .fd = -1, .gen = m->gen, .backend = (uint32_t)bi, .up = up};
    snprintf(state.error, sizeof state.error, "%s", up ? "" : err);
    tell_workers(m, &state);
}

/* The server refused a server user's login (max_user_connections, a password changed, the
 * account dropped or locked): its backend is up all the same, and the worker hears that the
 * n connections it asked for are not coming. */
static void grow_refused(struct maintenance *m, uint32_t w, size_t shard, uint32_t n,
                         const struct msg *refused, const char *err)
{
    const struct cfg *cfg = m->cfg;
    char safe[300];
    log_warn("server_user_login_refused", "backend=%s user=\"%s\" error=\"%s\"",
             cfg->backends[shard / cfg->nusers].name, cfg->users[shard % cfg->nusers].name,
             log_safe(err, safe, sizeof safe));
    struct msg *msg = calloc(1, sizeof *msg);
    if (!msg)
        return;
    *msg = (struct msg){.kind = MSG_GROW_REFUSED,
                        .fd = -1,
                        .gen = m->gen,
                        .worker = w,
                        .shard = (uint32_t)shard,
                        .count = n,
                        .code = refused->code};
    memcpy(msg->sqlstate, refused->sqlstate, sizeof msg->sqlstate);
    const char *text = strchr(err, ' '); /* err: "CODE message" */
    snprintf(msg->error, sizeof msg->error, "%s", text ? text + 1 : err);
    msgq_push(&m->p->workers[w].inbox, msg);
}

/* One pass over every shard that misses connections. Returns how many were opened. */
static uint32_t fill(struct maintenance *m, uint32_t *opened_per_shard)
{
    const struct cfg *cfg = m->cfg;
    uint32_t opened = 0;
    for (size_t s = 0; s < m->nshards && !m->stop; s++) {
        size_t bi = s / cfg->nusers, ui = s % cfg->nusers;
        const struct cfg_backend *be = &cfg->backends[bi];
        const struct cfg_user *u = &cfg->users[ui];
        for (uint32_t w = 0; w < m->p->nworkers && !m->stop; w++) {
            uint32_t *miss = &m->missing[w * m->nshards + s];
            while (*miss > 0 && now_ms() >= m->retry_at[bi]) {
                struct msg *msg = calloc(1, sizeof *msg);
                if (!msg)
                    return opened;
                char err[256];
                msg->globals_epoch = atomic_load(&m->p->globals_epoch); /* before it reads them */
                int rc =
                    connect_pooled(cfg, be, m->tls ? &m->tls[bi] : NULL, u, msg, err, sizeof err);
                if (rc < 0 && u->from_server && rc == -ECONNREFUSED && msg->code) {
                    grow_refused(m, w, s, *miss, msg, err);
                    free(msg);
                    *miss = 0;
                    break;
                }
                if (rc < 0) {
                    free(msg);
                    STAT_INC(m->p->mstats.connect_failed);
                    char addr[300];
                    log_debug("backend_connect_failed",
                              "backend=%s address=%s user=%s error=\"%s\" retry_ms=%llu", be->name,
                              cfg_addr_str(&be->addr, addr, sizeof addr), u->backend_user, err,
                              (unsigned long long)m->backoff_ms[bi]);
                    set_backend_state(m, bi, false, err);
                    /* Capped exponential backoff: one attempt per backend per period. */
                    m->retry_at[bi] = now_ms() + m->backoff_ms[bi];
                    m->backoff_ms[bi] = m->backoff_ms[bi] * 2 > BACKOFF_MAX_MS
                                            ? BACKOFF_MAX_MS
                                            : m->backoff_ms[bi] * 2;
                    break;
                }
                STAT_INC(m->p->mstats.conns_created);
                set_backend_state(m, bi, true, "");
                m->backoff_ms[bi] = BACKOFF_MIN_MS;
                msg->kind = MSG_BACKEND_NEW;
                msg->gen = m->gen;
                msg->worker = w;
                msg->shard = (uint32_t)s;
                msgq_push(&m->p->workers[w].inbox, msg);
                (*miss)--;
                opened++;
                if (opened_per_shard)
                    opened_per_shard[s]++;
            }
        }
    }
    return opened;
}

static int next_timeout(const struct maintenance *m)
{
    uint64_t now = now_ms(), soonest = UINT64_MAX;
    const struct cfg *cfg = m->cfg;
    for (uint32_t w = 0; w < m->p->nworkers; w++)
        for (size_t s = 0; s < m->nshards; s++)
            if (m->missing[w * m->nshards + s] > 0) {
                uint64_t at = m->retry_at[s / cfg->nusers];
                if (at < soonest)
                    soonest = at;
            }
    if (cfg->pool.health_check_interval_ms > 0 && m->next_check_ms < soonest)
        soonest = m->next_check_ms;
    if (cfg->pool.mode == CFG_POOL_TRANSACTION && m->next_routines_ms < soonest)
        soonest = m->next_routines_ms;
    if (replication_due_ms(m->repl) < soonest)
        soonest = replication_due_ms(m->repl);
    for (size_t i = 0; i < m->npinging; i++)
        if (m->pinging[i].lp.deadline_ms < soonest)
            soonest = m->pinging[i].lp.deadline_ms;
    if (soonest == UINT64_MAX)
        return -1;
    return soonest <= now ? 0 : (int)(soonest - now);
}

static void *maintenance_main(void *arg)
{
    struct maintenance *m = arg;
    const struct cfg *cfg = m->cfg;
    mysql_thread_init();
    uint32_t *first = calloc(m->nshards, sizeof *first);
    uint32_t opened = fill(m, first);
    for (size_t s = 0; s < m->nshards && first; s++)
        log_info("pool_ready", "pool=%s/%s size=%u target=%u workers=%u",
                 cfg->backends[s / cfg->nusers].name, cfg->users[s % cfg->nusers].name, first[s],
                 cfg->pool.size, m->p->nworkers);
    free(first);
    refresh_routines(m);                 /* before the first client */
    replication_step(m->repl, now_ms()); /* the roles as the servers say, before it too */
    uint64_t verdict = opened > 0 ? 1 : 2;
    ssize_t n = write(m->ready_fd, &verdict, sizeof verdict);
    (void)n;
    m->next_check_ms = now_ms() + cfg->pool.health_check_interval_ms;
    while (!m->stop) {
        /* The inbox, then the sockets whose COM_PING is under way. */
        struct pollfd *pfd = calloc(1 + m->npinging, sizeof *pfd);
        if (pfd) {
            pfd[0] = (struct pollfd){.fd = m->inbox.efd, .events = POLLIN};
            for (size_t i = 0; i < m->npinging; i++)
                pfd[1 + i] = (struct pollfd){.fd = m->pinging[i].lp.fd, .events = POLLIN};
            poll(pfd, 1 + m->npinging, next_timeout(m));
        }
        pings_step(m, pfd ? pfd + 1 : NULL);
        free(pfd);
        drain(m);
        if (!m->stop)
            fill(m, NULL);
        if (!m->stop && now_ms() >= m->next_routines_ms)
            refresh_routines(m);
        if (!m->stop)
            replication_step(m->repl, now_ms());
        /* The seed's health check (core/conn/health.c), on this thread's current config. */
        uint64_t every = m->cfg->pool.health_check_interval_ms;
        if (!m->stop && every > 0 && now_ms() >= m->next_check_ms) {
            m->next_check_ms = now_ms() + every;
            for (uint32_t w = 0; w < m->p->nworkers; w++)
                worker_post(&m->p->workers[w], MSG_HEALTH_CHECK);
        }
    }
    pings_step(m, NULL); /* stopping: the pinged connections are closed */
    free(m->pinging);
    name_set_unref(m->routines);
    mysql_thread_end();
    return NULL;
}

/* Frees m with its per-shard and per-backend tables. */
static void free_tables(struct maintenance *m)
{
    free(m->missing);
    free(m->retry_at);
    free(m->backoff_ms);
    free(m->state);
    connect_tls_free(m->tls, m->cfg->nbackends);
    free(m->p->backend_error);
    m->p->backend_error = NULL;
    replication_free(m->repl);
    free(m);
}

struct maintenance *maintenance_start(struct proxy *p, int ready_fd)
{
    const struct cfg *cfg = p->cfg;
    struct maintenance *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = p;
    m->cfg = cfg;
    m->ready_fd = ready_fd;
    m->nshards = cfg->nbackends * cfg->nusers;
    m->missing = calloc((size_t)p->nworkers * m->nshards, sizeof *m->missing);
    m->retry_at = calloc(cfg->nbackends, sizeof *m->retry_at);
    m->backoff_ms = calloc(cfg->nbackends, sizeof *m->backoff_ms);
    m->state = calloc(cfg->nbackends, sizeof *m->state);
    m->tls = connect_tls_build(cfg);
    m->repl = replication_new(p, cfg, tell_workers_cb, m);
    p->backend_error = calloc(cfg->nbackends, sizeof *p->backend_error);
    if (!m->missing || !m->retry_at || !m->backoff_ms || !m->state || !m->repl ||
        msgq_init(&m->inbox) < 0) {
        free_tables(m);
        return NULL;
    }
    for (size_t b = 0; b < cfg->nbackends; b++) {
        m->backoff_ms[b] = BACKOFF_MIN_MS;
        m->state[b] = -1;
    }
    for (uint32_t w = 0; w < p->nworkers; w++)
        for (size_t s = 0; s < m->nshards; s++)
            m->missing[w * m->nshards + s] = p->workers[w].shards[s].pending; /* first fill */
    atomic_store(&p->maint_inbox, &m->inbox);
    if (pthread_create(&m->thread, NULL, maintenance_main, m) != 0) {
        atomic_store(&p->maint_inbox, NULL);
        msgq_destroy(&m->inbox);
        free_tables(m);
        return NULL;
    }
    return m;
}

void maintenance_post(struct maintenance *m, struct msg *msg)
{
    msgq_push(&m->inbox, msg);
}

void maintenance_stop(struct maintenance *m)
{
    if (!m)
        return;
    struct msg *msg = calloc(1, sizeof *msg);
    if (msg) {
        msg->kind = MSG_STOP;
        msg->fd = -1;
        msgq_push(&m->inbox, msg);
    } else {
        m->stop = true;
    }
    pthread_join(m->thread, NULL);
    atomic_store(&m->p->maint_inbox, NULL);
    msgq_destroy(&m->inbox);
    while (m->old_up) {
        struct old_up *o = m->old_up;
        m->old_up = o->next;
        free((void *)o->up);
        free(o);
    }
    free_tables(m);
}
