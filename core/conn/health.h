/* health: the worker's side of the health check (see health.c). */
#pragma once

#include <stdint.h>

struct worker;

/* On the worker's thread, on MSG_HEALTH_CHECK. */
void health_check(struct worker *w);
/* Every available connection to backend (an index into cfg->backends) is closed and replaced:
 * the server was demoted (read_only turned on), and its sessions start fresh. */
void health_close_idle(struct worker *w, uint32_t backend);
