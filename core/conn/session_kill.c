/* session_kill: the session side of a KILL [QUERY] (see core/conn/kill.h). */
#include "core/conn/session_int.h"

#include <errno.h>
#include <stdio.h>

#include "core/base/log.h"
#include "core/conn/backend.h"
#include "core/conn/kill.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/kill.h"

/* ---------- KILL (core/conn/kill.c carries it between workers) ---------- */

/* The command under way on t's connection is killed on the server, which is told from a
 * connection of its own; meanwhile t's connection goes to no one else. */
static void kill_running_command(struct session *t, bool query_only)
{
    struct backend *b = t->b;
    if (!b || b->kill_pending || !(t->state == SS_FORWARD || t->state == SS_INFILE) ||
        b->pc.shard->retired)
        return;
    b->kill_pending = true;
    kill_backend(t->w, t->id, b->shard_idx, b->server_conn_id, query_only);
}

int session_kill(struct worker *w, uint64_t id, uint32_t user, uint32_t gen, bool query_only,
                 uint64_t killer)
{
    struct session *t = session_find(w, id);
    if (!t || t->state == SS_GREETING || t->state == SS_LOGIN || t->state == SS_AUTH_SWITCH ||
        t->state == SS_REJECT || t->state == SS_CLOSED)
        return PROTO_ER_NO_SUCH_THREAD;
    if (gen != w->gen || t->user != user)
        return PROTO_ER_KILL_DENIED; /* as the server: only one's own user's threads */
    struct log_ctx c;
    log_info("session_killed", "%s by_session=%llu query_only=%d", ctx(t, &c),
             (unsigned long long)killer, query_only);
    if ((t->state == SS_WAIT && !t->login_wait) || (t->state == SS_BIND && t->bind_for_cmd))
        t->query_killed = true; /* not on the server yet: answered 1317 once bound */
    kill_running_command(t, query_only);
    if (!query_only && t->id != killer)
        close_session(t, false, "KILL CONNECTION");
    return 0;
}

static void answer_kill(struct session *s, uint8_t seq, uint64_t id, int code)
{
    char msg[64];
    if (code == PROTO_ER_NO_SUCH_THREAD)
        snprintf(msg, sizeof msg, "Unknown thread id: %llu", (unsigned long long)id);
    else if (code == PROTO_ER_KILL_DENIED)
        snprintf(msg, sizeof msg, "You are not owner of thread %llu", (unsigned long long)id);
    else
        snprintf(msg, sizeof msg, "KILL could not be sent");
    answer_command(s, seq, (uint16_t)code, "HY000", code ? msg : NULL);
}

int kill_command(struct session *s, const uint8_t *head, size_t head_len, uint64_t len, bool whole,
                 uint8_t seq)
{
    uint32_t id;
    bool query_only = false;
    if (head[0] == PROTO_COM_PROCESS_KILL) {
        if (!whole || len != 5)
            return -EPROTO;
        id = (uint32_t)head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 |
             (uint32_t)head[4] << 24;
    } else {
        struct proto_kill k;
        enum proto_kill_kind kind =
            whole ? proto_kill_parse(head + 1, head_len - 1, &k) : PROTO_KILL_NONE;
        /* Session pooling: KILL USER, KILL QUERY ID, KILL of an expression, a KILL among
         * other statements or in a routine's body go to the server on the client's own
         * connection, which judges them as for a direct client. */
        if (kind == PROTO_KILL_NONE || (kind == PROTO_KILL_OTHER && !s->txn))
            return 0;
        if (kind == PROTO_KILL_OTHER) {
            s->in.sent = s->in.scan;
            answer_command(s, seq, PROTO_ER_NOT_SUPPORTED_YET, "42000",
                           "in transaction pooling ringsql answers KILL [QUERY | CONNECTION] "
                           "<id> alone, with the id of one of its own sessions; KILL USER, KILL "
                           "QUERY ID and KILL among other statements are not forwarded");
            return 1;
        }
        id = k.id;
        query_only = k.query_only;
    }
    /* Session pooling: an id below ringsql's own is a server thread id, as CONNECTION_ID()
     * gives there (the client keeps its connection): the server judges it, as for a direct
     * client, by its own rule (the same backend user's threads, or CONNECTION ADMIN). */
    if (!s->txn && session_id_worker(id) == UINT32_MAX)
        return 0;
    on_kill(s, seq, id, query_only);
    return 1;
}

/* A client's KILL [QUERY] id (a ringsql session id): answered here once the verdict is known,
 * never forwarded (the server would read id as one of its own threads). */
void on_kill(struct session *s, uint8_t seq, uint32_t id, bool query_only)
{
    s->in.sent = s->in.scan;
    s->kill_id = id;
    int code = session_id_worker(id) == s->w->id
                   ? session_kill(s->w, id, s->user, s->w->gen, query_only, s->id)
                   : kill_ask_owner(s->w, session_id_worker(id), s->id, s->user, id, query_only);
    if (code == KILL_PENDING) {
        s->kill_wait = true;
        s->cmd_seq = seq;
        s->expect_response = true;
        s->response_done = false;
        s->resp_started = false;
        set_state(s, SS_FORWARD); /* settles once session_kill_answered() answers */
        return;
    }
    if (code == 0 && !query_only && id == s->id) {
        close_session(s, true, "KILL of its own connection");
        return;
    }
    answer_kill(s, seq, id, code);
}

void session_kill_answered(struct worker *w, uint64_t killer, uint16_t code)
{
    struct session *s = session_find(w, killer);
    if (!s || !s->kill_wait || s->state != SS_FORWARD)
        return;
    s->kill_wait = false;
    s->expect_response = false;
    answer_kill(s, s->cmd_seq, s->kill_id, code);
}

void session_backend_killed(struct worker *w, uint64_t id, uint32_t server_conn)
{
    struct session *t = session_find(w, id);
    if (!t || !t->b || t->b->server_conn_id != server_conn)
        return; /* gone: its connection was discarded, not pooled */
    t->b->kill_pending = false;
    if (t->state == SS_IDLE)
        release_if_free(t);
}
