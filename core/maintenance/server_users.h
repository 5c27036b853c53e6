/* server_users: a login by a user the config does not list, checked against the server's
 * own account on the maintenance thread (see server_users.c). */
#pragma once

#include <stdint.h>

#include "config/config.h"
#include "core/maintenance/connect.h"

struct user_lookup;

/* Fills lu's verdict: the account and a backend connection logged in as it (lu->conn, of
 * backend lu->backend in config generation gen, its session variables read at
 * globals_epoch), or the refusal. state: [cfg->nbackends] as the maintenance thread last saw
 * them (1 up); tls: their contexts. Blocking, each step bounded by timeouts.connect. */
void server_user_check(const struct cfg *cfg, uint32_t gen, const int8_t *state,
                       const struct backend_tls *tls, uint64_t globals_epoch,
                       struct user_lookup *lu);
