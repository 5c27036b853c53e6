/* Loads a ringsql YAML config with libyaml's document API and validates it into struct cfg.
 * Every problem is collected (not just the first) as "file:line:column: message". */
#include "config/config.h"
#include "config/auth.h"
#include "config/cpus.h"
#include "config/loader.h"
#include "config/routing.h"
#include "config/tls.h"
#include "protocol/ed25519.h"
#include "protocol/sha2_crypt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define CFG_MAX_WORKERS 1024
#define CFG_MAX_POOL_SIZE 100000
#define CFG_MAX_PREPARED_PER_CONN 1048576 /* the server's own max_prepared_stmt_count bound */

/* ---- sections --------------------------------------------------------------------------- */

static void set_listen(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_addr(ld, v, "listen", &((struct cfg *)t)->listen);
    ((struct cfg *)t)->listen_given = true;
}

static void set_workers(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_uint(ld, v, "workers", 0, CFG_MAX_WORKERS, &((struct cfg *)t)->workers);
}

static void set_receive_buffers(struct loader *ld, const yaml_node_t *v, void *t)
{
    uint32_t *n = &((struct cfg *)t)->receive_buffers;
    ld_set_uint(ld, v, "receive_buffers", 16, 32768, n);
    if (*n & (*n - 1))
        node_error(ld, v, "key 'receive_buffers': expected a power of two, got %u", *n);
}

static void set_backend_name(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_string(ld, v, "name", &((struct cfg_backend *)t)->name);
}

/* A backend is "host:port", or "unix:/path" for a server on the same machine: a Unix socket
 * spares both sides the TCP stack. */
static void set_backend_address(struct loader *ld, const yaml_node_t *v, void *t)
{
    struct cfg_addr *addr = &((struct cfg_backend *)t)->addr;
    const char *text = ld_scalar(ld, v, "address", "an address");
    if (!text)
        return;
    if (strncmp(text, "unix:", 5) != 0) {
        ld_parse_addr_at(ld, v, "address", text, addr);
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
    ld_set_string(ld, v, "name", &((struct cfg_user *)t)->name);
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
        ld_set_from_env(ld, v, key, out);
    else
        ld_set_string(ld, v, key, out);
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
    ld_set_string(ld, v, "backend_user", &((struct cfg_user *)t)->backend_user);
}

static void set_user_share_backend_user(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_bool(ld, v, "share_backend_user", &((struct cfg_user *)t)->share_backend_user);
}

static void set_user_require_tls(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_bool(ld, v, "require_tls", &((struct cfg_user *)t)->require_tls);
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
    ld_set_uint(ld, v, "pool.size", 1, CFG_MAX_POOL_SIZE, &((struct cfg_pool *)t)->size);
}

static void set_pool_min_idle(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_uint(ld, v, "pool.min_idle", 0, CFG_MAX_POOL_SIZE, &((struct cfg_pool *)t)->min_idle);
}

static void set_pool_max_prepared(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_uint(ld, v, "pool.max_prepared_per_connection", 1, CFG_MAX_PREPARED_PER_CONN,
                &((struct cfg_pool *)t)->max_prepared_per_conn);
}

static void set_pool_stale_after(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "pool.stale_after", &((struct cfg_pool *)t)->stale_after_ms);
}

static void set_pool_health_check_interval(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "pool.health_check_interval",
                    &((struct cfg_pool *)t)->health_check_interval_ms);
}

static void set_timeout_connect(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "timeouts.connect", &((struct cfg_timeouts *)t)->connect_ms);
}

static void set_timeout_handshake(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "timeouts.handshake", &((struct cfg_timeouts *)t)->handshake_ms);
}

static void set_timeout_client_idle(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "timeouts.client_idle", &((struct cfg_timeouts *)t)->client_idle_ms);
}

static void set_timeout_pool_wait(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "timeouts.pool_wait", &((struct cfg_timeouts *)t)->pool_wait_ms);
}

/* Port 0 is fine here (tests and the bench run many instances): one socket, the kernel picks
 * the port. Not for listen, which every worker binds with SO_REUSEPORT. */
