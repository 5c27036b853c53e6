/* loader: what the config's section files share to walk a YAML document: the loader, the
 * error list with file:line:column, and setters for scalars, mappings and lists. Internal to
 * config/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"

struct loader {
    const char *name;
    yaml_document_t *doc;
    struct cfg_errors *errs;
    struct cfg *cfg;
};

struct key_spec {
    const char *name;
    bool required;
    /* target is the struct the enclosing mapping fills (struct cfg, cfg_user, ...). */
    void (*set)(struct loader *ld, const yaml_node_t *value, void *target);
};

#define countof(a) (sizeof(a) / sizeof((a)[0]))

__attribute__((format(printf, 4, 5))) void ld_error_at(struct loader *ld, size_t line,
                                                       size_t column, const char *fmt, ...);
/* libyaml marks are 0-based; people count from 1. */
#define node_error(ld, node, ...)                                                                  \
    ld_error_at((ld), (node)->start_mark.line + 1, (node)->start_mark.column + 1, __VA_ARGS__)

/* The scalar's text, or NULL (reported: key expected `expected`). */
const char *ld_scalar(struct loader *ld, const yaml_node_t *node, const char *key,
                      const char *expected);
void ld_set_string(struct loader *ld, const yaml_node_t *node, const char *key, char **out);
void ld_set_uint(struct loader *ld, const yaml_node_t *node, const char *key, uint32_t min,
                 uint32_t max, uint32_t *out);
void ld_set_bool(struct loader *ld, const yaml_node_t *node, const char *key, bool *out);
void ld_set_duration(struct loader *ld, const yaml_node_t *node, const char *key, uint64_t *out_ms);
void ld_parse_addr_at(struct loader *ld, const yaml_node_t *node, const char *key, const char *v,
                      struct cfg_addr *out);
void ld_set_addr(struct loader *ld, const yaml_node_t *node, const char *key, struct cfg_addr *out);
/* password_env: NAME reads the secret from the environment at load time. */
void ld_set_from_env(struct loader *ld, const yaml_node_t *node, const char *key, char **out);
/* Walks a mapping: each key must be known and given once; required keys must be there.
 * where names the mapping in messages ("the top level", "pool", "users[0]"). */
void ld_walk_mapping(struct loader *ld, const yaml_node_t *map, const char *where,
                     const struct key_spec *specs, size_t nspecs, void *target);
/* A scalar that must be one of names: its index in *out. */
void ld_set_choice(struct loader *ld, const yaml_node_t *v, const char *key,
                   const char *const *names, size_t n, int *out);
/* Walks a non-empty list of mappings into a freshly allocated array of elem_size items. */
void ld_walk_list(struct loader *ld, const yaml_node_t *list, const char *key,
                  const struct key_spec *specs, size_t nspecs, size_t elem_size, void **items,
                  size_t *count);
/* The node of the idx-th item of the top-level list key (the root where there is none), for
 * placing errors found across keys. */
const yaml_node_t *ld_top_list_item(struct loader *ld, const char *key, size_t idx);
