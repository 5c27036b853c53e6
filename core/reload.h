/* reload: SIGHUP. The main thread loads the config file again; a config with errors is
 * rejected (every error logged) and the running one stays. A valid one is published in
 * p->cfg and sent to every worker and to the maintenance thread; the previous one is freed
 * once each of them acknowledged (proxy_reload_ack). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proxy;
struct cfg;

struct reload {
    struct cfg *old;  /* the config being replaced, until every thread let go of it */
    uint32_t pending; /* acknowledgements still to come */
};

/* What changed between two valid configs and whether it can apply live: copies into next
 * what needs a restart (listen, workers, admin.listen; logged), and returns false (with the
 * reason) when the backends or users differ in names or order. */
bool reload_compatible(const struct cfg *cur, struct cfg *next, char *why, size_t len);

/* Handles one SIGHUP (main thread). */
void reload_start(struct proxy *p, struct reload *r);
/* n more acknowledgements arrived on p->reload_ack_fd. */
void reload_acked(struct reload *r, uint64_t n);
/* At exit, once no thread runs: frees what is still held. */
void reload_finish(struct reload *r);
