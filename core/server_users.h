/* server_users: the main thread's half of a login by a user the config does not list
 * (auth.from_backend; the round trip is in core/base/user_lookup.h). */
#pragma once

struct proxy;
struct reload;
struct msg;

/* A lookup's verdict (MSG_USER_FOUND, taken): a refusal goes back to its worker at once; an
 * account joins r's server users, and the running config with them (a reload), before the
 * worker hears. While another reload is under way it waits (server_users_flush). */
void server_users_found(struct proxy *p, struct reload *r, struct msg *m);
/* Once no reload is under way: the waiting verdicts, one reload for all of them. */
void server_users_flush(struct proxy *p, struct reload *r);
