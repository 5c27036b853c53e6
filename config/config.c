/* Loads a ringsql YAML config with libyaml's document API and validates it into struct cfg.
 * Every problem is collected (not just the first) as "file:line:column: message". */
#include "config/config.h"
#include "config/cpus.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define CFG_MAX_WORKERS 1024
#define CFG_MAX_POOL_SIZE 100000

struct loader {
    const char *name;
    yaml_document_t *doc;
    struct cfg_errors *errs;
    struct cfg *cfg;
};

__attribute__((format(printf, 4, 5))) static void error_at(struct loader *ld, size_t line,
                                                           size_t column, const char *fmt, ...)
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

/* libyaml marks are 0-based; people count from 1. */
#define node_error(ld, node, ...)                                                                  \
    error_at((ld), (node)->start_mark.line + 1, (node)->start_mark.column + 1, __VA_ARGS__)

static const char *node_kind(const yaml_node_t *node)
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

static const char *scalar(struct loader *ld, const yaml_node_t *node, const char *key,
                          const char *expected)
{
    if (node->type == YAML_SCALAR_NODE)
        return (const char *)node->data.scalar.value;
    node_error(ld, node, "key '%s': expected %s, got %s", key, expected, node_kind(node));
    return NULL;
}

static void set_string(struct loader *ld, const yaml_node_t *node, const char *key, char **out)
{
    const char *v = scalar(ld, node, key, "a string");
    if (!v)
        return;
    if (!*v) {
        node_error(ld, node, "key '%s': expected a non-empty string", key);
        return;
    }
    free(*out);
    *out = strdup(v);
}

