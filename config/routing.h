/* routing: the config's primary/replica keys (config/routing.c), for config.c: backends[].role
 * and weight, routes: (listeners and their policies), replication: (role and lag checks).
 * Internal to config/. */
#pragma once

#include "config/loader.h"

/* backends[].role and backends[].weight (t: struct cfg_backend). */
void cfg_set_backend_role(struct loader *ld, const yaml_node_t *v, void *t);
void cfg_set_backend_weight(struct loader *ld, const yaml_node_t *v, void *t);
/* The top-level routes: list and replication: mapping (t: struct cfg). */
void cfg_set_routes(struct loader *ld, const yaml_node_t *v, void *t);
void cfg_set_replication(struct loader *ld, const yaml_node_t *v, void *t);
/* After every section: defaults (the one route on listen, weights, intervals) and the checks
 * across keys (listen given with routes, listeners twice, split without transaction pooling). */
void cfg_check_routing(struct loader *ld);
void cfg_routing_free(struct cfg *cfg);
