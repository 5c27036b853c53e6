/* session_route: which backend a bind takes (routes:, backends[].role): reads to the replica
 * whose turn it is, writes to the primary, split's per-command choice; and the ERRs when
 * none can serve. */
#include "core/conn/session_int.h"

#include <stdio.h>

#include "core/base/post.h"
#include "core/base/shared.h"
#include "core/conn/backend.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"

static struct pool_shard *shard_of(struct worker *w, uint32_t backend, uint32_t user)
{
    return &w->shards[backend * w->cfg->nusers + user];
}

static bool has_role(const struct worker_backend_info *info, enum target t)
{
    return t == TARGET_READ ? info->readable : info->primary;
}

/* Which backends serve target t now: those of its role that are up, while any is; all of its
 * role when every one is down (a down one's pooled connections still serve, and its error is
 * the one to give). Reads with no readable replica up are served as writes, by the primaries. */
struct serving {
    enum target t;
    bool up_only;
};

static struct serving serving(const struct worker *w, enum target t)
{
    for (;;) {
        for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++)
            if (has_role(&w->binfo[bi], t) && !w->binfo[bi].down)
                return (struct serving){t, true};
        if (t == TARGET_PRIMARY)
            return (struct serving){t, false};
        t = TARGET_PRIMARY;
    }
}

static bool serves(const struct worker *w, uint32_t bi, struct serving sv)
{
    const struct worker_backend_info *info = &w->binfo[bi];
    return has_role(info, sv.t) && (!sv.up_only || !info->down);
}

/* The readable replica whose turn it is: smooth weighted round robin (each one's running
 * weight grows by its weight, the largest is taken and loses the sum), so that reads spread
 * by weight, evenly interleaved. */
static uint32_t next_replica(struct worker *w)
{
    int64_t total = 0;
    uint32_t best = UINT32_MAX;
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct worker_backend_info *info = &w->binfo[bi];
        if (!serves(w, bi, (struct serving){TARGET_READ, true}))
            continue;
        info->wrr += w->cfg->backends[bi].weight;
        total += w->cfg->backends[bi].weight;
        if (best == UINT32_MAX || info->wrr > w->binfo[best].wrr)
            best = bi;
    }
    if (best != UINT32_MAX)
        w->binfo[best].wrr -= total;
    return best;
}

static bool take_from(struct session *s, uint32_t bi, uint32_t user)
{
    struct pool_conn *c = pool_take(shard_of(s->w, bi, user));
    if (!c)
        return false;
    struct backend *b = (struct backend *)c;
    b->state = B_BOUND;
    b->sess = s;
    framer_reset(&b->fr);
    s->b = b;
    return true;
}

/* Takes a connection for user where s->target says: reads from the replica whose turn it is
 * (then any other readable one), writes from the first primary (config order) with one free. */
bool take_backend(struct session *s, uint32_t user)
{
    struct worker *w = s->w;
    struct serving sv = serving(w, s->target);
    uint32_t first = sv.t == TARGET_READ ? next_replica(w) : UINT32_MAX;
    if (first != UINT32_MAX && take_from(s, first, user))
        return true;
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++)
        if (bi != first && serves(w, bi, sv) && take_from(s, bi, user))
            return true;
    return false;
}

/* Every backend that serves t is marked down by the maintenance thread (or none serves it: no
 * primary): the 2003-style message (code 1429, see protocol/constants.h) naming the first and
 * the error it last got; false otherwise. */
bool backend_down_msg(struct worker *w, enum target t, char *msg, size_t cap)
{
    const struct cfg *cfg = w->cfg;
    struct serving sv = serving(w, t);
    uint32_t first = UINT32_MAX;
    /* The worker's own copy of backend_up[] (MSG_BACKEND_STATE): indexed by its config. */
    for (uint32_t bi = 0; bi < cfg->nbackends; bi++) {
        if (!serves(w, bi, sv))
            continue;
        if (!w->binfo[bi].down)
            return false;
        /* Down means no new connection can be opened: the pooled ones still serve. */
        for (size_t u = 0; u < cfg->nusers; u++)
            if (shard_of(w, bi, (uint32_t)u)->navailable > 0)
                return false;
        if (first == UINT32_MAX)
            first = bi;
    }
    if (first == UINT32_MAX) {
        snprintf(msg, cap,
                 "No backend is a primary now (every one is read_only, or down); ringsql "
                 "follows the server whose read_only is OFF, retry later");
        return true;
    }
    const struct cfg_backend *be = &cfg->backends[first];
    const char *err = w->binfo[first].error[0] ? w->binfo[first].error : "not reachable yet";
    char addr[300];
    snprintf(msg, cap,
             "Can't connect to backend '%.64s' (%.200s): %.255s; ringsql keeps retrying, "
             "retry later",
             be->name, cfg_addr_str(&be->addr, addr, sizeof addr), err);
    return true;
}

static bool reject_backend_down(struct session *s)
{
    char msg[640];
    if (!backend_down_msg(s->w, s->target, msg, sizeof msg))
        return false;
    STAT_INC(s->w->st.rejected[REJECT_BACKEND_DOWN]);
    reject(s, PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "08S01", msg);
    return true;
}

bool admit_session(struct session *s, uint32_t route)
{
    struct worker *w = s->w;
    s->route = route;
    s->target = w->cfg->routes[route].policy == CFG_POLICY_PRIMARY ? TARGET_PRIMARY : TARGET_READ;
    /* Every backend it needs down, or none ever reached (no version or capabilities to greet
     * with). */
    if (reject_backend_down(s))
        return false;
    if (!worker_known_backend(w)->known) {
        reject_no_backend(s, 0);
        return false;
    }
    return true;
}