static void set_uint(struct loader *ld, const yaml_node_t *node, const char *key, uint32_t min,
                     uint32_t max, uint32_t *out)
{
    const char *v = scalar(ld, node, key, "an integer");
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

static void set_bool(struct loader *ld, const yaml_node_t *node, const char *key, bool *out)
{
    const char *v = scalar(ld, node, key, "true or false");
    if (!v)
        return;
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        node_error(ld, node, "key '%s': expected true or false, got '%s'", key, v);
}

static void set_duration(struct loader *ld, const yaml_node_t *node, const char *key,
                         uint64_t *out_ms)
{
    const char *v = scalar(ld, node, key, "a duration");
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

static void parse_addr_at(struct loader *ld, const yaml_node_t *node, const char *key,
                          const char *v, struct cfg_addr *out)
{
    if (!cfg_parse_addr(v, out))
        node_error(ld, node,
                   "key '%s': expected \"host:port\" (or \"[ipv6]:port\") with a port from 1 to "
                   "65535, got '%s'",
                   key, v);
}

static void set_addr(struct loader *ld, const yaml_node_t *node, const char *key,
                     struct cfg_addr *out)
{
    const char *v = scalar(ld, node, key, "an address");
    if (v)
        parse_addr_at(ld, node, key, v, out);
}

/* password_env: NAME reads the secret from the environment at load time. */
static void set_from_env(struct loader *ld, const yaml_node_t *node, const char *key, char **out)
{
    const char *var = scalar(ld, node, key, "an environment variable name");
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

/* ---- mappings --------------------------------------------------------------------------- */

struct key_spec {
    const char *name;
    bool required;
    /* target is the struct the enclosing mapping fills (struct cfg, cfg_user, ...). */
    void (*set)(struct loader *ld, const yaml_node_t *value, void *target);
};

static void list_keys(const struct key_spec *specs, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", specs[i].name);
}

/* Walks a mapping: each key must be known and given once; required keys must be there.
 * where names the mapping in messages ("the top level", "pool", "users[0]"). */
static void walk_mapping(struct loader *ld, const yaml_node_t *map, const char *where,
                         const struct key_spec *specs, size_t nspecs, void *target)
{
    if (map->type != YAML_MAPPING_NODE) {
        node_error(ld, map, "%s: expected a mapping, got %s", where, node_kind(map));
        return;
    }
    bool seen[32] = {false};
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        const char *name = scalar(ld, k, where, "a key name");
        if (!name)
            continue;
        size_t i = 0;
        while (i < nspecs && strcmp(specs[i].name, name) != 0)
            i++;
        if (i == nspecs) {
            char expected[256];
            list_keys(specs, nspecs, expected, sizeof expected);
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

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sections --------------------------------------------------------------------------- */

static void set_listen(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_addr(ld, v, "listen", &((struct cfg *)t)->listen);
}

static void set_workers(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_uint(ld, v, "workers", 0, CFG_MAX_WORKERS, &((struct cfg *)t)->workers);
}

static void set_receive_buffers(struct loader *ld, const yaml_node_t *v, void *t)
{
    uint32_t *n = &((struct cfg *)t)->receive_buffers;
    set_uint(ld, v, "receive_buffers", 16, 32768, n);
    if (*n & (*n - 1))
        node_error(ld, v, "key 'receive_buffers': expected a power of two, got %u", *n);
}

static void set_backend_name(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_string(ld, v, "name", &((struct cfg_backend *)t)->name);
}

/* A backend is "host:port", or "unix:/path" for a server on the same machine: a Unix socket
 * spares both sides the TCP stack. */
static void set_backend_address(struct loader *ld, const yaml_node_t *v, void *t)
{
    struct cfg_addr *addr = &((struct cfg_backend *)t)->addr;
    const char *text = scalar(ld, v, "address", "an address");
    if (!text)
        return;
    if (strncmp(text, "unix:", 5) != 0) {
        parse_addr_at(ld, v, "address", text, addr);
        return;
    }
    const char *path = text + 5;
    /* sun_path holds 108 bytes with its NUL. */
    if (path[0] != '/' || strlen(path) >= 108) {
        node_error(ld, v,
                   "key 'address': expected \"unix:\" and an absolute socket path shorter than "
                   "108 bytes, got '%s'",
                   text);
        return;
    }
    snprintf(addr->host, sizeof addr->host, "%s", path);
    addr->port = 0;
    addr->unix_socket = true;
}

static void set_user_name(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_string(ld, v, "name", &((struct cfg_user *)t)->name);
}

/* password and password_env (likewise backend_password and its _env) name one secret. */
static void set_secret(struct loader *ld, const yaml_node_t *v, const char *key,
                       const char *other_key, bool from_env, char **out)
{
    if (*out) {
        node_error(ld, v, "key '%s': '%s' is given too; give only one of them", key, other_key);
        return;
    }
    if (from_env)
        set_from_env(ld, v, key, out);
    else
        set_string(ld, v, key, out);
}

static void set_user_password(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_secret(ld, v, "password", "password_env", false, &((struct cfg_user *)t)->password);
}

static void set_user_password_env(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_secret(ld, v, "password_env", "password", true, &((struct cfg_user *)t)->password);
}

static void set_user_backend_user(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_string(ld, v, "backend_user", &((struct cfg_user *)t)->backend_user);
}

static void set_user_share_backend_user(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_bool(ld, v, "share_backend_user", &((struct cfg_user *)t)->share_backend_user);
}

static void set_user_backend_password(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_secret(ld, v, "backend_password", "backend_password_env", false,
               &((struct cfg_user *)t)->backend_password);
}

static void set_user_backend_password_env(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_secret(ld, v, "backend_password_env", "backend_password", true,
               &((struct cfg_user *)t)->backend_password);
}

static void set_pool_size(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_uint(ld, v, "pool.size", 1, CFG_MAX_POOL_SIZE, &((struct cfg_pool *)t)->size);
}

static void set_pool_min_idle(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_uint(ld, v, "pool.min_idle", 0, CFG_MAX_POOL_SIZE, &((struct cfg_pool *)t)->min_idle);
}

static void set_pool_stale_after(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "pool.stale_after", &((struct cfg_pool *)t)->stale_after_ms);
}

static void set_pool_health_check_interval(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "pool.health_check_interval",
                 &((struct cfg_pool *)t)->health_check_interval_ms);
}

static void set_timeout_connect(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "timeouts.connect", &((struct cfg_timeouts *)t)->connect_ms);
}

static void set_timeout_handshake(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "timeouts.handshake", &((struct cfg_timeouts *)t)->handshake_ms);
}

static void set_timeout_client_idle(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "timeouts.client_idle", &((struct cfg_timeouts *)t)->client_idle_ms);
}

static void set_timeout_pool_wait(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "timeouts.pool_wait", &((struct cfg_timeouts *)t)->pool_wait_ms);
}

/* Port 0 is fine here (tests and the bench run many instances): one socket, the kernel picks
 * the port. Not for listen, which every worker binds with SO_REUSEPORT. */
