/* loader: the config's shared walking of a YAML document: errors collected as
 * "file:line:column: message", and the setters every section uses. */
#include "config/loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ld_error_at(struct loader *ld, size_t line, size_t column, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char *text;
    if (asprintf(&text, "%s:%zu:%zu: %s", ld->name, line, column, msg) < 0)
        return;
    char **grown = realloc(ld->errs->lines, (ld->errs->count + 1) * sizeof *grown);
    if (!grown) {
        free(text);
        return;
    }
    ld->errs->lines = grown;
    ld->errs->lines[ld->errs->count++] = text;
}

static const char *ld_node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* ---- scalar values ---------------------------------------------------------------------- */

const char *ld_scalar(struct loader *ld, const yaml_node_t *node, const char *key,
                      const char *expected)
{
    if (node->type == YAML_SCALAR_NODE)
        return (const char *)node->data.scalar.value;
    node_error(ld, node, "key '%s': expected %s, got %s", key, expected, ld_node_kind(node));
    return NULL;
}

void ld_set_string(struct loader *ld, const yaml_node_t *node, const char *key, char **out)
{
    const char *v = ld_scalar(ld, node, key, "a string");
    if (!v)
        return;
    if (!*v) {
        node_error(ld, node, "key '%s': expected a non-empty string", key);
        return;
    }
    free(*out);
    *out = strdup(v);
}

void ld_set_uint(struct loader *ld, const yaml_node_t *node, const char *key, uint32_t min,
                 uint32_t max, uint32_t *out)
{
    const char *v = ld_scalar(ld, node, key, "an integer");
    if (!v)
        return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end || errno || n < min || n > max) {
        node_error(ld, node, "key '%s': expected an integer from %u to %u, got '%s'", key, min, max,
                   v);
        return;
    }
    *out = (uint32_t)n;
}

void ld_set_bool(struct loader *ld, const yaml_node_t *node, const char *key, bool *out)
{
    const char *v = ld_scalar(ld, node, key, "true or false");
    if (!v)
        return;
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        node_error(ld, node, "key '%s': expected true or false, got '%s'", key, v);
}

void ld_set_duration(struct loader *ld, const yaml_node_t *node, const char *key, uint64_t *out_ms)
{
    const char *v = ld_scalar(ld, node, key, "a duration");
    if (!v)
        return;
    uint64_t ms;
    if (!cfg_parse_duration(v, &ms) || ms == 0) {
        node_error(ld, node,
                   "key '%s': expected a positive duration such as 250ms, 10s, 5m or 8h, got '%s'",
                   key, v);
        return;
    }
    *out_ms = ms;
}

void ld_parse_addr_at(struct loader *ld, const yaml_node_t *node, const char *key, const char *v,
                      struct cfg_addr *out)
{
    if (!cfg_parse_addr(v, out))
        node_error(ld, node,
                   "key '%s': expected \"host:port\" (or \"[ipv6]:port\") with a port from 1 to "
                   "65535, got '%s'",
                   key, v);
}

void ld_set_addr(struct loader *ld, const yaml_node_t *node, const char *key, struct cfg_addr *out)
{
    const char *v = ld_scalar(ld, node, key, "an address");
    if (v)
        ld_parse_addr_at(ld, node, key, v, out);
}

/* password_env: NAME reads the secret from the environment at load time. */
void ld_set_from_env(struct loader *ld, const yaml_node_t *node, const char *key, char **out)
{
    const char *var = ld_scalar(ld, node, key, "an environment variable name");
    if (!var)
        return;
    const char *value = getenv(var);
    if (!value) {
        node_error(ld, node, "key '%s': environment variable '%s' is not set", key, var);
        return;
    }
    free(*out);
    *out = strdup(value);
}

static void ld_list_keys(const struct key_spec *specs, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", specs[i].name);
}

/* Walks a mapping: each key must be known and given once; required keys must be there.
 * where names the mapping in messages ("the top level", "pool", "users[0]"). */
void ld_walk_mapping(struct loader *ld, const yaml_node_t *map, const char *where,
                     const struct key_spec *specs, size_t nspecs, void *target)
{
    if (map->type != YAML_MAPPING_NODE) {
        node_error(ld, map, "%s: expected a mapping, got %s", where, ld_node_kind(map));
        return;
    }
    bool seen[32] = {false};
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        const char *name = ld_scalar(ld, k, where, "a key name");
        if (!name)
            continue;
        size_t i = 0;
        while (i < nspecs && strcmp(specs[i].name, name) != 0)
            i++;
        if (i == nspecs) {
            char expected[256];
            ld_list_keys(specs, nspecs, expected, sizeof expected);
            node_error(ld, k, "%s: unknown key '%s' (expected one of: %s)", where, name, expected);
        } else if (seen[i]) {
            node_error(ld, k, "%s: key '%s' is given twice", where, name);
        } else {
            seen[i] = true;
            specs[i].set(ld, v, target);
        }
    }
    for (size_t i = 0; i < nspecs; i++)
        if (specs[i].required && !seen[i])
            node_error(ld, map, "%s: missing required key '%s'", where, specs[i].name);
}

/* A scalar that must be one of names: its index in *out. */
void ld_set_choice(struct loader *ld, const yaml_node_t *v, const char *key,
                   const char *const *names, size_t n, int *out)
{
    const char *s = ld_scalar(ld, v, key, "a name");
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return;
        }
    }
    char list[128] = "";
    for (size_t i = 0, at = 0; i < n && at < sizeof list; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", names[i],
                               i + 2 < n    ? ", "
                               : i + 2 == n ? " or "
                                            : "");
    node_error(ld, v, "key '%s': expected %s, got '%s'", key, list, s);
}

/* Walks a non-empty list of mappings into a freshly allocated array of elem_size items. */
void ld_walk_list(struct loader *ld, const yaml_node_t *list, const char *key,
                  const struct key_spec *specs, size_t nspecs, size_t elem_size, void **items,
                  size_t *count)
{
    if (list->type != YAML_SEQUENCE_NODE) {
        node_error(ld, list, "key '%s': expected a list, got %s", key, ld_node_kind(list));
        return;
    }
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0) {
        node_error(ld, list, "key '%s': expected at least one entry", key);
        return;
    }
    char *array = calloc(n, elem_size);
    if (!array)
        return;
    *items = array;
    *count = n;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, list->data.sequence.items.start[i]);
        char where[64];
        snprintf(where, sizeof where, "%s[%zu]", key, i);
        ld_walk_mapping(ld, item, where, specs, nspecs, array + i * elem_size);
    }
}

const yaml_node_t *ld_top_list_item(struct loader *ld, const char *key, size_t idx)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0 &&
            v->type == YAML_SEQUENCE_NODE &&
            idx < (size_t)(v->data.sequence.items.top - v->data.sequence.items.start))
            return yaml_document_get_node(ld->doc, v->data.sequence.items.start[idx]);
    }
    return root;
}
