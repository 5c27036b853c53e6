/* worker_reload: a worker switches to a new config (MSG_RELOAD), and lets go of the shards of
 * earlier configs once their connections are idle (see worker_reload.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <stdint.h>

struct worker;
struct cfg;

/* keep_checks: the reload only added server users (their login checks stay as they were). */
void worker_apply_cfg(struct worker *w, const struct cfg *cfg, uint32_t gen, bool keep_checks);
/* Closes idle connections of retired shards; frees the arrays left empty. */
void worker_sweep_retired(struct worker *w);