static void set_admin_listen(struct loader *ld, const yaml_node_t *v, void *t)
{
    const char *text = scalar(ld, v, "admin.listen", "an address");
    if (text && !cfg_parse_addr_port0(text, &((struct cfg *)t)->admin_listen))
        node_error(ld, v,
                   "key 'admin.listen': expected \"host:port\" (or \"[ipv6]:port\") with a port "
                   "from 0 to 65535, got '%s'",
                   text);
}

static void set_log_level(struct loader *ld, const yaml_node_t *v, void *t)
{
    const char *s = scalar(ld, v, "log.level", "a log level");
    if (!s)
        return;
    for (int l = CFG_LOG_ERROR; l <= CFG_LOG_DEBUG; l++) {
        if (strcmp(s, cfg_log_level_name((enum cfg_log_level)l)) == 0) {
            ((struct cfg *)t)->log_level = (enum cfg_log_level)l;
            return;
        }
    }
    node_error(ld, v, "key 'log.level': expected one of error, warn, info, debug, got '%s'", s);
}

/* A scalar that must be one of names: its index in *out. */
static void set_choice(struct loader *ld, const yaml_node_t *v, const char *key,
                       const char *const *names, size_t n, int *out)
{
    const char *s = scalar(ld, v, key, "a name");
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
                               i + 2 < n ? ", " : i + 2 == n ? " or " : "");
    node_error(ld, v, "key '%s': expected %s, got '%s'", key, list, s);
}

static const char *const io_names[] = {
    [CFG_IO_AUTO] = "auto", [CFG_IO_URING] = "io_uring", [CFG_IO_EPOLL] = "epoll"};

const char *cfg_io_name(enum cfg_io io)
{
    return io_names[io];
}

bool cfg_io_parse(const char *name, enum cfg_io *out)
{
    for (size_t i = 0; i < countof(io_names); i++)
        if (strcmp(name, io_names[i]) == 0) {
            *out = (enum cfg_io)i;
            return true;
        }
    return false;
}

static void set_io(struct loader *ld, const yaml_node_t *v, void *t)
{
    int io = (int)((struct cfg *)t)->io;
    set_choice(ld, v, "io", io_names, countof(io_names), &io);
    ((struct cfg *)t)->io = (enum cfg_io)io;
}

static void set_log_format(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const char *const names[] = {[CFG_LOG_LOGFMT] = "logfmt", [CFG_LOG_JSON] = "json"};
    int f = (int)((struct cfg *)t)->log_format;
    set_choice(ld, v, "log.format", names, countof(names), &f);
    ((struct cfg *)t)->log_format = (enum cfg_log_format)f;
}

static void set_pool_mode(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const char *const names[] = {
        [CFG_POOL_SESSION] = "session", [CFG_POOL_TRANSACTION] = "transaction"};
    struct cfg_pool *pool = t;
    int m = (int)pool->mode;
    set_choice(ld, v, "pool.mode", names, countof(names), &m);
    pool->mode = (enum cfg_pool_mode)m;
}

static void set_pool(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"size", false, set_pool_size},
        {"min_idle", false, set_pool_min_idle},
        {"stale_after", false, set_pool_stale_after},
        {"health_check_interval", false, set_pool_health_check_interval},
        {"mode", false, set_pool_mode},
    };
    struct cfg_pool *pool = &((struct cfg *)t)->pool;
    walk_mapping(ld, v, "pool", specs, countof(specs), pool);
    if (pool->min_idle != UINT32_MAX && pool->min_idle > pool->size)
        node_error(ld, v, "key 'pool.min_idle': %u is larger than pool.size %u", pool->min_idle,
                   pool->size);
}

static void set_timeouts(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"connect", false, set_timeout_connect},
        {"handshake", false, set_timeout_handshake},
        {"client_idle", false, set_timeout_client_idle},
        {"pool_wait", false, set_timeout_pool_wait},
    };
    walk_mapping(ld, v, "timeouts", specs, countof(specs), &((struct cfg *)t)->timeouts);
}

static void set_admin(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {{"listen", false, set_admin_listen}};
    walk_mapping(ld, v, "admin", specs, countof(specs), t);
}

static void set_drain_timeout(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_duration(ld, v, "shutdown.drain_timeout", &((struct cfg_shutdown *)t)->drain_timeout_ms);
}

static void set_shutdown(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {{"drain_timeout", false, set_drain_timeout}};
    walk_mapping(ld, v, "shutdown", specs, countof(specs), &((struct cfg *)t)->shutdown);
}

