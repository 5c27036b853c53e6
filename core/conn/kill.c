/* kill: a KILL's messages across workers and to the maintenance thread (see kill.h). */
#include "core/conn/kill.h"

#include <stdlib.h>

#include "core/base/post.h"
#include "core/base/msg.h"
#include "core/base/shared.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"

int kill_ask_owner(struct worker *w, uint32_t owner, uint64_t killer, uint32_t user, uint32_t id,
                   bool query_only)
{
    struct proxy *p = w->proxy;
    if (owner >= p->nworkers)
        return PROTO_ER_NO_SUCH_THREAD;
    struct msg *m = calloc(1, sizeof *m);
    if (!m)
        return PROTO_ER_UNKNOWN_ERROR;
    *m = (struct msg){.kind = MSG_KILL,
                      .worker = w->id,
                      .gen = w->gen,
                      .fd = -1,
                      .session = id,
                      .killer = killer,
                      .user = user,
                      .query_only = query_only};
    msgq_push(&p->workers[owner].inbox, m);
    return KILL_PENDING;
}

void kill_backend(struct worker *w, uint64_t session, uint32_t shard, uint32_t server_conn,
                  bool query_only)
{
    struct msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    *m = (struct msg){.kind = MSG_BACKEND_KILL,
                      .worker = w->id,
                      .shard = shard,
                      .gen = w->gen,
                      .fd = -1,
                      .session = session,
                      .server_conn_id = server_conn,
                      .query_only = query_only};
    post_to_maintenance(w->proxy, m);
}
