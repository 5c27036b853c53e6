/* metrics: what the admin endpoint reports, read from the shared counters (core/base/stats.h)
 * without touching any worker's own state. Runs on the maintenance thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct proxy;
struct cfg;

/* cfg is the maintenance thread's config and gen its generation: a worker whose published
 * gauges are of another generation (it is switching) is left out of the pool gauges. */

/* Writes every metric in the Prometheus text format into buf. Returns the length, or 0 when
 * cap was too small. */
size_t metrics_render(struct proxy *p, const struct cfg *cfg, unsigned gen, char *buf, size_t cap);
/* A buffer size that holds metrics_render()'s output for cfg. */
size_t metrics_size_hint(const struct cfg *cfg);

/* True when ringsql should get traffic: not draining, every backend up and every pool
 * (backend, user) holds at least one connection. Otherwise writes why into reason. */
bool metrics_ready(struct proxy *p, const struct cfg *cfg, unsigned gen, char *reason, size_t len);