static void set_log(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"level", false, set_log_level},
        {"format", false, set_log_format},
    };
    walk_mapping(ld, v, "log", specs, countof(specs), t);
}

/* Walks a non-empty list of mappings into a freshly allocated array of elem_size items. */
static void walk_list(struct loader *ld, const yaml_node_t *list, const char *key,
                      const struct key_spec *specs, size_t nspecs, size_t elem_size, void **items,
                      size_t *count)
{
    if (list->type != YAML_SEQUENCE_NODE) {
        node_error(ld, list, "key '%s': expected a list, got %s", key, node_kind(list));
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
        walk_mapping(ld, item, where, specs, nspecs, array + i * elem_size);
    }
}

static void set_backends(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"name", true, set_backend_name},
        {"address", true, set_backend_address},
    };
    struct cfg *cfg = t;
    void *items = NULL;
    walk_list(ld, v, "backends", specs, countof(specs), sizeof(struct cfg_backend), &items,
              &cfg->nbackends);
    cfg->backends = items;
}

static void set_users(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"name", true, set_user_name},
        {"password", false, set_user_password},
        {"password_env", false, set_user_password_env},
        {"backend_user", false, set_user_backend_user},
        {"backend_password", false, set_user_backend_password},
        {"backend_password_env", false, set_user_backend_password_env},
        {"share_backend_user", false, set_user_share_backend_user},
    };
    struct cfg *cfg = t;
    void *items = NULL;
    walk_list(ld, v, "users", specs, countof(specs), sizeof(struct cfg_user), &items, &cfg->nusers);
    cfg->users = items;
}

static const struct key_spec top_specs[] = {
    {"listen", false, set_listen},    {"workers", false, set_workers},
    {"backends", true, set_backends}, {"users", true, set_users},
    {"pool", false, set_pool},        {"timeouts", false, set_timeouts},
    {"admin", false, set_admin},      {"shutdown", false, set_shutdown},
    {"log", false, set_log},          {"receive_buffers", false, set_receive_buffers},
    {"io", false, set_io},
};

/* ---- checks across keys ----------------------------------------------------------------- */

/* The node of the idx-th item of the top-level list key, for placing cross-key errors. */
static const yaml_node_t *list_item(struct loader *ld, const char *key, size_t idx)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0 &&
            v->type == YAML_SEQUENCE_NODE)
            return yaml_document_get_node(ld->doc, v->data.sequence.items.start[idx]);
    }
    return root;
}

static bool is_password_hash(const char *pw)
{
    if (strlen(pw) != 41 || pw[0] != '*')
        return false;
    return strspn(pw + 1, "0123456789abcdefABCDEF") == 40;
}

static void check_users(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->nusers; i++) {
        struct cfg_user *u = &cfg->users[i];
        const yaml_node_t *at = list_item(ld, "users", i);
        if (!u->name)
            continue; /* already reported as missing */
        for (size_t j = 0; j < i; j++)
            if (cfg->users[j].name && strcmp(cfg->users[j].name, u->name) == 0)
                node_error(ld, at, "users[%zu]: duplicate user '%s' (also users[%zu])", i, u->name,
                           j);
        if (!u->password) {
            node_error(ld, at, "users[%zu]: user '%s' needs 'password' or 'password_env'", i,
                       u->name);
            continue;
        }
        if (!u->backend_user)
            u->backend_user = strdup(u->name);
        if (!u->backend_password) {
            if (is_password_hash(u->password))
                node_error(ld, at,
                           "users[%zu]: user '%s' has a hashed password, which cannot log in to "
                           "the backends; set 'backend_password' or 'backend_password_env'",
                           i, u->name);
            else
                u->backend_password = strdup(u->password);
        }
        for (size_t j = 0; j < i; j++) {
            const struct cfg_user *o = &cfg->users[j];
            if (o->backend_user && strcmp(o->backend_user, u->backend_user) == 0 && o->password &&
                strcmp(o->password, u->password) != 0 && !u->share_backend_user &&
                !o->share_backend_user)
                node_error(ld, at,
                           "users[%zu]: users '%s' and '%s' log in to the backends as the same "
                           "user '%s' with different passwords, so each could see the other's "
                           "queries (PROCESSLIST) and kill its connections on the server; give "
                           "each its own backend_user, or set 'share_backend_user: true' on one "
                           "of them",
                           i, o->name, u->name, u->backend_user);
        }
    }
}

