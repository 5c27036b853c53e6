/* routing: backends[].role / weight, routes: and replication: (see routing.h). */
#include "config/routing.h"

#include <stdlib.h>
#include <string.h>

#define CFG_MAX_WEIGHT 1000

static const char *const role_names[] = {
    [CFG_ROLE_PRIMARY] = "primary", [CFG_ROLE_REPLICA] = "replica"};
static const char *const policy_names[] = {[CFG_POLICY_PRIMARY] = "primary",
                                           [CFG_POLICY_REPLICAS] = "replicas",
                                           [CFG_POLICY_SPLIT] = "split"};

const char *cfg_role_name(enum cfg_role role)
{
    return role_names[role];
}

const char *cfg_policy_name(enum cfg_policy policy)
{
    return policy_names[policy];
}

void cfg_set_backend_role(struct loader *ld, const yaml_node_t *v, void *t)
{
    struct cfg_backend *be = t;
    int role = (int)be->role;
    ld_set_choice(ld, v, "role", role_names, countof(role_names), &role);
    be->role = (enum cfg_role)role;
}

void cfg_set_backend_weight(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_uint(ld, v, "weight", 1, CFG_MAX_WEIGHT, &((struct cfg_backend *)t)->weight);
}

static void set_route_name(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "name", &((struct cfg_route *)t)->name);
}

static void set_route_listen(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_addr(ld, v, "listen", &((struct cfg_route *)t)->listen);
}

static void set_route_policy(struct loader *ld, const yaml_node_t *v, void *t)
{
    struct cfg_route *r = t;
    int policy = (int)r->policy;
    ld_set_choice(ld, v, "policy", policy_names, countof(policy_names), &policy);
    r->policy = (enum cfg_policy)policy;
}

void cfg_set_routes(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"name", true, set_route_name},
        {"listen", true, set_route_listen},
        {"policy", true, set_route_policy},
    };
    struct cfg *cfg = t;
    void *items = NULL;
    ld_walk_list(ld, v, "routes", specs, countof(specs), sizeof(struct cfg_route), &items,
                 &cfg->nroutes);
    cfg->routes = items;
}

static void set_check_interval(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "replication.check_interval",
                    &((struct cfg_replication *)t)->check_interval_ms);
}

static void set_max_lag(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "replication.max_lag", &((struct cfg_replication *)t)->max_lag_ms);
}

static void set_read_after_write(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "replication.read_after_write",
                    &((struct cfg_replication *)t)->read_after_write_ms);
}

static void set_monitor_user(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "replication.monitor_user", &((struct cfg_replication *)t)->monitor_user);
}

static void set_monitor_password(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "replication.monitor_password",
                  &((struct cfg_replication *)t)->monitor_password);
}

static void set_monitor_password_env(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_from_env(ld, v, "replication.monitor_password_env",
                    &((struct cfg_replication *)t)->monitor_password);
}

void cfg_set_replication(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"check_interval", false, set_check_interval},
        {"max_lag", false, set_max_lag},
        {"read_after_write", false, set_read_after_write},
        {"monitor_user", false, set_monitor_user},
        {"monitor_password", false, set_monitor_password},
        {"monitor_password_env", false, set_monitor_password_env},
    };
    struct cfg_replication *r = &((struct cfg *)t)->replication;
    ld_walk_mapping(ld, v, "replication", specs, countof(specs), r);
    r->enabled = true;
}

static bool addr_same(const struct cfg_addr *a, const struct cfg_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static void check_routes(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    const yaml_node_t *first = ld_top_list_item(ld, "routes", 0);
    if (cfg->listen_given)
        node_error(ld, first,
                   "routes: the top-level 'listen' is not used where routes are given; give "
                   "each listener as routes[].listen and remove 'listen'");
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct cfg_route *r = &cfg->routes[i];
        const yaml_node_t *at = ld_top_list_item(ld, "routes", i);
        if (r->policy == CFG_POLICY_SPLIT && cfg->pool.mode != CFG_POOL_TRANSACTION)
            node_error(ld, at,
                       "routes[%zu]: policy 'split' sends each statement where it may run, so "
                       "it needs 'pool.mode: transaction' (session pooling keeps one "
                       "connection per client: use 'primary' and 'replicas' routes)",
                       i);
        if (addr_same(&r->listen, &cfg->admin_listen))
            node_error(ld, at, "routes[%zu]: listen '%s:%u' is admin.listen's too", i,
                       r->listen.host, r->listen.port);
        for (size_t j = 0; j < i; j++) {
            if (r->name && cfg->routes[j].name && strcmp(r->name, cfg->routes[j].name) == 0)
                node_error(ld, at, "routes[%zu]: duplicate route name '%s' (also routes[%zu])", i,
                           r->name, j);
            if (addr_same(&r->listen, &cfg->routes[j].listen))
                node_error(ld, at, "routes[%zu]: listen '%s:%u' is routes[%zu]'s too", i,
                           r->listen.host, r->listen.port, j);
        }
    }
}

void cfg_check_routing(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    struct cfg_replication *rep = &cfg->replication;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        if (cfg->backends[i].weight == 0)
            cfg->backends[i].weight = 1;
        if (cfg->backends[i].role == CFG_ROLE_REPLICA)
            rep->enabled = true;
    }
    if (rep->check_interval_ms == 0)
        rep->check_interval_ms = 1000;
    if (rep->max_lag_ms == 0)
        rep->max_lag_ms = 10 * 1000;
    if (cfg->nroutes > 0) {
        check_routes(ld);
        cfg->listen = cfg->routes[0].listen;
        return;
    }
    cfg->routes = calloc(1, sizeof *cfg->routes);
    if (!cfg->routes) {
        ld_error_at(ld, 1, 1, "out of memory");
        return;
    }
    cfg->nroutes = 1;
    cfg->routes[0] = (struct cfg_route){
        .name = strdup("default"), .listen = cfg->listen, .policy = CFG_POLICY_PRIMARY};
}

void cfg_routing_free(struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->nroutes; i++)
        free(cfg->routes[i].name);
    free(cfg->routes);
    free(cfg->replication.monitor_user);
    free(cfg->replication.monitor_password);
}
