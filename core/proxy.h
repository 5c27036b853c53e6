/* proxy: the running proxy (workers, maintenance thread), from start to a clean exit. */
#pragma once

#include "config/config.h"

/* Serves until SIGTERM or SIGINT (which the caller has blocked in every thread) and returns
 * the process exit code. */
int proxy_run(const struct cfg *cfg);
