/* worker_reload: a worker switches to a new config (SIGHUP). Backends and users are matched
 * by name, so they may be added, removed or reordered:
 *
 * - every (backend, user) pair still configured keeps its connections, available and busy,
 *   moved into the new shard array (pool_shard_move) with the new pool.size share;
 * - a removed pair's idle connections close now; its busy ones stay with their sessions in
 *   the old array, now "retired" (target 0), and close when their sessions let them go;
 * - sessions re-index their user (session_remap_users);
 * - the worker reports each new shard's deficit to the maintenance thread, which rebuilt
 *   its own tables for the same generation, and drops any connection opened for an
 *   earlier one (msg->gen).
 *
 * The admin endpoint reads a new gauge set, tagged with the generation. */
#include <stdlib.h>
#include <string.h>

#include "core/base/post.h"
#include "core/base/log.h"
#include "core/base/shared.h"
#include "core/conn/backend.h"
#include "core/conn/session.h"
#include "core/conn/worker_reload.h"
#include "core/worker/worker.h"

/* Indices in cfg of the backend and user named so, or -1. */
static long find_backend(const struct cfg *cfg, const char *name)
{
    const struct cfg_backend *b = cfg_find_backend(cfg, name);
    return b ? b - cfg->backends : -1;
}

static long find_user(const struct cfg *cfg, const char *name)
{
    const struct cfg_user *u = cfg_find_user(cfg, name);
    return u ? u - cfg->users : -1;
}

/* Closes the idle connections of a retired shard; true when it holds none any more. */
static bool retire_idle(struct pool_shard *sh)
{
    struct pool_conn *c;
    while ((c = pool_take_stale(sh, UINT64_MAX, 0)))
        backend_discard((struct backend *)c, "its backend or user was removed from the config");
    return pool_size(sh) == 0;
}

void worker_sweep_retired(struct worker *w)
{
    for (struct retired_shards **pp = &w->retired, *r; (r = *pp);) {
        bool empty = true;
        for (size_t i = 0; i < r->n; i++)
            empty = retire_idle(&r->shards[i]) && empty;
        if (!empty) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        free(r->shards);
        free(r);
    }
}

/* Builds the new tables; false (nothing changed) when memory ran out. */
static bool rebuild(struct worker *w, const struct cfg *cfg, uint32_t gen, bool keep_checks)
{
    const struct cfg *old = w->cfg;
    size_t n = cfg->nbackends * cfg->nusers;
    struct pool_shard *shards = calloc(n ? n : 1, sizeof *shards);
    struct worker_user *users = calloc(cfg->nusers, sizeof *users);
    struct worker_backend_info *binfo = calloc(cfg->nbackends, sizeof *binfo);
    struct shard_gauges *gauges = worker_gauges_new(gen, n);
    struct retired_shards *r = calloc(1, sizeof *r);
    if (!shards || !users || !binfo || !gauges || !r) {
        free(shards);
        free(users);
        free(binfo);
        free(gauges);
        free(r);
        return false;
    }
    uint32_t target = pool_split(cfg->pool.size, w->proxy->nworkers, w->id);
    for (size_t b = 0; b < cfg->nbackends; b++) {
        long ob = find_backend(old, cfg->backends[b].name);
        if (ob >= 0)
            binfo[b] = w->binfo[ob];
        else
            worker_binfo_init(&binfo[b], &cfg->backends[b]);
        for (size_t u = 0; u < cfg->nusers; u++) {
            struct pool_shard *sh = &shards[b * cfg->nusers + u];
            pool_shard_init(sh, cfg->backends[b].name, cfg->users[u].name, (uint32_t)b, (uint32_t)u,
                            target);
            sh->server_user = cfg->users[u].from_server;
            /* A server user's pool opens on demand and shrinks to nothing when idle. */
            sh->min_idle =
                sh->server_user ? 0 : pool_split(cfg->pool.min_idle, w->proxy->nworkers, w->id);
            long ou = find_user(old, cfg->users[u].name);
            if (ob >= 0 && ou >= 0)
                pool_shard_move(sh, &w->shards[(size_t)ob * old->nusers + (size_t)ou]);
        }
    }
    /* What is left in the old array belongs to removed pairs. */
    bool left = false;
    for (size_t i = 0; i < w->nshards; i++) {
        w->shards[i].target = 0;
        w->shards[i].retired = true;
        left = !retire_idle(&w->shards[i]) || left;
    }
    /* A connection being handed to the maintenance thread still names its old shard until its
     * receive's cancellation completes (the next turn of the loop): keep the array until the
     * next sweep. */
    for (struct backend *b = w->live_backends; b && !left; b = b->next_live)
        left = b->state == B_HANDOFF && b->pc.shard >= w->shards &&
               b->pc.shard < w->shards + w->nshards;
    if (left) {
        r->shards = w->shards;
        r->n = w->nshards;
        r->next = w->retired;
        w->retired = r;
    } else {
        free(w->shards);
        free(r);
    }
    struct worker_user *old_users = w->users;
    free(w->binfo);
    w->shards = shards;
    w->nshards = n;
    w->users = users;
    w->binfo = binfo;
    w->cfg = cfg;
    w->gen = gen;
    worker_users_init(w);
    /* A reload that only added server users keeps when the others were last checked. */
    for (size_t u = 0; keep_checks && u < cfg->nusers; u++) {
        long ou = find_user(old, cfg->users[u].name);
        if (ou >= 0 && cfg->users[u].from_server)
            users[u].checked_ms = old_users[ou].checked_ms;
    }
    free(old_users);
    gauges->older = w->gauges;
    atomic_store_explicit(&w->gauges, gauges, memory_order_release);
    /* Live backend connections learn their new shard index. */
    for (struct backend *b = w->live_backends; b; b = b->next_live)
        if (b->pc.shard >= shards && b->pc.shard < shards + n)
            b->shard_idx = (uint32_t)(b->pc.shard - shards);
    session_remap_users(w, old);
    return true;
}

void worker_apply_cfg(struct worker *w, const struct cfg *cfg, uint32_t gen, bool keep_checks)
{
    if (!rebuild(w, cfg, gen, keep_checks)) {
        /* No acknowledgement: the old config this worker goes on with must not be freed. */
        log_error("reload_failed",
                  "worker=%u error=\"out of memory\" action=\"kept the "
                  "previous config on this worker\"",
                  w->id);
        return;
    }
    for (size_t i = 0; i < w->nshards; i++) {
        struct pool_shard *sh = &w->shards[i];
        /* Shrinking: idle connections beyond the target go now, busy ones when released. */
        struct pool_conn *c;
        while (pool_size(sh) > sh->target && (c = pool_take_stale(sh, UINT64_MAX, 0)))
            backend_discard((struct backend *)c, "pool.size lowered");
        /* The maintenance thread starts this generation with nothing missing: tell it (up to
         * pool.min_idle's share; the shard grows on demand from there). */
        for (uint32_t have = pool_size(sh); have < sh->min_idle && !w->stopping; have++) {
            sh->pending++;
            post_backend_lost(w->proxy, w->id, (uint32_t)i, w->gen);
        }
    }
    post_reload_ack(w->proxy);
}
