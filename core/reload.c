/* reload: see reload.h. */
#include "core/reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/maintenance.h"
#include "core/proxy_int.h"
#include "core/worker.h"

void proxy_reload_ack(struct proxy *p)
{
    uint64_t one = 1;
    ssize_t n = write(p->reload_ack_fd, &one, sizeof one);
    (void)n;
}

static bool addr_eq(const struct cfg_addr *a, const struct cfg_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static void needs_restart(const char *key, const struct cfg_addr *run, const struct cfg_addr *want)
{
    log_warn("reload_needs_restart", "key=%s running=\"%s:%u\" configured=\"%s:%u\"", key,
             run->host, run->port, want->host, want->port);
}

bool reload_compatible(const struct cfg *cur, struct cfg *next, char *why, size_t len)
{
    bool same = cur->nbackends == next->nbackends && cur->nusers == next->nusers;
    for (size_t i = 0; same && i < cur->nbackends; i++)
        same = strcmp(cur->backends[i].name, next->backends[i].name) == 0;
    for (size_t i = 0; same && i < cur->nusers; i++)
        same = strcmp(cur->users[i].name, next->users[i].name) == 0;
    if (!same) {
        snprintf(why, len,
                 "backends or users were added, removed, renamed or reordered: this needs a "
                 "restart (pool sizes, timeouts, passwords, addresses and log settings reload)");
        return false;
    }
    if (!addr_eq(&cur->listen, &next->listen)) {
        needs_restart("listen", &cur->listen, &next->listen);
        next->listen = cur->listen;
    }
    if (!addr_eq(&cur->admin_listen, &next->admin_listen)) {
        needs_restart("admin.listen", &cur->admin_listen, &next->admin_listen);
        next->admin_listen = cur->admin_listen;
    }
    if (cur->workers != next->workers) {
        log_warn("reload_needs_restart", "key=workers running=%u configured=%u", cur->workers,
                 next->workers);
        next->workers = cur->workers;
    }
    return true;
}

/* A thread whose message could not be allocated never acknowledges: the old config is then
 * kept (until exit) rather than freed under it. */
static struct msg *reload_msg(const struct cfg *cfg)
{
    struct msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = MSG_RELOAD;
        m->fd = -1;
        m->cfg = cfg;
    }
    return m;
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
    char why[256];
    if (!reload_compatible(cur, next, why, sizeof why)) {
        log_error("reload_rejected", "config=%s reason=\"%s\" action=\"kept the running config\"",
                  cur->path, why);
        cfg_free(next);
        STAT_INC(p->reloads_rejected);
        return;
    }
    log_init(next->log_level, next->log_format);
    /* Published before the messages: the maintenance thread reads p->cfg on each pass and
     * acknowledges its message once no pass can still hold the old one. */
    r->old = (struct cfg *)cur;
    r->pending = p->nworkers + 1;
    atomic_store(&p->cfg, next);
    struct msg *m = reload_msg(next);
    if (m)
        maintenance_post(p->maint, m);
    for (uint32_t i = 0; i < p->nworkers; i++) {
        m = reload_msg(next);
        if (m)
            msgq_push(&p->workers[i].inbox, m);
    }
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
    cfg_free(r->old);
    r->old = NULL;
    r->pending = 0;
}
