/* config: YAML (libyaml) to one validated, immutable struct. Nothing else reads YAML. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_log_level { CFG_LOG_ERROR, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG };
enum cfg_log_format { CFG_LOG_LOGFMT, CFG_LOG_JSON };
/* session: a client holds its backend connection from login to quit (the seed's binding).
 * transaction: only while a command or transaction runs, unless it left session state. */
enum cfg_pool_mode { CFG_POOL_SESSION, CFG_POOL_TRANSACTION };
/* The workers' I/O engine: auto (io_uring where it can be set up, else epoll) or one of them. */
enum cfg_io { CFG_IO_AUTO, CFG_IO_URING, CFG_IO_EPOLL };

/* A "host:port" or "[v6]:port" address, as written and split. */
struct cfg_addr {
    char host[256]; /* or, unix_socket, the socket's path */
    uint16_t port;
    bool unix_socket; /* backends only: address "unix:/path/to/mysqld.sock" */
};

/* TLS versions a side accepts at least. */
enum cfg_tls_version { CFG_TLS_1_2, CFG_TLS_1_3 };

/* tls: towards clients. Given (cert and key): the greeting offers CLIENT_SSL. ca: client
 * certificates are asked for and must chain to it (a client without one is still let in). */
struct cfg_tls {
    bool enabled;
    char *cert, *key, *ca;
    enum cfg_tls_version min_version;
};

/* backends[].tls.mode, as MySQL's --ssl-mode names them. */
enum cfg_backend_tls_mode {
    CFG_BTLS_DISABLED,
    CFG_BTLS_PREFERRED,       /* TLS when the server offers it, else plaintext */
    CFG_BTLS_REQUIRED,        /* TLS or no connection; the certificate is not checked */
    CFG_BTLS_VERIFY_CA,       /* ... and it must chain to ca (or the system's CAs) */
    CFG_BTLS_VERIFY_IDENTITY, /* ... and name the backend's host */
};

struct cfg_backend_tls {
    enum cfg_backend_tls_mode mode;
    char *ca, *cert, *key; /* cert and key: a client certificate for the server */
};

/* backends[].role: what the server is expected to be. With replication checks on (a
 * replication: section, or any replica), the server's read_only decides at run time. */
enum cfg_role { CFG_ROLE_PRIMARY, CFG_ROLE_REPLICA };

struct cfg_backend {
    char *name;
    struct cfg_addr addr;
    struct cfg_backend_tls tls;
    enum cfg_role role;
    uint32_t weight; /* reads spread over replicas by weight (1 by default) */
};

/* routes[].policy: where a route's sessions and statements go.
 * primary: the first primary (config order) with a free connection; as without routes.
 * replicas: replicas in the read set, by weight; the primaries when none is readable.
 * split: (transaction pooling) reads outside transactions as replicas, the rest as primary. */
enum cfg_policy { CFG_POLICY_PRIMARY, CFG_POLICY_REPLICAS, CFG_POLICY_SPLIT };

/* One listener and its policy. Without routes: in the config, one route "default" on listen
 * with policy primary. */
struct cfg_route {
    char *name;
    struct cfg_addr listen;
    enum cfg_policy policy;
};

/* replication: how the maintenance thread watches roles and lag. */
struct cfg_replication {
    bool enabled;                 /* the section is there, or a backend is a replica */
    uint64_t check_interval_ms;   /* @@read_only and SHOW ALL SLAVES STATUS of every backend */
    uint64_t max_lag_ms;          /* Seconds_Behind_Master above this: out of the read set */
    uint64_t read_after_write_ms; /* split: reads this soon after a write go to the primary */
    char *monitor_user;           /* who checks: default the first user's backend login */
    char *monitor_password;
};

struct cfg_user {
    char *name;
    /* What clients log in with: plaintext, "*HEX" (MySQL's SHA1(SHA1(pw)) hash) or
     * caching_sha2_password's stored form ("$A$005$...", or 0x + hex, as in mysql.user), or
     * "ed25519:" + the public key MariaDB's ed25519 plugin stores. */
    char *password;
    /* What ringsql logs in to the backends with; defaults to name / password. */
    char *backend_user;
    char *backend_password;
    /* The operator allows this user to share backend_user with users of other passwords
     * (they can see and kill each other's work on the server). */
    bool share_backend_user;
    bool require_tls; /* a plaintext login is refused */
    /* A server's own account, learnt at a login (auth.from_backend, config/server_users.h):
     * password is its stored "*HEX" (or "" for none) and backend_password NULL; ringsql logs in
     * as it with SHA1(password), which the client's answer gave (stage1, when has_stage1). */
    bool from_server;
    bool has_stage1;
    uint8_t stage1[20];
};

/* auth: logins of users the config does not list. from_backend: checked against the server's
 * own accounts (mysql.user, read as user/password), then pooled per user like listed ones. */
struct cfg_auth {
    bool from_backend;
    char *user; /* reads mysql.user (and KILLs server users' queries); default: the first
                 * user's backend login */
    char *password;
    uint32_t max_connections;  /* backend connections of server users, all together */
    uint64_t recheck_after_ms; /* a server user's login is checked with the server again */
};

