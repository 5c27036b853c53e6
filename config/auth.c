/* auth: the auth: section, and a config with the server's users that logins proved added
 * (see auth.h and cfg_with_server_users in config.h). */
#include "config/auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void set_from_backend(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_bool(ld, v, "auth.from_backend", &((struct cfg_auth *)t)->from_backend);
}

static void set_user(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "auth.user", &((struct cfg_auth *)t)->user);
}

static void set_password(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "auth.password", &((struct cfg_auth *)t)->password);
}

static void set_password_env(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_from_env(ld, v, "auth.password_env", &((struct cfg_auth *)t)->password);
}

static void set_max_connections(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_uint(ld, v, "auth.max_connections", 1, 1000000,
                &((struct cfg_auth *)t)->max_connections);
}

static void set_recheck_after(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "auth.recheck_after", &((struct cfg_auth *)t)->recheck_after_ms);
}

void cfg_set_auth(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"from_backend", false, set_from_backend},
        {"user", false, set_user},
        {"password", false, set_password},
        {"password_env", false, set_password_env},
        {"max_connections", false, set_max_connections},
        {"recheck_after", false, set_recheck_after},
    };
    struct cfg_auth *a = &((struct cfg *)t)->auth;
    a->recheck_after_ms = UINT64_MAX; /* not given */
    ld_walk_mapping(ld, v, "auth", specs, countof(specs), a);
}

void cfg_check_auth(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    struct cfg_auth *a = &cfg->auth;
    if (a->recheck_after_ms == UINT64_MAX || !a->from_backend)
        a->recheck_after_ms = 60 * 1000;
    if (a->max_connections == 0)
        a->max_connections = 4 * cfg->pool.size;
    if (a->user && !a->password)
        a->password = strdup("");
    if (!a->user && cfg->nusers > 0 && cfg->users[0].backend_user) {
        a->user = strdup(cfg->users[0].backend_user);
        a->password = strdup(cfg->users[0].backend_password ? cfg->users[0].backend_password : "");
    }
}

void cfg_auth_free(struct cfg *cfg)
{
    free(cfg->auth.user);
    free(cfg->auth.password);
}

static int add_user(struct cfg_user *u, const struct cfg_server_user *su)
{
    *u = (struct cfg_user){.name = strdup(su->name),
                           .password = strdup(su->password),
                           .backend_user = strdup(su->name),
                           .from_server = true,
                           .has_stage1 = su->has_stage1};
    memcpy(u->stage1, su->stage1, sizeof u->stage1);
    return u->name && u->password && u->backend_user ? 0 : -ENOMEM;
}

int cfg_add_server_users(struct cfg *cfg, const struct cfg_server_user *su, size_t n)
{
    if (n == 0)
        return 0;
    struct cfg_user *users = realloc(cfg->users, (cfg->nusers + n) * sizeof *users);
    if (!users)
        return -ENOMEM;
    cfg->users = users;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (cfg_find_user(cfg, su[i].name))
            continue; /* the config lists it (since) */
        rc = add_user(&cfg->users[cfg->nusers], &su[i]);
        cfg->nusers++; /* freed with the config, even half made */
    }
    return rc;
}

int cfg_with_server_users(const struct cfg *cur, const struct cfg_server_user *su, size_t n,
                          struct cfg **out)
{
    *out = NULL;
    if (!cur->source)
        return -ENOMEM;
    struct cfg_errors errs;
    struct cfg *next;
    int rc = cfg_load_buffer(cur->path, cur->source, cur->source_len, &next, &errs);
    cfg_errors_free(&errs);
    if (rc < 0)
        return rc;
    if ((rc = cfg_add_server_users(next, su, n)) < 0) {
        cfg_free(next);
        return rc;
    }
    *out = next;
    return 0;
}
