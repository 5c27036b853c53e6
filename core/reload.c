/* reload: see reload.h. */
#include "core/reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/admin/admin.h"
#include "core/base/log.h"
#include "core/base/tls_ctx.h"
#include "core/maintenance/maintenance.h"
#include "core/base/shared.h"
#include "core/worker/worker.h"

static bool addr_eq(const struct cfg_addr *a, const struct cfg_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static void needs_restart(const char *key, const struct cfg_addr *run, const struct cfg_addr *want)
{
    log_warn("reload_needs_restart", "key=%s running=\"%s:%u\" configured=\"%s:%u\"", key,
             run->host, run->port, want->host, want->port);
}

/* The listeners are the workers' sockets: a route's policy may change, not its listener, nor
 * how many there are (then the running routes stay, policies and all). False: out of memory. */
static bool keep_routes(const struct cfg *cur, struct cfg *next)
{
    bool same = cur->nroutes == next->nroutes;
    for (size_t i = 0; same && i < cur->nroutes; i++)
        same = addr_eq(&cur->routes[i].listen, &next->routes[i].listen);
    if (same)
        return true;
    struct cfg_route *kept = calloc(cur->nroutes, sizeof *kept);
    bool ok = kept != NULL;
    for (size_t i = 0; ok && i < cur->nroutes; i++) {
        kept[i] = cur->routes[i];
        kept[i].name = strdup(cur->routes[i].name);
        ok = kept[i].name != NULL;
    }
    if (!ok) {
        for (size_t i = 0; kept && i < cur->nroutes; i++)
            free(kept[i].name);
        free(kept);
        return false;
    }
    log_warn("reload_needs_restart",
             "key=routes running=%zu configured=%zu action=\"the running routes are kept\"",
             cur->nroutes, next->nroutes);
    for (size_t i = 0; i < next->nroutes; i++)
        free(next->routes[i].name);
    free(next->routes);
    next->routes = kept;
    next->nroutes = cur->nroutes;
    return true;
}

bool reload_keep_restart_keys(const struct cfg *cur, struct cfg *next)
{
    if (!addr_eq(&cur->listen, &next->listen)) {
        needs_restart("listen", &cur->listen, &next->listen);
        next->listen = cur->listen;
    }
    if (!keep_routes(cur, next))
        return false;
    if (!addr_eq(&cur->admin_listen, &next->admin_listen)) {
        needs_restart("admin.listen", &cur->admin_listen, &next->admin_listen);
        next->admin_listen = cur->admin_listen;
    }
    if (cur->workers != next->workers) {
        log_warn("reload_needs_restart", "key=workers running=%u configured=%u", cur->workers,
                 next->workers);
        next->workers = cur->workers;
    }
    if (cur->receive_buffers != next->receive_buffers) {
        log_warn("reload_needs_restart", "key=receive_buffers running=%u configured=%u",
                 cur->receive_buffers, next->receive_buffers);
        next->receive_buffers = cur->receive_buffers;
    }
    if (cur->io != next->io) {
        log_warn("reload_needs_restart", "key=io running=%s configured=%s", cfg_io_name(cur->io),
                 cfg_io_name(next->io));
        next->io = cur->io;
    }
    return true;
}

void reload_log_changes(const struct cfg *cur, const struct cfg *next)
{
    char addr[300];
    for (size_t i = 0; i < next->nbackends; i++)
        if (!cfg_find_backend(cur, next->backends[i].name))
            log_info("reload_backend_added", "backend=%s address=%s", next->backends[i].name,
                     cfg_addr_str(&next->backends[i].addr, addr, sizeof addr));
    for (size_t i = 0; i < cur->nbackends; i++)
        if (!cfg_find_backend(next, cur->backends[i].name))
            log_info("reload_backend_removed",
                     "backend=%s action=\"idle connections close now, "
                     "busy ones when their clients let them go\"",
                     cur->backends[i].name);
    for (size_t i = 0; i < next->nusers; i++)
        if (!cfg_find_user(cur, next->users[i].name))
            log_info("reload_user_added", "user=%s", next->users[i].name);
    for (size_t i = 0; i < cur->nusers; i++)
        if (!cfg_find_user(next, cur->users[i].name))
            log_info("reload_user_removed", "user=%s action=\"logged-in clients stay\"",
                     cur->users[i].name);
}

/* The clients' TLS context for next: certificates and keys are read again (a rotation by
 * cert-manager), sessions keep theirs. Ones that do not load keep the running context. */
static void reload_tls(struct proxy *p, const struct cfg *next)
{
    SSL_CTX *ctx = NULL;
    if (next->tls.enabled) {
        char err[300];
        ctx = tls_ctx_server(&next->tls, err, sizeof err);
        if (!ctx) {
            log_error("reload_tls_failed", "error=\"%s\" action=\"%s\"", err,
                      p->tls_server ? "kept the running certificates" : "TLS stays off");
            return;
        }
        log_info("reload_tls", "cert=%s", next->tls.cert);
    } else if (p->tls_server) {
        log_info("reload_tls", "cert=- action=\"TLS off for new clients\"");
    }
    SSL_CTX_free(p->tls_server);
    p->tls_server = ctx;
}

/* A thread whose message could not be allocated never acknowledges: the old config is then
 * kept (until exit) rather than freed under it. */
static struct msg *reload_msg(const struct cfg *cfg, uint32_t gen)
{
    struct msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = MSG_RELOAD;
        m->fd = -1;
        m->cfg = cfg;
        m->gen = gen;
    }
    return m;
}