static void set_admin_listen(struct loader *ld, const yaml_node_t *v, void *t)
{
    const char *text = ld_scalar(ld, v, "admin.listen", "an address");
    if (text && !cfg_parse_addr_port0(text, &((struct cfg *)t)->admin_listen))
        node_error(ld, v,
                   "key 'admin.listen': expected \"host:port\" (or \"[ipv6]:port\") with a port "
                   "from 0 to 65535, got '%s'",
                   text);
}

static void set_log_level(struct loader *ld, const yaml_node_t *v, void *t)
{
    const char *s = ld_scalar(ld, v, "log.level", "a log level");
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
    ld_set_choice(ld, v, "io", io_names, countof(io_names), &io);
    ((struct cfg *)t)->io = (enum cfg_io)io;
}

static void set_log_format(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const char *const names[] = {[CFG_LOG_LOGFMT] = "logfmt", [CFG_LOG_JSON] = "json"};
    int f = (int)((struct cfg *)t)->log_format;
    ld_set_choice(ld, v, "log.format", names, countof(names), &f);
    ((struct cfg *)t)->log_format = (enum cfg_log_format)f;
}

static void set_pool_mode(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const char *const names[] = {
        [CFG_POOL_SESSION] = "session", [CFG_POOL_TRANSACTION] = "transaction"};
    struct cfg_pool *pool = t;
    int m = (int)pool->mode;
    ld_set_choice(ld, v, "pool.mode", names, countof(names), &m);
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
        {"max_prepared_per_connection", false, set_pool_max_prepared},
    };
    struct cfg_pool *pool = &((struct cfg *)t)->pool;
    ld_walk_mapping(ld, v, "pool", specs, countof(specs), pool);
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
    ld_walk_mapping(ld, v, "timeouts", specs, countof(specs), &((struct cfg *)t)->timeouts);
}

static void set_admin(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {{"listen", false, set_admin_listen}};
    ld_walk_mapping(ld, v, "admin", specs, countof(specs), t);
}

static void set_drain_timeout(struct loader *ld, const yaml_node_t *v, void *t)
{
    ld_set_duration(ld, v, "shutdown.drain_timeout", &((struct cfg_shutdown *)t)->drain_timeout_ms);
}

static void set_shutdown(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {{"drain_timeout", false, set_drain_timeout}};
    ld_walk_mapping(ld, v, "shutdown", specs, countof(specs), &((struct cfg *)t)->shutdown);
}

static void set_log(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"level", false, set_log_level},
        {"format", false, set_log_format},
    };
    ld_walk_mapping(ld, v, "log", specs, countof(specs), t);
}

static void set_backends(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"name", true, set_backend_name},          {"address", true, set_backend_address},
        {"tls", false, cfg_set_backend_tls},       {"role", false, cfg_set_backend_role},
        {"weight", false, cfg_set_backend_weight},
    };
    struct cfg *cfg = t;
    void *items = NULL;
    ld_walk_list(ld, v, "backends", specs, countof(specs), sizeof(struct cfg_backend), &items,
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
        {"require_tls", false, set_user_require_tls},
    };
    struct cfg *cfg = t;
    void *items = NULL;
    ld_walk_list(ld, v, "users", specs, countof(specs), sizeof(struct cfg_user), &items,
                 &cfg->nusers);
    cfg->users = items;
}

static const struct key_spec top_specs[] = {
    {"listen", false, set_listen},
    {"workers", false, set_workers},
    {"backends", true, set_backends},
    {"users", true, set_users},
    {"pool", false, set_pool},
    {"timeouts", false, set_timeouts},
    {"admin", false, set_admin},
    {"shutdown", false, set_shutdown},
    {"log", false, set_log},
    {"receive_buffers", false, set_receive_buffers},
    {"io", false, set_io},
    {"tls", false, cfg_set_tls},
    {"routes", false, cfg_set_routes},
    {"replication", false, cfg_set_replication},
    {"auth", false, cfg_set_auth},
};

