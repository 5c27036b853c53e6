/* health: the worker's side of the health check (see health.c). */
#pragma once

struct worker;

/* On the worker's thread, on MSG_HEALTH_CHECK. */
void health_check(struct worker *w);
