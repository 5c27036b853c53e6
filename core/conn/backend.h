/* backend: a pooled backend connection's own life on its worker: the socket the maintenance
 * thread handed over, ringsql's own commands on it (reset, change user, init db), its return
 * to the pool, its hand-over for health checks, and its end. Sessions drive it while bound
 * (session.c); it tells them nothing directly (enum backend_news). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/worker/worker.h"

struct backend *backend_new(struct worker *w, struct msg *m);
/* What a completion on a backend connection asks of the layer above (events.c): backends
 * call nothing of their sessions'. */
enum backend_news {
    BACKEND_QUIET,       /* nothing for anyone else */
    BACKEND_FOR_SESSION, /* its session (b->sess) takes the completion */
    BACKEND_FAILED,      /* ringsql's own command could not be sent: its session's is lost */
    BACKEND_POOLED,      /* it went back to its pool: a waiting session may take it */
};
enum backend_news backend_on_recv(struct backend *b, int res, unsigned flags);
enum backend_news backend_on_send(struct backend *b, int res);
enum backend_news backend_on_b2c_sent(struct backend *b, int res);
/* Arms the backend's receive if it has none and holds no buffer. */
void backend_arm_recv(struct backend *b);
/* The session is done with its backend: reset and return it, or discard it. */
void backend_release(struct backend *b, bool idle_and_healthy);
/* Hands an idle (B_POOLED) connection to the maintenance thread: kind MSG_CONN_STALE (it
 * closes it, and opens a new one if replace) or MSG_CONN_PING (it pings it and sends it
 * back). The socket leaves once the worker's own receive on it is cancelled. */
void backend_hand_over(struct backend *b, enum msg_kind kind, bool replace);
/* Closes it (already broken or untrustworthy) and has the maintenance thread replace it. */
void backend_discard(struct backend *b, const char *reason);
/* The connection's database is (or, len 0, none is) db; too long to remember: unknown. */
void backend_set_db(struct backend *b, const char *db, size_t len);
bool backend_db_is(const struct backend *b, const char *db, size_t len);
/* COM_RESET_CONNECTION went to the connection (ringsql's or a client's): the login character
 * set is back and state tracking is off; the database stays. */
void backend_session_reset(struct backend *b);
/* A client set a global variable (SET GLOBAL) since this connection read them: the next
 * session should start on a reset, which reads them again. */
bool backend_globals_stale(const struct backend *b);
/* Sends ringsql's own command (payload, seq 0) and begins tracking its response. */
int backend_send_cmd(struct backend *b, uint8_t command, const void *arg, size_t arg_len);
/* Sends ringsql's own packets p (len bytes, malloc'd: the backend frees them once sent),
 * whose last is a command of type last_command, and begins tracking its response. */
int backend_send_packets(struct backend *b, uint8_t *p, size_t len, uint8_t last_command);
/* COM_CHANGE_USER to the connection's own backend user with no database: clears the session
 * and the current database. The server may answer with an AuthSwitchRequest (the tracker says
 * PROTO_TRACK_AUTH): pass that packet (payload p, len, its seq) to
 * backend_send_auth_switch_reply(). */
int backend_send_change_user(struct backend *b);
int backend_send_auth_switch_reply(struct backend *b, const uint8_t *p, size_t len, uint8_t seq);
/* Moves a dead backend whose last completion arrived to the grave; backend_bury() closes
 * and frees the grave's after the next submit. */
void backend_maybe_free(struct backend *b);
void backend_bury(struct worker *w);
