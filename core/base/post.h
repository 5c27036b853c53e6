/* post: what the workers (and the admin endpoint) tell the maintenance thread and the main
 * thread, as messages into their inboxes (msg.h) or a count on an eventfd, through the shared
 * struct proxy (shared.h). Any thread; never blocks. */
#pragma once

#include <stdint.h>

struct proxy;
struct msg;

/* A worker lost a backend connection of its shard (of config generation gen): the maintenance
 * thread opens a replacement. */
void post_backend_lost(struct proxy *p, uint32_t worker, uint32_t shard, uint32_t gen);
/* The shard is below pool.size and a client found no free connection: open one more. */
void post_backend_grow(struct proxy *p, uint32_t worker, uint32_t shard, uint32_t gen);
/* Work for the maintenance thread: an idle connection (MSG_CONN_STALE or MSG_CONN_PING,
 * m->fd; closed at once when ringsql is stopping) or a KILL for the server (MSG_BACKEND_KILL).
 * Takes m. */
void post_to_maintenance(struct proxy *p, struct msg *m);
/* Work for the main thread: a user lookup's verdict (MSG_USER_FOUND). Takes m. */
void post_to_main(struct proxy *p, struct msg *m);
/* The calling thread no longer uses the previous cfg (see core/reload.c). */
void post_reload_ack(struct proxy *p);
