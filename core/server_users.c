/* server_users: see server_users.h. The config with the new accounts is the running one's
 * own source loaded again (cfg_with_server_users), so nothing else changes with it; the
 * connection the check logged in joins the user's pool on the worker of the session, sent
 * after the reload's message so that its shard exists there. */
#include "core/server_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/base/log.h"
#include "core/base/msg.h"
#include "core/base/shared.h"
#include "core/base/user_lookup.h"
#include "core/reload.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"

/* Server users ringsql keeps at most: each is a pool per backend on every worker, and each
 * new one a reload. */
enum { SERVER_USERS_MAX = 1000 };

static void tell_worker(struct proxy *p, struct msg *m)
{
    m->kind = MSG_USER_READY;
    msgq_push(&p->workers[m->lookup->worker].inbox, m);
}

static bool same_account(const struct cfg_server_user *a, const struct cfg_user *u)
{
    return strcmp(a->password, u->password) == 0 && a->has_stage1 == u->has_stage1 &&
           memcmp(a->stage1, u->stage1, sizeof a->stage1) == 0;
}

/* Adds a to r's list, or updates its entry (a password changed on the server). -1 when the
 * list is full or memory ran out. */
static int remember(struct reload *r, const struct cfg_server_user *a)
{
    for (size_t i = 0; i < r->nusers; i++)
        if (strcmp(r->users[i].name, a->name) == 0) {
            r->users[i] = *a;
            return 0;
        }
    if (r->nusers == SERVER_USERS_MAX)
        return -1;
    if (r->nusers == r->users_cap) {
        size_t cap = r->users_cap ? r->users_cap * 2 : 16;
        struct cfg_server_user *grown = realloc(r->users, cap * sizeof *grown);
        if (!grown)
            return -1;
        r->users = grown;
        r->users_cap = cap;
    }
    r->users[r->nusers++] = *a;
    return 0;
}

static void refuse(struct user_lookup *lu, const char *why)
{
    lu->code = PROTO_ER_ACCESS_DENIED;
    snprintf(lu->state, sizeof lu->state, "28000");
    snprintf(lu->message, sizeof lu->message,
             "Access denied for user '%s': ringsql could not add it (%s)", lu->user, why);
    msg_free(lu->conn);
    lu->conn = NULL;
}

/* The check's connection to the worker, into the user's pool: valid only where its backend
 * index is, in the generation it was opened in or one loaded from the same source. */
static void hand_connection(struct proxy *p, uint32_t conn_gen, uint32_t gen,
                            struct user_lookup *lu)
{
    const struct cfg *cfg = p->cfg;
    struct msg *c = lu->conn;
    lu->conn = NULL;
    const struct cfg_user *u = cfg_find_user(cfg, lu->user);
    if (!c || !u || lu->gen != conn_gen || lu->backend >= cfg->nbackends) {
        msg_free(c);
        return;
    }
    c->gen = gen;
    c->shard = lu->backend * (uint32_t)cfg->nusers + (uint32_t)(u - cfg->users);
    msgq_push(&p->workers[lu->worker].inbox, c);
}

void server_users_flush(struct proxy *p, struct reload *r)
{
    struct msg *list = r->waiting;
    r->waiting = NULL;
    if (!list)
        return;
    bool change = false;
    for (struct msg *m = list; m; m = m->next) {
        struct user_lookup *lu = m->lookup;
        const struct cfg_user *u = cfg_find_user(p->cfg, lu->user);
        if (u && !u->from_server)
            continue; /* listed in the config since: the worker checks it as such */
        if (remember(r, &lu->account) < 0) {
            refuse(lu, "auth: it knows 1000 server users already");
            continue;
        }
        change = change || !u || !same_account(&lu->account, u);
    }
    uint32_t conn_gen = r->gen;
    if (change) {
        struct cfg *next;
        if (cfg_with_server_users(p->cfg, r->users, r->nusers, &next) == 0) {
            reload_publish(p, r, next, true);
            log_info("server_users", "users=%zu", r->nusers);
        } else {
            for (struct msg *m = list; m; m = m->next)
                refuse(m->lookup, "out of memory");
        }
    }
    for (struct msg *m = list, *next; m; m = next) {
        next = m->next;
        hand_connection(p, conn_gen, r->gen, m->lookup);
        tell_worker(p, m);
    }
}

void server_users_found(struct proxy *p, struct reload *r, struct msg *m)
{
    if (m->lookup->code != 0) {
        tell_worker(p, m);
        return;
    }
    /* Oldest first, as they came. */
    m->next = NULL;
    struct msg **tail = &r->waiting;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    if (r->pending == 0)
        server_users_flush(p, r);
}
