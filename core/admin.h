/* admin: the HTTP endpoint on admin.listen (GET /metrics, /healthz, /readyz). It has no
 * thread of its own: the maintenance thread's poll loop asks it for its descriptors, polls
 * them with its own, and hands the results back. One request per connection, answered and
 * closed; a malformed request gets 400. */
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

/* The config (and its generation) the maintenance thread switched to: what the endpoint
 * reports from now on. */
void admin_set_cfg(struct admin *a, const struct cfg *cfg, unsigned gen);

/* Fills at most ADMIN_POLLFDS entries of pfd; returns how many. a may be NULL (returns 0). */
int admin_poll_fill(struct admin *a, struct pollfd *pfd);
/* Serves what the poll found on the n entries admin_poll_fill() filled. */
void admin_poll_done(struct admin *a, const struct pollfd *pfd, int n);
/* The poll timeout to use, given the caller's own (-1: none): shortened to the next
 * connection deadline. */
int admin_timeout_ms(const struct admin *a, int timeout_ms);
