/* metrics: what the admin endpoint reports, read from the shared counters (core/stats.h)
 * without touching any worker's own state. Runs on the maintenance thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct proxy;

/* Writes every metric in the Prometheus text format into buf. Returns the length, or 0 when
 * cap was too small. */
size_t metrics_render(struct proxy *p, char *buf, size_t cap);
/* A buffer size that holds metrics_render()'s output for the running config. */
size_t metrics_size_hint(const struct proxy *p);

/* True when ringsql should get traffic: not draining, every backend up and every pool
 * (backend, user) holds at least one connection. Otherwise writes why into reason. */
bool metrics_ready(struct proxy *p, char *reason, size_t len);
