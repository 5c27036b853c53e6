/* proxy: start-up, signals and shutdown. The main thread starts the workers (each binds its
 * own SO_REUSEPORT socket), lets the maintenance thread fill the pools, then opens the
 * listeners and waits for a signal on a signalfd. */
#include "core/proxy.h"

#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/base/clock.h"
#include "core/admin/admin.h"
#include "core/base/log.h"
#include "core/base/tls_ctx.h"
#include "core/conn/events.h"
#include "core/maintenance/maintenance.h"
#include "core/base/shared.h"
#include "core/reload.h"
#include "core/server_users.h"
#include "core/worker/worker.h"

enum { EXIT_CLEAN = 0, EXIT_RUNTIME = 1 };

/* The workers' I/O engine: the config's io, or RINGSQL_IO from the environment (an override
 * for tests and for trying the other engine without editing the file); auto takes io_uring
 * where it can be set up. Logged with the reason; -1 when the engine asked for cannot run. */
static int choose_io(const struct cfg *cfg, enum io_kind *out)
{
    enum cfg_io want = cfg->io;
    const char *env = getenv("RINGSQL_IO");
    const char *from = "config";
    if (env && *env) {
        if (!cfg_io_parse(env, &want)) {
            log_error("io_unknown", "RINGSQL_IO=%s expected=\"auto, io_uring or epoll\"", env);
            return -1;
        }
        from = "RINGSQL_IO";
    }
    if (want == CFG_IO_EPOLL) {
        *out = IO_EPOLL;
        log_info("io_engine", "engine=epoll reason=\"%s says epoll\"", from);
        return 0;
    }
    const char *step = "";
    int rc = io_uring_probe(&step);
    if (rc == 0) {
        *out = IO_URING;
        log_info("io_engine", "engine=io_uring reason=\"%s says %s\"", from, cfg_io_name(want));
        return 0;
    }
    if (want == CFG_IO_URING) {
        log_error("io_engine_failed",
                  "engine=io_uring error=\"%s: %s\" hint=\"io: auto or io: epoll runs without "
                  "io_uring\"",
                  step, strerror(-rc));
        return -1;
    }
    *out = IO_EPOLL;
    log_info("io_engine", "engine=epoll reason=\"%s: %s\"", step, strerror(-rc));
    return 0;
}

/* Waits, before the listeners open, for the maintenance thread's first fill (returns 0,
 * *ready set to its verdict) or a stop signal (returns it; SIGHUP is ignored this early). */
static int wait_ready(int sfd, int ready_fd, uint64_t *ready)
{
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ready_fd, .events = POLLIN}};
        int n = poll(pfd, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGHUP)
                return (int)si.ssi_signo;
        }
        if ((pfd[1].revents & POLLIN) && read(ready_fd, ready, sizeof *ready) == sizeof *ready)
            return 0;
    }
}

static uint64_t read_count(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        return 0;
    return v;
}

/* SIGTERM: stop accepting at once (readyz turns 503), then wait for the sessions. */
static uint64_t begin_drain(struct proxy *p)
{
    uint64_t timeout = p->cfg->shutdown.drain_timeout_ms;
    atomic_store(&p->draining, true);
    for (uint32_t i = 0; i < p->nworkers; i++)
        worker_post(&p->workers[i], MSG_DRAIN);
    log_info("draining", "signal=SIGTERM drain_timeout_ms=%llu", (unsigned long long)timeout);
    return clock_ms() + timeout;
}

/* Serves signals until it is time to stop: SIGHUP reloads; SIGTERM drains (until every
 * worker has no session, or shutdown.drain_timeout, or another SIGTERM); SIGINT stops now. */
static void serve(struct proxy *p, int sfd, struct reload *r)
{
    uint64_t deadline = 0;
    uint32_t drained = 0;
    for (;;) {
        struct pollfd pfd[4] = {{.fd = sfd, .events = POLLIN},
                                {.fd = p->reload_ack_fd, .events = POLLIN},
                                {.fd = p->drained_fd, .events = POLLIN},
                                {.fd = p->main_inbox.efd, .events = POLLIN}};
        int timeout = -1;
        if (deadline) {
            uint64_t now = clock_ms();
            timeout = deadline > now ? (int)(deadline - now) : 0;
        }
        int n = poll(pfd, 4, timeout);
        if (n < 0 && errno != EINTR)
            return;
        if (n > 0 && (pfd[1].revents & POLLIN)) {
            reload_acked(r, read_count(p->reload_ack_fd));
            if (r->pending == 0)
                server_users_flush(p, r);
        }
        if (n > 0 && (pfd[3].revents & POLLIN)) {
            read_count(p->main_inbox.efd);
            for (struct msg *m = msgq_take_all(&p->main_inbox), *next; m; m = next) {
                next = m->next;
                server_users_found(p, r, m);
            }
        }
        if (n > 0 && (pfd[2].revents & POLLIN)) {
            drained += (uint32_t)read_count(p->drained_fd);
            if (deadline && drained >= p->nworkers) {
                log_info("drained", "reason=\"every client left\"");
                return;
            }
        }
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
                continue;
            if (si.ssi_signo == SIGHUP) {
                reload_start(p, r);
            } else if (si.ssi_signo == SIGTERM && !deadline) {
                deadline = begin_drain(p);
            } else {
                log_info("stopping", "signal=%s reason=\"%s\"",
                         si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
                         deadline ? "second signal: stop now" : "stop now");
                return;
            }
        }
        if (deadline && clock_ms() >= deadline) {
            log_warn("drain_timeout",
                     "drain_timeout_ms=%llu workers_not_drained=%u "
                     "action=\"closing the remaining sessions with an ERR\"",
                     (unsigned long long)p->cfg->shutdown.drain_timeout_ms, p->nworkers - drained);
            return;
        }
    }
}

