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

#include "core/log.h"
#include "core/maintenance.h"
#include "core/proxy_int.h"
#include "core/worker.h"

enum { EXIT_CLEAN = 0, EXIT_RUNTIME = 1 };

static void ask_maintenance(struct proxy *p, enum msg_kind kind, uint32_t worker, uint32_t shard)
{
    if (!p->maint || atomic_load(&p->stopping))
        return;
    struct msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->kind = kind;
    m->worker = worker;
    m->shard = shard;
    m->fd = -1;
    maintenance_post(p->maint, m);
}

void proxy_backend_lost(struct proxy *p, uint32_t worker, uint32_t shard)
{
    ask_maintenance(p, MSG_BACKEND_LOST, worker, shard);
}

void proxy_backend_grow(struct proxy *p, uint32_t worker, uint32_t shard)
{
    ask_maintenance(p, MSG_BACKEND_GROW, worker, shard);
}

void proxy_hand_over(struct proxy *p, struct msg *m)
{
    if (!p->maint || atomic_load(&p->stopping)) {
        close(m->fd);
        free(m);
        return;
    }
    maintenance_post(p->maint, m);
}

/* Waits for a stop signal (SIGHUP is logged: reload is not supported yet) or, while
 * waiting_ready, for the maintenance thread's first fill. Returns the signal, or 0 for
 * "ready" (*ready set to the verdict). */
static int wait_event(int sfd, int ready_fd, bool waiting_ready, uint64_t *ready)
{
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ready_fd, .events = POLLIN}};
        int n = poll(pfd, waiting_ready ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    log_warn("reload_unsupported", "signal=SIGHUP action=ignored");
                    continue;
                }
                return (int)si.ssi_signo;
            }
        }
        if (waiting_ready && (pfd[1].revents & POLLIN)) {
            if (read(ready_fd, ready, sizeof *ready) == (ssize_t)sizeof *ready)
                return 0;
        }
    }
}

int proxy_run(const struct cfg *cfg)
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
    atomic_init(&p.stopping, false);
    p.workers = aligned_alloc(_Alignof(struct worker), p.nworkers * sizeof *p.workers);
    if (p.workers)
        memset(p.workers, 0, p.nworkers * sizeof *p.workers);
    p.backend_up = calloc(cfg->nbackends, sizeof *p.backend_up);
    uint32_t started = 0;
    if (sfd < 0 || ready_fd < 0 || !p.workers || !p.backend_up) {
        log_error("startup_failed", "error=\"%s\"", strerror(errno));
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (cfg->pool.size < p.nworkers)
        log_warn("pool_smaller_than_workers",
                 "pool_size=%u workers=%u reason=\"each worker serves only from its own shard "
                 "(no borrowing): workers without a connection answer 1040; raise pool.size or "
                 "lower workers\"",
                 cfg->pool.size, p.nworkers);
    for (; started < p.nworkers; started++) {
        if (worker_start(&p.workers[started], &p, started) < 0) {
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
    int sig = wait_event(sfd, ready_fd, true, &ready);
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
        log_info("listening", "listen=%s:%u workers=%u", cfg->listen.host, cfg->listen.port,
                 p.nworkers);
        sig = wait_event(sfd, ready_fd, false, &ready);
    }
    log_info("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "?");
out:
    /* Workers first: once joined, none can post to the maintenance thread any more; its
     * last hand-offs land in inboxes that worker_destroy() drains (closing the sockets). */
    atomic_store(&p.stopping, true);
    for (uint32_t i = 0; i < started; i++)
        worker_stop(&p.workers[i]);
    maintenance_stop(p.maint);
    p.maint = NULL;
    for (uint32_t i = 0; i < started; i++)
        worker_destroy(&p.workers[i]);
    free(p.workers);
    free((void *)p.backend_up);
    if (sfd >= 0)
        close(sfd);
    if (ready_fd >= 0)
        close(ready_fd);
    mysql_library_end();
    if (rc == EXIT_CLEAN)
        log_info("stopped", "exit=0");
    return rc;
}
