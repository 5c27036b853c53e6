/* session: one client connection, from accept to close, as an explicit state machine (every
 * state and transition is at the top of session.c; the code is in session*.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct user_lookup;
struct session;
struct cfg;

/* A session's id, the thread id its client sees: the worker's index + 1 above bit 21, a
 * per-worker counter below (wrapping after 2^21 sessions). Never under 2^21, so a backend
 * thread id of a young server (what CONNECTION_ID() shows) is not taken for a session's. */
enum { SESSION_ID_SHIFT = 21 };

/* The worker index a session id names, or UINT32_MAX when it names none. */
static inline uint32_t session_id_worker(uint64_t id)
{
    return id >> SESSION_ID_SHIFT ? (uint32_t)(id >> SESSION_ID_SHIFT) - 1 : UINT32_MAX;
}

/* A new client socket: bind, greet, and go. */
void session_start(struct worker *w, int fd, uint32_t route);

void session_on_client_recv(struct session *s, int res, unsigned flags);
void session_on_client_send(struct session *s, int res);
/* The worker's timer fired: receives past timeouts.handshake / timeouts.client_idle are
 * cancelled (their sessions then say why and close), and the timer is set for the next. */
void session_deadlines_passed(struct worker *w);
/* Transaction pooling: a session's timeouts.pool_wait timer completed. */
void session_on_wait_timeout(struct session *s, int res);
/* A connection became available on this worker, or a backend's state changed: sessions
 * waiting for one take it, or hear that the backend is down. */
void session_pool_ready(struct worker *w);
/* The hang-up watch completed (poll revents in res). */
void session_on_client_hup(struct session *s, int res);
/* Completions on the session's bound backend (only while it is B_BOUND). */
void session_on_backend_recv(struct session *s, int res, unsigned flags);
void session_on_c2b_sent(struct session *s, int res);
void session_on_b2c_sent(struct session *s, int res);
/* The bound backend broke (I/O error, protocol error): the session cannot go on. */
void session_on_backend_failed(struct session *s);
/* A receive that found no free buffer may now be retried: true when it was armed again. */
bool session_buf_ready(struct session *s);
/* The worker is stopping: end every session at once. */
void session_shutdown_all(struct worker *w);
/* A reload replaced w->cfg (old is still valid): sessions re-index their user by name. One
 * still logging in as a user the new config removed is closed. */
void session_remap_users(struct worker *w, const struct cfg *old);
/* KILL (core/conn/kill.c). On the killed session's worker: the verdict on session id killed by
 * session killer of user (an index into gen's config): 0 when done (a command under way is
 * killed on the server; KILL CONNECTION ends the session too), or the ERR code (1094 no such
 * session, 1095 another user's). */
int session_kill(struct worker *w, uint64_t id, uint32_t user, uint32_t gen, bool query_only,
                 uint64_t killer);
/* On the killer's worker: the verdict came; the killing session (if still there) answers. */
void session_kill_answered(struct worker *w, uint64_t killer, uint16_t code);
/* The server refused a connection for user's pool (a server user's: its account locked,
 * max_user_connections, ...): the sessions waiting for one get its ERR, as a direct login. */
void session_grow_refused(struct worker *w, uint32_t user, uint16_t code, const char *state,
                          const char *msg);
/* A user lookup's verdict (MSG_USER_READY) for the session waiting for it, if still there: its
 * login goes on, or ends with the verdict's ERR. */
void session_user_ready(struct worker *w, const struct user_lookup *lu);
/* The server got the KILL for server_conn, which session id's connection may be. */
void session_backend_killed(struct worker *w, uint64_t id, uint32_t server_conn);
/* Closes and frees the sessions that finished (after a submit; see worker.h). */
void session_bury(struct worker *w);
/* Frees every session on the worker's free list (worker exit). */
void session_free_all(struct worker *w);
