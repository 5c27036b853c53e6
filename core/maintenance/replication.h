/* replication: the maintenance thread's role and lag checks (the config's replication:).
 * Every replication.check_interval it asks each backend for @@read_only (OFF: a primary) and
 * SHOW ALL SLAVES STATUS (a replica is readable while its SQL thread applies, its I/O thread
 * is not stopped, and Seconds_Behind_Master is within max_lag), publishes what it saw for
 * /metrics (proxy.backend_repl) and tells the workers every change (MSG_BACKEND_ROLE).
 * Blocking libmariadb calls on one kept connection per backend, each bounded by
 * timeouts.connect. */
#pragma once

#include <stdint.h>

#include "config/config.h"
#include "core/base/msg.h"

struct proxy;
struct replication;

/* tell: sends a copy of a message to every worker (the maintenance thread's). */
typedef void replication_tell_fn(void *ctx, const struct msg *like);

/* The checks for cfg (none run unless cfg->replication.enabled); NULL when out of memory. */
struct replication *replication_new(struct proxy *p, const struct cfg *cfg,
                                    replication_tell_fn *tell, void *ctx);
/* SIGHUP: the new config's backends, what was seen of each kept by name. */
void replication_reshape(struct replication *r, const struct cfg *cfg, uint32_t gen);
/* Checks every backend if the interval passed. */
void replication_step(struct replication *r, uint64_t now_ms);
/* When the next check is due (UINT64_MAX: never). */
uint64_t replication_due_ms(const struct replication *r);
/* Closes the connections; the published arrays are freed too (no reader is left). */
void replication_free(struct replication *r);