/* A connection for user is free now where t takes it, or on its way (a replacement, a ping,
 * or one asked for now because the shard is below pool.size: see pool.min_idle). */
/* At auth.max_connections: the connection of another server user idle the longest on this
 * worker is closed to make room (without a replacement). False when there is none. */
static bool make_room(struct worker *w, const struct pool_shard *for_sh)
{
    struct pool_conn *oldest = NULL;
    for (size_t i = 0; i < w->nshards; i++) {
        struct pool_shard *sh = &w->shards[i];
        struct pool_conn *c = sh != for_sh && sh->server_user ? pool_peek_oldest(sh) : NULL;
        if (c && (!oldest || c->idle_since_ms < oldest->idle_since_ms))
            oldest = c;
    }
    if (!oldest)
        return false;
    backend_hand_over((struct backend *)oldest, MSG_CONN_STALE, false);
    return true;
}

/* A shard may ask for one more: below its target, and a server user's below
 * auth.max_connections over all workers (each counts what it has and what it asked for). */
static bool may_grow(struct worker *w, const struct pool_shard *sh)
{
    if (pool_size(sh) + sh->pending >= sh->target)
        return false;
    if (!sh->server_user)
        return true;
    uint32_t cap = w->cfg->auth.max_connections;
    return atomic_load(&w->proxy->server_conns) + sh->pending < cap ||
           (make_room(w, sh) && atomic_load(&w->proxy->server_conns) + sh->pending < cap);
}

bool connection_in_sight(struct worker *w, uint32_t user, enum target t)
{
    struct serving sv = serving(w, t);
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct pool_shard *sh = shard_of(w, bi, user);
        if (serves(w, bi, sv) && (sh->navailable > 0 || sh->pending > 0))
            return true;
    }
    for (uint32_t bi = 0; bi < w->cfg->nbackends; bi++) {
        struct pool_shard *sh = shard_of(w, bi, user);
        if (serves(w, bi, sv) && may_grow(w, sh)) {
            sh->pending++;
            post_backend_grow(w->proxy, w->id, (uint32_t)(sh - w->shards), w->gen);
            return true;
        }
    }
    return false;
}

/* Why user's pool has no connection to give (counted as a rejection): the ERR's code, its
 * SQL state in *state and the message in msg. */
uint16_t no_backend_error(struct session *s, uint32_t user, char *msg, size_t cap,
                          const char **state)
{
    struct worker *w = s->w;
    const struct cfg *cfg = w->cfg;
    if (backend_down_msg(w, s->target, msg, cap)) {
        STAT_INC(w->st.rejected[REJECT_BACKEND_DOWN]);
        *state = "08S01";
        return PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE;
    }
    struct serving sv = serving(w, s->target);
    uint32_t bi = 0;
    while (bi + 1 < cfg->nbackends && !serves(w, bi, sv))
        bi++;
    struct pool_shard *sh = shard_of(w, bi, user);
    if (pool_size(sh) == 0 && sh->target > 0)
        snprintf(msg, cap,
                 "pool '%s' for user '%s' has no connection to its backend yet (it is "
                 "unreachable or still connecting); check the backend and retry",
                 cfg->backends[bi].name, cfg->users[user].name);
    else
        snprintf(msg, cap,
                 "pool '%s' for user '%s' has no free connection (%u in use); raise pool.size "
                 "or retry",
                 cfg->backends[bi].name, cfg->users[user].name, sh->nbusy);
    STAT_INC(w->st.rejected[REJECT_POOL_FULL]);
    *state = "08004";
    return PROTO_ER_CON_COUNT_ERROR;
}

void reject_no_backend(struct session *s, uint32_t user)
{
    char msg[640];
    const char *state;
    uint16_t code = no_backend_error(s, user, msg, sizeof msg, &state);
    reject(s, code, state, msg);
}

/* split: where the command held in s->in may run. A replica takes a read that leaves no
 * state (protocol/query_state.h: neither PROTO_QF_WRITES nor PROTO_QF_LEAVES_STATE), a
 * COM_QUERY whole in the buffer or the execute of such a statement, unless the session wrote
 * within replication.read_after_write; everything else goes to the primary (and a statement
 * that may write starts that window; a prepare or a ping does not). No connection is held
 * here: no transaction is open. */
enum target command_target(struct session *s)
{
    const uint8_t *p = s->in.p + s->in.scan;
    struct proto_phys ph;
    unsigned facts = PROTO_QF_WRITES;
    bool statement = false; /* a statement's text was judged (not a prepare, a ping...) */
    if (proto_phys_read(p, s->in.len - s->in.scan, &ph, NULL) == 0 && ph.payload_len > 0) {
        uint8_t cmd = p[PROTO_HEADER_LEN];
        statement = cmd == PROTO_COM_QUERY || cmd == PROTO_COM_STMT_EXECUTE;
        if (cmd == PROTO_COM_QUERY && ph.payload_len <= s->in.len - s->in.scan - PROTO_HEADER_LEN) {
            facts = proto_query_facts(p + PROTO_HEADER_LEN + 1, ph.payload_len - 1, s->w->routines);
            s->facts_at = p; /* its forwarding takes them (command_facts) */
            s->facts = facts;
        } else if (cmd == PROTO_COM_STMT_EXECUTE)
            facts = stmt_exec_facts(s); /* s->cmd_stmt: stmt_check_command() named it */
    }
    bool reads = !(facts & (PROTO_QF_WRITES | PROTO_QF_LEAVES_STATE));
    if (reads && s->w->now_ms >= s->primary_until_ms)
        return TARGET_READ;
    uint64_t raw = s->w->cfg->replication.read_after_write_ms;
    if (raw > 0 && statement && !reads)
        s->primary_until_ms = s->w->now_ms + raw;
    return TARGET_PRIMARY;
}
