/* proxy: the running proxy (workers, maintenance thread), from start to a clean exit. */
#pragma once

#include "config/config.h"

/* Serves until SIGTERM (drain, then exit) or SIGINT (exit now), which the caller has blocked
 * in every thread; SIGHUP reloads cfg->path. Takes ownership of cfg (a reload replaces and
 * frees it). Returns the process exit code. */
int proxy_run(struct cfg *cfg);
