/* events: what a worker's loop hands the sessions and backend connections (the loop's struct
 * worker_hooks): completions by operation kind, accepted clients, inbox messages, freed
 * buffers, deadlines, and the steps of its stop. */
#pragma once

#include "core/worker/worker.h"

extern const struct worker_hooks conn_hooks;
