/* health: a worker's half of the seed's health check. The maintenance thread sends
 * MSG_HEALTH_CHECK every pool.health_check_interval; the worker answers by handing it, per
 * shard, the available connections idle longer than pool.stale_after (it closes them and
 * opens as many new ones, down to pool.min_idle) and those neither used nor pinged for a
 * whole interval (it pings them and sends them back). Busy connections are never touched. */
#include "core/conn/health.h"

#include "core/conn/backend.h"

#include "core/worker/worker.h"

/* Per shard and check: the pool never empties at once, and one check stays short. */
enum { HEALTH_BATCH = 4 };

static void check_shard(struct worker *w, struct pool_shard *sh)
{
    const struct cfg_pool *pc = &w->cfg->pool;
    struct pool_conn *c;
    if (pc->stale_after_ms > 0) {
        for (int n = 0;
             n < HEALTH_BATCH && (c = pool_take_stale(sh, w->now_ms, pc->stale_after_ms)); n++) {
            /* Replaced unless the shard may shrink to pool.min_idle (see docs/config.md). */
            bool replace = pool_size(sh) + sh->pending < sh->min_idle;
            if (replace)
                sh->pending++;
            backend_hand_over((struct backend *)c, MSG_CONN_STALE, replace);
        }
    }
    uint64_t every = pc->health_check_interval_ms;
    for (int n = 0;
         every > 0 && n < HEALTH_BATCH && (c = pool_take_unchecked(sh, w->now_ms, every)); n++) {
        sh->pending++;
        backend_hand_over((struct backend *)c, MSG_CONN_PING, true);
    }
}

void health_close_idle(struct worker *w, uint32_t backend)
{
    const struct cfg *cfg = w->cfg;
    for (size_t u = 0; u < cfg->nusers && !w->stopping; u++) {
        struct pool_shard *sh = &w->shards[backend * cfg->nusers + u];
        struct pool_conn *c;
        while ((c = pool_take_stale(sh, w->now_ms, 0))) {
            sh->pending++;
            backend_hand_over((struct backend *)c, MSG_CONN_STALE, true);
        }
    }
}

void health_check(struct worker *w)
{
    if (w->stopping)
        return;
    for (size_t i = 0; i < w->nshards; i++)
        check_shard(w, &w->shards[i]);
    /* Shards a reload removed: their connections close as their sessions let them go. */
}
