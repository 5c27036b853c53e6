/* reload: SIGHUP. The main thread loads the config file again; a config with errors is
 * rejected (every error logged) and the running one stays. A valid one is published in
 * p->cfg and sent to every worker and to the maintenance thread; the previous one is freed
 * once each of them acknowledged (post_reload_ack). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proxy;
struct cfg;
struct cfg_server_user;
struct msg;

struct reload {
    struct cfg *old;  /* the config being replaced, until every thread let go of it */
    uint32_t pending; /* acknowledgements still to come */
    uint32_t gen;     /* generation of the running config: 0 at start, +1 per reload */
    /* The server's users that logins proved (auth.from_backend, core/server_users.c): in
     * every config from then on, a SIGHUP's too. */
    struct cfg_server_user *users;
    size_t nusers, users_cap;
    struct msg *waiting; /* lookups' verdicts waiting for the reload under way to finish */
};

/* Copies into next what needs a restart (listen, the routes' listeners, workers,
 * admin.listen), logging each one that differs; everything else applies live. False when
 * memory ran out (next is then not to be used). */
bool reload_keep_restart_keys(const struct cfg *cur, struct cfg *next);
/* Logs the backends and users that next adds or removes (matched by name). */
void reload_log_changes(const struct cfg *cur, const struct cfg *next);

/* Publishes next (main thread, no reload under way): p->cfg, then a MSG_RELOAD to every
 * thread. */
void reload_publish(struct proxy *p, struct reload *r, struct cfg *next, bool users_only);
/* Handles one SIGHUP (main thread). */
void reload_start(struct proxy *p, struct reload *r);
/* n more acknowledgements arrived on p->reload_ack_fd. */
void reload_acked(struct reload *r, uint64_t n);
/* At exit, once no thread runs: frees what is still held. */
void reload_finish(struct reload *r);
