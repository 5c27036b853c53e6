/* kill: a client's KILL, in a pooled mode, names a ringsql session (the thread id of
 * ringsql's greeting), never a backend thread. This carries it to the worker that owns the
 * session (session_id_worker()), brings that worker's verdict back to the killer, and has the
 * maintenance thread send the server a KILL [QUERY] for the backend connection that runs the
 * killed session's command. The session side of each step is in session.c, the arrival of
 * each message in events.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct msg;

/* The verdict comes later (session_kill_answered) from another worker. */
enum { KILL_PENDING = -1 };

/* On the killer's worker: KILL [QUERY] id by session killer, logged in as user (an index into
 * the worker's config), where worker owner owns id: asks it. Returns KILL_PENDING, or the ERR
 * code when it could not (no such worker: no such session). */
int kill_ask_owner(struct worker *w, uint32_t owner, uint64_t killer, uint32_t user, uint32_t id,
                   bool query_only);
/* On the killed session's worker: the server is sent KILL [QUERY] server_conn, as the user of
 * shard, from a connection of its own (session_backend_killed() follows). */
void kill_backend(struct worker *w, uint64_t session, uint32_t shard, uint32_t server_conn,
                  bool query_only);