struct cfg_pool {
    uint32_t size; /* backend connections per (backend, user), split across workers */
    uint32_t min_idle;
    uint64_t stale_after_ms;
    uint64_t health_check_interval_ms;
    enum cfg_pool_mode mode;
    /* Transaction pooling: statements kept prepared on one backend connection; the least
     * recently used beyond this are closed on the server (max_prepared_stmt_count is the
     * server's bound on all connections together). */
    uint32_t max_prepared_per_conn;
};

struct cfg_timeouts {
    uint64_t connect_ms;
    uint64_t handshake_ms;
    uint64_t client_idle_ms;
    uint64_t pool_wait_ms; /* transaction pooling: a command waits this long for a connection */
};

struct cfg_shutdown {
    uint64_t drain_timeout_ms; /* SIGTERM: how long connected clients may take to finish */
};

struct cfg {
    char *path;
    char *source; /* the YAML it was loaded from (cfg_with_server_users loads it again) */
    size_t source_len;
    struct cfg_addr listen; /* routes[0]'s listener: the one where no routes are given */
    bool listen_given;
    struct cfg_route *routes; /* never empty after cfg_load() */
    size_t nroutes;
    struct cfg_replication replication;
    uint32_t workers;         /* resolved: never 0 after cfg_load() */
    uint32_t receive_buffers; /* per worker, 64 KiB each, a power of two */
    enum cfg_io io;
    struct cfg_tls tls;
    struct cfg_backend *backends;
    size_t nbackends;
    struct cfg_user *users; /* the config's, then the server's (from_server) */
    size_t nusers;
    struct cfg_auth auth;
    struct cfg_pool pool;
    struct cfg_timeouts timeouts;
    struct cfg_addr admin_listen;
    struct cfg_shutdown shutdown;
    enum cfg_log_level log_level;
    enum cfg_log_format log_format;
};

/* Validation errors, each "file:line:column: message", in the order found. */
struct cfg_errors {
    size_t count;
    char **lines;
};

/* Loads and validates the file at path. On success returns 0 and *out (free with cfg_free()).
 * On failure returns -EINVAL (or -errno when the file cannot be read) and fills errs with
 * every problem found (free with cfg_errors_free()). */
int cfg_load(const char *path, struct cfg **out, struct cfg_errors *errs);

/* The same from a buffer; name stands for the file in error messages. */
int cfg_load_buffer(const char *name, const char *yaml, size_t len, struct cfg **out,
                    struct cfg_errors *errs);

void cfg_free(struct cfg *cfg);

/* One of the server's accounts a login proved (auth.from_backend). */
struct cfg_server_user {
    char name[128];
    char password[42]; /* its stored hash, "*" and 40 hex digits; "" for no password */
    bool has_stage1;
    uint8_t stage1[20]; /* SHA1(password): what ringsql logs in to the backends with */
};
/* Appends the n server users to cfg's users (a name cfg lists is left out). 0 or -ENOMEM. */
int cfg_add_server_users(struct cfg *cfg, const struct cfg_server_user *su, size_t n);
/* cur loaded again from its source (cur->source: not the file, which may have changed
 * since), with the n server users after its own users (a name it lists now is left out).
 * 0 and *out, or -errno. */
int cfg_with_server_users(const struct cfg *cur, const struct cfg_server_user *su, size_t n,
                          struct cfg **out);

/* The name of an io setting in the config ("auto", "io_uring", "epoll"), and back: false when
 * name is none of them. */
const char *cfg_io_name(enum cfg_io io);
bool cfg_io_parse(const char *name, enum cfg_io *out);
void cfg_errors_free(struct cfg_errors *errs);
/* The name of a backend TLS mode ("disabled", ..., "verify_identity"). */
const char *cfg_backend_tls_mode_name(enum cfg_backend_tls_mode mode);

/* Whether a users[].password is caching_sha2_password's stored form: "$A$..." or its "0x2441..."
 * hex spelling (SHOW CREATE USER). */
bool cfg_password_is_sha2_crypt(const char *pw);
/* Whether it is a client_ed25519 public key: "ed25519:" and MariaDB's 43 base64 characters. */
bool cfg_password_is_ed25519(const char *pw);
const struct cfg_user *cfg_find_user(const struct cfg *cfg, const char *name);
const struct cfg_backend *cfg_find_backend(const struct cfg *cfg, const char *name);
const char *cfg_log_level_name(enum cfg_log_level level);
const char *cfg_policy_name(enum cfg_policy policy);
const char *cfg_role_name(enum cfg_role role);

/* Parses "250ms", "10s", "5m", "8h" into milliseconds. Returns false on anything else. */
bool cfg_parse_duration(const char *text, uint64_t *ms);
/* Parses "host:port" or "[v6]:port"; port must be 1..65535. */
bool cfg_parse_addr(const char *text, struct cfg_addr *out);
/* The same with port 0 allowed (the kernel picks one): for admin.listen, one socket. */
bool cfg_parse_addr_port0(const char *text, struct cfg_addr *out);
/* "host:port", "[v6]:port" or "unix:/path", for logs and messages; returns buf. */
const char *cfg_addr_str(const struct cfg_addr *a, char *buf, size_t cap);