static void check_backends(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->nbackends; i++)
        for (size_t j = 0; j < i; j++)
            if (cfg->backends[i].name && cfg->backends[j].name &&
                strcmp(cfg->backends[i].name, cfg->backends[j].name) == 0)
                node_error(ld, list_item(ld, "backends", i),
                           "backends[%zu]: duplicate backend name '%s' (also backends[%zu])", i,
                           cfg->backends[i].name, j);
}

static void set_defaults(struct cfg *cfg)
{
    cfg_parse_addr("127.0.0.1:6033", &cfg->listen);
    cfg_parse_addr("127.0.0.1:9033", &cfg->admin_listen);
    cfg->receive_buffers = 512;
    cfg->pool.size = 32;
    cfg->pool.min_idle = UINT32_MAX; /* "not given": becomes size */
    cfg->pool.stale_after_ms = 300 * 1000;
    cfg->pool.health_check_interval_ms = 10 * 1000;
    cfg->timeouts.connect_ms = 2 * 1000;
    cfg->timeouts.handshake_ms = 5 * 1000;
    cfg->timeouts.client_idle_ms = 8ull * 3600 * 1000;
    cfg->timeouts.pool_wait_ms = 5000;
    cfg->shutdown.drain_timeout_ms = 30 * 1000;
    cfg->log_level = CFG_LOG_INFO;
}

/* ---- entry points ----------------------------------------------------------------------- */

static void load_document(struct loader *ld)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    if (!root) {
        error_at(ld, 1, 1,
                 "the file is empty; expected a mapping with at least 'backends' and "
                 "'users'");
        return;
    }
    walk_mapping(ld, root, "top level", top_specs, countof(top_specs), ld->cfg);
    if (root->type != YAML_MAPPING_NODE)
        return;
    check_backends(ld);
    check_users(ld);
    if (ld->cfg->pool.min_idle == UINT32_MAX)
        ld->cfg->pool.min_idle = ld->cfg->pool.size;
    if (ld->cfg->workers == 0) {
        unsigned n = cfg_usable_cpus();
        ld->cfg->workers = n < CFG_MAX_WORKERS ? n : CFG_MAX_WORKERS;
    }
}

int cfg_load_buffer(const char *name, const char *yaml, size_t len, struct cfg **out,
                    struct cfg_errors *errs)
{
    *out = NULL;
    errs->count = 0;
    errs->lines = NULL;
    struct cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return -ENOMEM;
    set_defaults(cfg);
    cfg->path = strdup(name);

    struct loader ld = {.name = name, .errs = errs, .cfg = cfg};
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        error_at(&ld, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                 "invalid YAML: %s%s%s", parser.problem ? parser.problem : "parse error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
        ld.doc = &doc;
        load_document(&ld);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);

    if (errs->count) {
        cfg_free(cfg);
        return -EINVAL;
    }
    *out = cfg;
    return 0;
}

int cfg_load(const char *path, struct cfg **out, struct cfg_errors *errs)
{
    *out = NULL;
    errs->count = 0;
    errs->lines = NULL;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int err = 0;
    if (f) {
        FILE *mem = open_memstream(&buf, &len);
        char chunk[4096];
        size_t n;
        while (mem && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
            fwrite(chunk, 1, n, mem);
        err = ferror(f) ? EIO : 0;
        if (mem)
            fclose(mem);
        else
            err = ENOMEM;
        fclose(f);
    } else {
        err = errno;
    }
    if (err) {
        char *line;
        if (asprintf(&line, "%s: cannot read the config file: %s", path, strerror(err)) >= 0) {
            errs->lines = malloc(sizeof *errs->lines);
            if (errs->lines) {
                errs->lines[0] = line;
                errs->count = 1;
            } else {
                free(line);
            }
        }
        free(buf);
        return -err;
    }
    int rc = cfg_load_buffer(path, buf, len, out, errs);
    free(buf);
    return rc;
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nbackends; i++)
        free(cfg->backends[i].name);
    for (size_t i = 0; i < cfg->nusers; i++) {
        struct cfg_user *u = &cfg->users[i];
        free(u->name);
        free(u->password);
        free(u->backend_user);
        free(u->backend_password);
    }
    free(cfg->backends);
    free(cfg->users);
    free(cfg->path);
    free(cfg);
}

void cfg_errors_free(struct cfg_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->count = 0;
}
