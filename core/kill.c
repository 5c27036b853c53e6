/* kill: KILL of a ringsql session across workers and down to the server (see kill.h). */
#include "core/kill.h"

#include <stdlib.h>

#include "core/msg.h"
#include "core/proxy_int.h"
#include "core/session.h"
#include "core/worker.h"
#include "protocol/constants.h"

int kill_session_by_id(struct worker *w, uint64_t killer, uint32_t user, uint32_t id,
                       bool query_only)
{
    uint32_t owner = session_id_worker(id);
    if (owner == w->id)
        return session_kill(w, id, user, w->gen, query_only, killer);
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
    proxy_hand_over(w->proxy, m);
}

void kill_on_msg(struct worker *w, struct msg *m)
{
    switch (m->kind) {
    case MSG_KILL: {
        /* A user index means something only in the generation it was sent in. */
        int code = m->gen == w->gen
                       ? session_kill(w, m->session, m->user, m->gen, m->query_only, m->killer)
                       : PROTO_ER_KILL_DENIED;
        uint32_t back = m->worker;
        m->kind = MSG_KILL_DONE;
        m->worker = w->id;
        m->code = (uint16_t)code;
        msgq_push(&w->proxy->workers[back].inbox, m);
        return;
    }
    case MSG_KILL_DONE:
        session_kill_answered(w, m->killer, m->code);
        break;
    case MSG_BACKEND_KILLED:
        session_backend_killed(w, m->session, m->server_conn_id);
        break;
    default:
        break;
    }
    free(m);
}