/* ---- checks across keys ----------------------------------------------------------------- */

/* A worker checks a caching_sha2_password hash on its event loop, for every first login of a
 * user: a round count above this (20 times MySQL's default) would stall everyone else. */
#define CFG_SHA2_CRYPT_MAX_ROUNDS 100000u

static bool is_native_hash(const char *pw)
{
    return strlen(pw) == 41 && pw[0] == '*' && strspn(pw + 1, "0123456789abcdefABCDEF") == 40;
}

bool cfg_password_is_sha2_crypt(const char *pw)
{
    return strncmp(pw, "$A$", 3) == 0 || strncmp(pw, "0x2441", 6) == 0;
}

bool cfg_password_is_ed25519(const char *pw)
{
    return strncmp(pw, "ed25519:", 8) == 0;
}

static bool is_password_hash(const char *pw)
{
    return is_native_hash(pw) || cfg_password_is_sha2_crypt(pw) || cfg_password_is_ed25519(pw);
}

static void check_sha2_crypt(struct loader *ld, const yaml_node_t *at, size_t i,
                             const struct cfg_user *u)
{
    struct proto_sha2_crypt h;
    if (proto_sha2_crypt_parse(u->password, strlen(u->password), &h) < 0)
        node_error(ld, at,
                   "users[%zu]: user '%s' has a password that starts like a "
                   "caching_sha2_password hash but is not one (expected \"$A$005$\" and 63 "
                   "more bytes as in mysql.user, or 0x and 140 hex digits)",
                   i, u->name);
    else if (h.rounds > CFG_SHA2_CRYPT_MAX_ROUNDS)
        node_error(ld, at,
                   "users[%zu]: user '%s' has a caching_sha2_password hash of %u rounds; ringsql "
                   "checks at most %u (each first login costs that many on a worker)",
                   i, u->name, h.rounds, CFG_SHA2_CRYPT_MAX_ROUNDS);
}

static void check_users(struct loader *ld)
{
    struct cfg *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->nusers; i++) {
        struct cfg_user *u = &cfg->users[i];
        const yaml_node_t *at = ld_top_list_item(ld, "users", i);
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
        uint8_t pub[PROTO_ED25519_KEY_LEN];
        if (cfg_password_is_sha2_crypt(u->password))
            check_sha2_crypt(ld, at, i, u);
        else if (cfg_password_is_ed25519(u->password) &&
                 proto_ed25519_pub_parse(u->password + 8, strlen(u->password + 8), pub) < 0)
            node_error(ld, at,
                       "users[%zu]: user '%s': after \"ed25519:\" expected the 43 base64 "
                       "characters MariaDB stores for ed25519 (SELECT ed25519_password('...'))",
                       i, u->name);
        if (u->require_tls && !cfg->tls.enabled)
            node_error(ld, at,
                       "users[%zu]: user '%s' has require_tls: true, but ringsql offers no TLS "
                       "(no top-level tls: with cert and key); the user could never log in",
                       i, u->name);
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
                node_error(ld, ld_top_list_item(ld, "backends", i),
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
    cfg->pool.max_prepared_per_conn = 256;
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
        ld_error_at(ld, 1, 1,
                    "the file is empty; expected a mapping with at least 'backends' and "
                    "'users'");
        return;
    }
    ld_walk_mapping(ld, root, "top level", top_specs, countof(top_specs), ld->cfg);
    if (root->type != YAML_MAPPING_NODE)
        return;
    check_backends(ld);
    check_users(ld);
    cfg_check_routing(ld);
    cfg_check_auth(ld);
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
    cfg->source = malloc(len + 1);
    if (cfg->source) {
        memcpy(cfg->source, yaml, len);
        cfg->source[len] = '\0';
        cfg->source_len = len;
    }

    struct loader ld = {.name = name, .errs = errs, .cfg = cfg};
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        ld_error_at(&ld, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
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
    cfg_tls_free(cfg);
    cfg_routing_free(cfg);
    cfg_auth_free(cfg);
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
    free(cfg->source);
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
