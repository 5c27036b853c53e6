/* admin: the HTTP endpoint on admin.listen (GET /metrics, /healthz, /readyz), on a thread of
 * its own (whatever the maintenance thread waits on, /healthz answers at once). One request
 * per connection, answered and closed; a malformed request gets 400. */
#pragma once

#include <poll.h>

struct proxy;
struct cfg_addr;
struct cfg;
struct admin;

enum { ADMIN_MAX_CONNS = 16, ADMIN_POLLFDS = ADMIN_MAX_CONNS + 1 };

/* Binds and listens (main thread, at start-up). NULL, logged, when it cannot. */
struct admin *admin_open(struct proxy *p, const struct cfg_addr *addr);
void admin_close(struct admin *a);

/* Starts its thread (after admin_open; 0 or -errno). a may be NULL. */
int admin_start(struct admin *a);
/* MSG_RELOAD (it switches to m->cfg, then acknowledges with post_reload_ack). Takes m. */
struct msg;
void admin_post(struct admin *a, struct msg *m);