int proxy_run(struct cfg *cfg)
{
    int rc = EXIT_CLEAN;
    mysql_library_init(0, NULL, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    int ready_fd = eventfd(0, EFD_CLOEXEC);
    struct proxy p = {.cfg = cfg, .nworkers = cfg->workers};
    struct reload reload = {0};
    atomic_init(&p.stopping, false);
    atomic_init(&p.draining, false);
    p.reload_ack_fd = eventfd(0, EFD_CLOEXEC);
    p.drained_fd = eventfd(0, EFD_CLOEXEC);
    int inbox_rc = msgq_init(&p.main_inbox);
    p.workers = aligned_alloc(_Alignof(struct worker), p.nworkers * sizeof *p.workers);
    if (p.workers)
        memset(p.workers, 0, p.nworkers * sizeof *p.workers);
    p.backend_up = calloc(cfg->nbackends, sizeof *p.backend_up);
    uint32_t started = 0;
    if (sfd < 0 || ready_fd < 0 || p.reload_ack_fd < 0 || p.drained_fd < 0 || inbox_rc < 0 ||
        !p.workers || !p.backend_up) {
        log_error("startup_failed", "error=\"%s\"", strerror(errno));
        rc = EXIT_RUNTIME;
        goto out;
    }
    for (size_t b = 0; b < cfg->nbackends; b++)
        atomic_store(&p.backend_up[b], 1); /* until the maintenance thread marks one down */
    p.admin = admin_open(&p, &cfg->admin_listen);
    if (!p.admin || admin_start(p.admin) < 0) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (cfg->pool.size < p.nworkers)
        log_warn("pool_smaller_than_workers",
                 "pool_size=%u workers=%u reason=\"each worker serves only from its own shard "
                 "(no borrowing): workers without a connection answer 1040; raise pool.size or "
                 "lower workers\"",
                 cfg->pool.size, p.nworkers);
    if (cfg->tls.enabled) {
        char err[300];
        p.tls_server = tls_ctx_server(&cfg->tls, err, sizeof err);
        if (!p.tls_server) {
            log_error("tls_failed", "error=\"%s\"", err);
            rc = EXIT_RUNTIME;
            goto out;
        }
        log_info("tls", "cert=%s ca=%s min_version=%s", cfg->tls.cert,
                 cfg->tls.ca ? cfg->tls.ca : "-",
                 cfg->tls.min_version == CFG_TLS_1_3 ? "1.3" : "1.2");
    }
    char rsa_err[200];
    if (tls_ctx_rsa(cfg, &p.rsa_key, &p.rsa_pem, rsa_err, sizeof rsa_err) < 0) {
        log_error("rsa_key_failed", "error=\"%s\"", rsa_err);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (choose_io(cfg, &p.io_kind) < 0) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    for (; started < p.nworkers; started++) {
        if (worker_start(&p.workers[started], &p, started, &conn_hooks) < 0) {
            worker_destroy(&p.workers[started]);
            rc = EXIT_RUNTIME;
            goto out;
        }
    }
    p.maint = maintenance_start(&p, ready_fd);
    if (!p.maint) {
        log_error("startup_failed", "error=\"could not start the maintenance thread\"");
        rc = EXIT_RUNTIME;
        goto out;
    }
    uint64_t ready = 0;
    int sig = wait_ready(sfd, ready_fd, &ready);
    if (sig == 0) {
        /* A sidecar may start before its database: serve (clients get a 2003-style ERR naming the
         * backend and its error) while the maintenance thread keeps retrying. */
        if (ready != 1)
            log_warn("no_backend",
                     "reason=\"no backend connection could be opened at start; "
                     "retrying with backoff, clients get a 2003-style ERR meanwhile; check "
                     "backends[].address and the users' credentials\"");
        for (uint32_t i = 0; i < p.nworkers; i++)
            worker_post(&p.workers[i], MSG_LISTEN);
        for (size_t i = 0; i < cfg->nroutes; i++)
            log_info("listening", "listen=%s:%u route=%s policy=%s workers=%u",
                     cfg->routes[i].listen.host, cfg->routes[i].listen.port, cfg->routes[i].name,
                     cfg_policy_name(cfg->routes[i].policy), p.nworkers);
        serve(&p, sfd, &reload);
    } else {
        log_info("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
out:
    /* Workers first: once joined, none can post to the maintenance thread any more; its
     * last hand-offs land in inboxes that worker_destroy() drains (closing the sockets). */
    atomic_store(&p.stopping, true);
    for (uint32_t i = 0; i < started; i++)
        worker_stop(&p.workers[i]);
    maintenance_stop(p.maint);
    p.maint = NULL;
    admin_close(p.admin);
    for (uint32_t i = 0; i < started; i++)
        worker_destroy(&p.workers[i]);
    free(p.workers);
    free((void *)p.backend_up);
    if (sfd >= 0)
        close(sfd);
    if (ready_fd >= 0)
        close(ready_fd);
    if (p.reload_ack_fd >= 0)
        close(p.reload_ack_fd);
    if (p.drained_fd >= 0)
        close(p.drained_fd);
    msgq_destroy(&p.main_inbox);
    for (struct msg *m = reload.waiting, *next; m; m = next) {
        next = m->next;
        msg_free(m);
    }
    reload_finish(&reload);
    SSL_CTX_free(p.tls_server);
    EVP_PKEY_free(p.rsa_key);
    free(p.rsa_pem);
    cfg_free((struct cfg *)p.cfg);
    mysql_library_end();
    if (rc == EXIT_CLEAN)
        log_info("stopped", "exit=0");
    return rc;
}