void reload_publish(struct proxy *p, struct reload *r, struct cfg *next, bool users_only)
{
    /* Published before the messages: the maintenance thread reads p->cfg on each pass and
     * acknowledges its message once no pass can still hold the old one. */
    r->old = (struct cfg *)p->cfg;
    r->pending = p->nworkers + 1 + (p->admin ? 1 : 0);
    atomic_store(&p->cfg, next);
    r->gen++;
    struct msg *m = reload_msg(next, r->gen);
    if (m)
        maintenance_post(p->maint, m);
    if (p->admin && (m = reload_msg(next, r->gen)))
        admin_post(p->admin, m);
    for (uint32_t i = 0; i < p->nworkers; i++) {
        m = reload_msg(next, r->gen);
        if (m)
            m->users_only = users_only;
        if (m && p->tls_server && SSL_CTX_up_ref(p->tls_server))
            m->tls = p->tls_server;
        if (m)
            msgq_push(&p->workers[i].inbox, m);
    }
}

void reload_start(struct proxy *p, struct reload *r)
{
    const struct cfg *cur = p->cfg;
    if (r->pending > 0 || atomic_load(&p->draining)) {
        log_warn("reload_skipped", "config=%s reason=\"%s\"", cur->path,
                 r->pending ? "the previous reload is still being applied; send SIGHUP again"
                            : "draining");
        return;
    }
    struct cfg *next;
    struct cfg_errors errs;
    if (cfg_load(cur->path, &next, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            log_error("reload_config_error", "error=\"%s\"", errs.lines[i]);
        log_error("reload_rejected", "config=%s errors=%zu action=\"kept the running config\"",
                  cur->path, errs.count);
        cfg_errors_free(&errs);
        STAT_INC(p->reloads_rejected);
        return;
    }
    /* The server users logins proved stay (their sessions with them); each is checked with
     * the server again at its next login (worker_users_init forgets when it was). */
    if (!reload_keep_restart_keys(cur, next) ||
        cfg_add_server_users(next, r->users, r->nusers) < 0) {
        log_error("reload_rejected", "config=%s error=\"out of memory\"", cur->path);
        cfg_free(next);
        STAT_INC(p->reloads_rejected);
        return;
    }
    reload_log_changes(cur, next);
    reload_tls(p, next);
    char rsa_err[200];
    if (tls_ctx_rsa(next, &p->rsa_key, &p->rsa_pem, rsa_err, sizeof rsa_err) < 0)
        log_error("reload_rsa_key_failed",
                  "error=\"%s\" action=\"users stored as caching_sha2_password hashes need TLS\"",
                  rsa_err);
    log_init(next->log_level, next->log_format);
    reload_publish(p, r, next, false);
    STAT_INC(p->reloads_applied);
    log_info("reloaded", "config=%s pool_size=%u log_level=%s", next->path, next->pool.size,
             cfg_log_level_name(next->log_level));
}

void reload_acked(struct reload *r, uint64_t n)
{
    if (r->pending == 0)
        return;
    r->pending = n >= r->pending ? 0 : r->pending - (uint32_t)n;
    if (r->pending == 0) {
        cfg_free(r->old);
        r->old = NULL;
    }
}

void reload_finish(struct reload *r)
{
    free(r->users);
    r->users = NULL;
    r->nusers = 0;
    cfg_free(r->old);
    r->old = NULL;
    r->pending = 0;
}
