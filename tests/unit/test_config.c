/* Unit tests for config/: values, a full valid file, and every error path with its position. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config/config.h"

#define MINIMAL                                                                                    \
    "backends:\n"                                                                                  \
    "  - name: primary\n"                                                                          \
    "    address: \"127.0.0.1:3306\"\n"                                                            \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: secret\n"

static struct cfg *load_ok(const char *yaml)
{
    struct cfg *cfg = NULL;
    struct cfg_errors errs;
    int rc = cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &errs);
    CHECK_INT(rc, 0);
    for (size_t i = 0; i < errs.count; i++)
        printf("#   unexpected: %s\n", errs.lines[i]);
    cfg_errors_free(&errs);
    return cfg;
}

/* Loads yaml, which must fail, and checks that one error line starts with "t.yaml:" + where
 * (line:column) and contains needle. */
static void expect_error(const char *yaml, const char *where, const char *needle)
{
    struct cfg *cfg = NULL;
    struct cfg_errors errs;
    int rc = cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &errs);
    CHECK_INT(rc, -EINVAL);
    CHECK(cfg == NULL);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.yaml:%s: ", where);
    bool found = false;
    for (size_t i = 0; i < errs.count; i++)
        found |= strncmp(errs.lines[i], prefix, strlen(prefix)) == 0 &&
                 strstr(errs.lines[i], needle) != NULL;
    if (!CHECK(found)) {
        printf("#   wanted \"%s...%s\"; got:\n", prefix, needle);
        for (size_t i = 0; i < errs.count; i++)
            printf("#     %s\n", errs.lines[i]);
    }
    cfg_errors_free(&errs);
}

static void test_durations(void)
{
    uint64_t ms = 0;
    CHECK(cfg_parse_duration("250ms", &ms) && ms == 250);
    CHECK(cfg_parse_duration("10s", &ms) && ms == 10000);
    CHECK(cfg_parse_duration("5m", &ms) && ms == 300000);
    CHECK(cfg_parse_duration("8h", &ms) && ms == 28800000);
    CHECK(cfg_parse_duration("0s", &ms) && ms == 0);
    CHECK(!cfg_parse_duration("10", &ms));
    CHECK(!cfg_parse_duration("s", &ms));
    CHECK(!cfg_parse_duration("-1s", &ms));
    CHECK(!cfg_parse_duration("1.5s", &ms));
    CHECK(!cfg_parse_duration("10 s", &ms));
    CHECK(!cfg_parse_duration("10d", &ms));
    CHECK(!cfg_parse_duration("99999999999999999999h", &ms));
    CHECK(!cfg_parse_duration("9999999999999999h", &ms));
}

static void test_addresses(void)
{
    struct cfg_addr a;
    CHECK(cfg_parse_addr("127.0.0.1:6033", &a));
    CHECK_STR(a.host, "127.0.0.1");
    CHECK_UINT(a.port, 6033);
    CHECK(cfg_parse_addr("[::1]:3306", &a));
    CHECK_STR(a.host, "::1");
    CHECK_UINT(a.port, 3306);
    CHECK(cfg_parse_addr("db.internal:65535", &a));
    CHECK_STR(a.host, "db.internal");
    CHECK(!cfg_parse_addr("127.0.0.1", &a));
    CHECK(!cfg_parse_addr("127.0.0.1:0", &a));
    CHECK(!cfg_parse_addr("127.0.0.1:65536", &a));
    CHECK(!cfg_parse_addr("127.0.0.1:99999999", &a));
    CHECK(!cfg_parse_addr(":3306", &a));
    CHECK(!cfg_parse_addr("::1:3306", &a));
    CHECK(!cfg_parse_addr("[::1]3306", &a));
    CHECK(!cfg_parse_addr("host:33a", &a));
    CHECK(cfg_parse_addr_port0("127.0.0.1:0", &a));
    CHECK_UINT(a.port, 0);
    CHECK(!cfg_parse_addr_port0("127.0.0.1:65536", &a));
}

static void test_full_example(void)
{
    struct cfg *cfg = load_ok("listen: \"0.0.0.0:7000\"\n"
                              "workers: 3\n"
                              "backends:\n"
                              "  - name: primary\n"
                              "    address: \"127.0.0.1:3306\"\n"
                              "  - name: replica\n"
                              "    address: \"[::1]:3307\"\n"
                              "users:\n"
                              "  - name: app\n"
                              "    password: secret\n"
                              "  - name: reporting\n"
                              "    password: \"*A4B6157319038724E3560894F7F932C8886EBFCF\"\n"
                              "    backend_user: report_ro\n"
                              "    backend_password: ro-pass\n"
                              "pool:\n"
                              "  size: 8\n"
                              "  min_idle: 2\n"
                              "  stale_after: 1s\n"
                              "  health_check_interval: 500ms\n"
                              "  mode: transaction\n"
                              "timeouts:\n"
                              "  connect: 3s\n"
                              "  handshake: 4s\n"
                              "  client_idle: 1h\n"
                              "  pool_wait: 250ms\n"
                              "admin:\n"
                              "  listen: \"127.0.0.1:9999\"\n"
                              "shutdown:\n"
                              "  drain_timeout: 45s\n"
                              "log:\n"
                              "  level: debug\n"
                              "  format: json\n");
    if (!CHECK(cfg != NULL))
        return;
    CHECK_STR(cfg->listen.host, "0.0.0.0");
    CHECK_UINT(cfg->listen.port, 7000);
    CHECK_UINT(cfg->workers, 3);
    CHECK_UINT(cfg->nbackends, 2);
    CHECK_STR(cfg->backends[1].name, "replica");
    CHECK_STR(cfg->backends[1].addr.host, "::1");
    CHECK_UINT(cfg->nusers, 2);
    CHECK_STR(cfg->users[0].backend_user, "app");
    CHECK_STR(cfg->users[0].backend_password, "secret");
    CHECK_STR(cfg->users[1].backend_user, "report_ro");
    CHECK_STR(cfg->users[1].backend_password, "ro-pass");
    CHECK(cfg_find_user(cfg, "reporting") == &cfg->users[1]);
    CHECK(cfg_find_user(cfg, "nobody") == NULL);
    CHECK(cfg_find_backend(cfg, "replica") == &cfg->backends[1]);
    CHECK(cfg_find_backend(cfg, "nobody") == NULL);
    CHECK_UINT(cfg->pool.size, 8);
    CHECK_UINT(cfg->pool.min_idle, 2);
    CHECK_UINT(cfg->pool.stale_after_ms, 1000);
    CHECK_UINT(cfg->pool.health_check_interval_ms, 500);
    CHECK_INT(cfg->pool.mode, CFG_POOL_TRANSACTION);
    CHECK_UINT(cfg->timeouts.connect_ms, 3000);
    CHECK_UINT(cfg->timeouts.handshake_ms, 4000);
    CHECK_UINT(cfg->timeouts.client_idle_ms, 3600000);
    CHECK_UINT(cfg->timeouts.pool_wait_ms, 250);
    CHECK_UINT(cfg->admin_listen.port, 9999);
    CHECK_UINT(cfg->shutdown.drain_timeout_ms, 45000);
    CHECK_INT(cfg->log_level, CFG_LOG_DEBUG);
    CHECK_INT(cfg->log_format, CFG_LOG_JSON);
    cfg_free(cfg);
}

static void test_defaults(void)
{
    struct cfg *cfg = load_ok(MINIMAL);
    if (!CHECK(cfg != NULL))
        return;
    CHECK_STR(cfg->listen.host, "127.0.0.1");
    CHECK_UINT(cfg->listen.port, 6033);
    CHECK(cfg->workers >= 1); /* 0 resolves to the online CPU count */
    CHECK_UINT(cfg->pool.size, 32);
    CHECK_UINT(cfg->pool.min_idle, 32);
    CHECK_UINT(cfg->pool.stale_after_ms, 300000);
    CHECK_UINT(cfg->pool.health_check_interval_ms, 10000);
    CHECK_INT(cfg->pool.mode, CFG_POOL_SESSION);
    CHECK_UINT(cfg->timeouts.connect_ms, 2000);
    CHECK_UINT(cfg->timeouts.handshake_ms, 5000);
    CHECK_UINT(cfg->timeouts.client_idle_ms, 8ull * 3600 * 1000);
    CHECK_UINT(cfg->timeouts.pool_wait_ms, 5000);
    CHECK_UINT(cfg->admin_listen.port, 9033);
    CHECK_UINT(cfg->shutdown.drain_timeout_ms, 30000);
    CHECK_INT(cfg->log_level, CFG_LOG_INFO);
    CHECK_INT(cfg->log_format, CFG_LOG_LOGFMT);
    cfg_free(cfg);
}

static void test_unix_socket_backend(void)
{
    struct cfg *cfg =
        load_ok("backends:\n  - name: local\n    address: \"unix:/run/mysqld/mysqld.sock\"\n"
                "users:\n  - name: u\n    password: p\n");
    if (!CHECK(cfg != NULL))
        return;
    CHECK(cfg->backends[0].addr.unix_socket);
    CHECK_STR(cfg->backends[0].addr.host, "/run/mysqld/mysqld.sock");
    char buf[300];
    CHECK_STR(cfg_addr_str(&cfg->backends[0].addr, buf, sizeof buf),
              "unix:/run/mysqld/mysqld.sock");
    cfg_free(cfg);
}

static void test_password_env(void)
{
    setenv("RINGSQL_TEST_PW", "from-env", 1);
    struct cfg *cfg = load_ok("backends:\n"
                              "  - name: primary\n"
                              "    address: \"127.0.0.1:3306\"\n"
                              "users:\n"
                              "  - name: app\n"
                              "    password_env: RINGSQL_TEST_PW\n");
    if (CHECK(cfg != NULL))
        CHECK_STR(cfg->users[0].password, "from-env");
    cfg_free(cfg);
    expect_error("backends:\n"
                 "  - name: primary\n"
                 "    address: \"127.0.0.1:3306\"\n"
                 "users:\n"
                 "  - name: app\n"
                 "    password_env: RINGSQL_TEST_UNSET_VARIABLE\n",
                 "6:19", "environment variable 'RINGSQL_TEST_UNSET_VARIABLE' is not set");
    expect_error("backends:\n"
                 "  - name: primary\n"
                 "    address: \"127.0.0.1:3306\"\n"
                 "users:\n"
                 "  - name: app\n"
                 "    password: a\n"
                 "    password_env: RINGSQL_TEST_PW\n",
                 "7:19", "give only one of them");
}

/* Two users of different passwords logging in to the backends as one user could see and kill
 * each other's work there: refused unless one of them says share_backend_user: true. The same
 * password (one owner) is fine. */
static void test_shared_backend_user(void)
{
#define SHARED_BASE                                                                                \
    "backends:\n"                                                                                  \
    "  - name: primary\n"                                                                          \
    "    address: \"127.0.0.1:3306\"\n"                                                            \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: a\n"                                                                            \
    "    backend_user: db\n"                                                                       \
    "  - name: other\n"
    expect_error(SHARED_BASE "    password: b\n"
                             "    backend_user: db\n",
                 "8:5", "users 'app' and 'other' log in to the backends as the same user 'db'");
    struct cfg *cfg = load_ok(SHARED_BASE "    password: b\n"
                                          "    backend_user: db\n"
                                          "    share_backend_user: true\n");
    CHECK(cfg && cfg->users[1].share_backend_user);
    cfg_free(cfg);
    cfg = load_ok(SHARED_BASE "    password: a\n"
                              "    backend_user: db\n");
    CHECK(cfg != NULL);
    cfg_free(cfg);
    expect_error(SHARED_BASE "    password: b\n"
                             "    share_backend_user: yes\n",
                 "10:25", "expected true or false");
#undef SHARED_BASE
}

/* receive_buffers: 512 by default, a power of two from 16 to 32768. */
static void test_receive_buffers(void)
{
    struct cfg *cfg = load_ok(MINIMAL);
    if (CHECK(cfg != NULL))
        CHECK_UINT(cfg->receive_buffers, 512);
    cfg_free(cfg);
    cfg = load_ok(MINIMAL "receive_buffers: 64\n");
    if (CHECK(cfg != NULL))
        CHECK_UINT(cfg->receive_buffers, 64);
    cfg_free(cfg);
    expect_error(MINIMAL "receive_buffers: 100\n", "7:18", "expected a power of two");
    expect_error(MINIMAL "receive_buffers: 8\n", "7:18", "expected an integer from 16 to 32768");
}

static void test_unknown_key(void)
{
    expect_error("listne: \"127.0.0.1:6033\"\n" MINIMAL, "1:1",
                 "unknown key 'listne' (expected one of: listen,");
    expect_error(MINIMAL "pool:\n  sise: 3\n", "8:3", "pool: unknown key 'sise'");
    expect_error(MINIMAL "    pasword: x\n", "7:5", "users[0]: unknown key 'pasword'");
}

static void test_wrong_types(void)
{
    expect_error(MINIMAL "pool: 5\n", "7:7", "pool: expected a mapping, got a scalar");
    expect_error("backends: primary\nusers:\n  - name: a\n    password: b\n", "1:11",
                 "key 'backends': expected a list, got a scalar");
    expect_error(MINIMAL "listen: [a, b]\n", "7:9",
                 "key 'listen': expected an address, got a list");
    expect_error(MINIMAL "workers: many\n", "7:10", "key 'workers': expected an integer");
    expect_error(MINIMAL "workers: -1\n", "7:10", "key 'workers': expected an integer");
    expect_error(MINIMAL "log:\n  level: loud\n", "8:10", "expected one of error, warn");
    expect_error(MINIMAL "log:\n  format: xml\n", "8:11", "expected logfmt or json, got 'xml'");
    expect_error("backends:\n  - name: a\n    address: \"unix:run/my.sock\"\nusers:\n  - name: u\n"
                 "    password: p\n",
                 "3:14", "expected \"unix:\" and an absolute socket path");
    expect_error(MINIMAL "pool:\n  mode: statement\n", "8:9",
                 "key 'pool.mode': expected session or transaction, got 'statement'");
    expect_error("- a\n- b\n", "1:1", "top level: expected a mapping, got a list");
}

static void test_missing_keys(void)
{
    expect_error("users:\n  - name: a\n    password: b\n", "1:1",
                 "missing required key 'backends'");
    expect_error("backends:\n  - name: p\n    address: \"h:1\"\n", "1:1",
                 "missing required key 'users'");
    expect_error("backends:\n  - name: p\nusers:\n  - name: a\n    password: b\n", "2:5",
                 "backends[0]: missing required key 'address'");
    expect_error("backends:\n  - address: \"h:1\"\nusers:\n  - name: a\n    password: b\n", "2:5",
                 "backends[0]: missing required key 'name'");
    expect_error("backends:\n  - name: p\n    address: \"h:1\"\nusers:\n  - name: a\n", "5:5",
                 "user 'a' needs 'password' or 'password_env'");
    expect_error("backends: []\nusers:\n  - name: a\n    password: b\n", "1:11",
                 "expected at least one entry");
    expect_error("", "1:1", "the file is empty");
}

static void test_duplicates(void)
{
    expect_error(MINIMAL "  - name: app\n    password: other\n", "7:5",
                 "duplicate user 'app' (also users[0])");
    expect_error("backends:\n"
                 "  - name: p\n"
                 "    address: \"h:1\"\n"
                 "  - name: p\n"
                 "    address: \"h:2\"\n"
                 "users:\n  - name: a\n    password: b\n",
                 "4:5", "duplicate backend name 'p'");
    expect_error(MINIMAL "workers: 1\nworkers: 2\n", "8:1", "key 'workers' is given twice");
}

static void test_values_out_of_range(void)
{
    expect_error(MINIMAL "listen: \"127.0.0.1:70000\"\n", "7:9",
                 "port from 1 to 65535, got '127.0.0.1:70000'");
    expect_error(MINIMAL "listen: \"127.0.0.1\"\n", "7:9", "expected \"host:port\"");
    expect_error(MINIMAL "pool:\n  size: 0\n", "8:9",
                 "key 'pool.size': expected an integer from 1 to 100000, got '0'");
    expect_error(MINIMAL "pool:\n  size: 4\n  min_idle: 5\n", "8:3",
                 "'pool.min_idle': 5 is larger than pool.size 4");
    /* min_idle is checked against the default size too, and must be a whole number >= 0. */
    expect_error(MINIMAL "pool:\n  min_idle: 40\n", "8:3",
                 "'pool.min_idle': 40 is larger than pool.size 32");
    expect_error(MINIMAL "pool:\n  min_idle: -1\n", "8:13",
                 "key 'pool.min_idle': expected an integer from 0 to 100000, got '-1'");
    expect_error(MINIMAL "pool:\n  min_idle: lots\n", "8:13",
                 "key 'pool.min_idle': expected an integer from 0 to 100000, got 'lots'");
    expect_error(MINIMAL "workers: 5000\n", "7:10", "from 0 to 1024");
    expect_error(MINIMAL "timeouts:\n  connect: 2\n", "8:12",
                 "key 'timeouts.connect': expected a positive duration");
    expect_error(MINIMAL "shutdown:\n  drain_timeout: 0s\n", "8:18",
                 "key 'shutdown.drain_timeout': expected a positive duration");
    expect_error(MINIMAL "shutdown:\n  drain: 5s\n", "8:3", "shutdown: unknown key 'drain'");
    expect_error(MINIMAL "timeouts:\n  handshake: 0s\n", "8:14",
                 "key 'timeouts.handshake': expected a positive duration");
    expect_error(MINIMAL "pool:\n  stale_after: soon\n", "8:16", "key 'pool.stale_after'");
    expect_error(MINIMAL "users:\n", "7:1", "key 'users' is given twice");
    expect_error(MINIMAL "admin:\n  listen: nowhere\n", "8:11", "key 'admin.listen'");
    expect_error(MINIMAL "listen: \"127.0.0.1:0\"\n", "7:9", "key 'listen'");
}

static void test_admin_port_zero(void)
{
    struct cfg *cfg = load_ok(MINIMAL "admin:\n  listen: \"127.0.0.1:0\"\n");
    CHECK_UINT(cfg->admin_listen.port, 0);
    cfg_free(cfg);
}

static void test_hashed_password_needs_backend_password(void)
{
    expect_error("backends:\n  - name: p\n    address: \"h:1\"\n"
                 "users:\n  - name: a\n"
                 "    password: \"*A4B6157319038724E3560894F7F932C8886EBFCF\"\n",
                 "5:5", "hashed password, which cannot log in to the backends");
}

static void test_invalid_yaml(void)
{
    expect_error("backends: [\n", "2:1", "invalid YAML");
    expect_error("a: b\n  c: d\n", "2:4", "invalid YAML");
}

static void test_collects_every_error(void)
{
    struct cfg *cfg;
    struct cfg_errors errs;
    const char *yaml = "listne: x\nworkers: x\npool:\n  size: 0\n";
    CHECK_INT(cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &errs), -EINVAL);
    CHECK_UINT(errs.count, 5); /* listne, workers, size, missing backends, missing users */
    cfg_errors_free(&errs);
}

static void test_file_errors(void)
{
    struct cfg *cfg;
    struct cfg_errors errs;
    CHECK_INT(cfg_load("/nonexistent/ringsql.yaml", &cfg, &errs), -ENOENT);
    if (CHECK_UINT(errs.count, 1))
        CHECK(strstr(errs.lines[0], "/nonexistent/ringsql.yaml: cannot read") != NULL);
    cfg_errors_free(&errs);

    char path[] = "/tmp/ringsql-cfg-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0))
        return;
    FILE *f = fdopen(fd, "w");
    fputs(MINIMAL, f);
    fclose(f);
    CHECK_INT(cfg_load(path, &cfg, &errs), 0);
    if (CHECK(cfg != NULL))
        CHECK_STR(cfg->path, path);
    cfg_free(cfg);
    unlink(path);
}

/* ---- TLS (config/tls.c), require_tls and the hashed password forms ---------------------- */

/* Two readable files standing for a certificate and a key: tls.c only checks readability
 * (OpenSSL parses them when the proxy builds its contexts). */
static char tls_cert_path[64];
static char tls_key_path[64];

static bool make_tls_files(void)
{
    char *paths[] = {tls_cert_path, tls_key_path};
    strcpy(tls_cert_path, "/tmp/ringsql-cfg-cert-XXXXXX");
    strcpy(tls_key_path, "/tmp/ringsql-cfg-key-XXXXXX");
    for (size_t i = 0; i < 2; i++) {
        int fd = mkstemp(paths[i]);
        if (!CHECK(fd >= 0))
            return false;
        CHECK(write(fd, "x\n", 2) == 2);
        close(fd);
    }
    return true;
}

static void remove_tls_files(void)
{
    unlink(tls_cert_path);
    unlink(tls_key_path);
}

/* MINIMAL with a top-level tls section; its keys start at line 8, column 3. */
static char *with_tls(const char *body)
{
    char *yaml = NULL;
    CHECK(asprintf(&yaml, MINIMAL "tls:\n%s", body) > 0);
    return yaml;
}

static void test_tls_clients(void)
{
    if (!make_tls_files())
        return;
    struct cfg *cfg = load_ok(MINIMAL);
    if (CHECK(cfg != NULL)) {
        CHECK(!cfg->tls.enabled);
        CHECK(cfg->tls.cert == NULL && cfg->tls.key == NULL && cfg->tls.ca == NULL);
        CHECK_INT(cfg->tls.min_version, CFG_TLS_1_2);
    }
    cfg_free(cfg);

    char body[512];
    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n", tls_cert_path, tls_key_path);
    char *yaml = with_tls(body);
    cfg = load_ok(yaml);
    free(yaml);
    if (CHECK(cfg != NULL)) {
        CHECK(cfg->tls.enabled);
        CHECK_STR(cfg->tls.cert, tls_cert_path);
        CHECK_STR(cfg->tls.key, tls_key_path);
        CHECK(cfg->tls.ca == NULL);
        CHECK_INT(cfg->tls.min_version, CFG_TLS_1_2);
    }
    cfg_free(cfg);

    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  ca: %s\n  min_version: \"1.3\"\n",
             tls_cert_path, tls_key_path, tls_cert_path);
    yaml = with_tls(body);
    cfg = load_ok(yaml);
    free(yaml);
    if (CHECK(cfg != NULL)) {
        CHECK(cfg->tls.enabled);
        CHECK_STR(cfg->tls.ca, tls_cert_path);
        CHECK_INT(cfg->tls.min_version, CFG_TLS_1_3);
    }
    cfg_free(cfg);

    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  min_version: 1.2\n", tls_cert_path,
             tls_key_path);
    yaml = with_tls(body);
    cfg = load_ok(yaml);
    free(yaml);
    if (CHECK(cfg != NULL))
        CHECK_INT(cfg->tls.min_version, CFG_TLS_1_2);
    cfg_free(cfg);
    remove_tls_files();
}

static void test_tls_clients_errors(void)
{
    if (!make_tls_files())
        return;
    char body[512];
    char *yaml;
    /* cert and key are both required. */
    snprintf(body, sizeof body, "  cert: %s\n", tls_cert_path);
    yaml = with_tls(body);
    expect_error(yaml, "8:3", "tls: missing required key 'key'");
    free(yaml);
    snprintf(body, sizeof body, "  key: %s\n", tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "8:3", "tls: missing required key 'cert'");
    free(yaml);
    /* Unreadable files name the key and the path. */
    snprintf(body, sizeof body, "  cert: /nonexistent/cert.pem\n  key: %s\n", tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "8:9",
                 "key 'tls.cert': cannot read '/nonexistent/cert.pem': No such file or directory");
    free(yaml);
    snprintf(body, sizeof body, "  cert: %s\n  key: /nonexistent/key.pem\n", tls_cert_path);
    yaml = with_tls(body);
    expect_error(yaml, "9:8", "key 'tls.key': cannot read '/nonexistent/key.pem'");
    free(yaml);
    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  ca: /nonexistent/ca.pem\n", tls_cert_path,
             tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "10:7", "key 'tls.ca': cannot read '/nonexistent/ca.pem'");
    free(yaml);
    /* min_version: 1.2 or 1.3 only. */
    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  min_version: \"1.1\"\n", tls_cert_path,
             tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "10:16", "key 'tls.min_version': expected 1.2 or 1.3, got '1.1'");
    free(yaml);
    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  min_version: TLSv1.3\n", tls_cert_path,
             tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "10:16", "key 'tls.min_version': expected 1.2 or 1.3, got 'TLSv1.3'");
    free(yaml);
    /* Unknown keys, with the ones it knows. */
    snprintf(body, sizeof body, "  cert: %s\n  key: %s\n  mode: required\n", tls_cert_path,
             tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "10:3",
                 "tls: unknown key 'mode' (expected one of: cert, key, ca, min_version)");
    free(yaml);
    /* Not a mapping; an empty path. */
    expect_error(MINIMAL "tls: on\n", "7:6", "tls: expected a mapping, got a scalar");
    snprintf(body, sizeof body, "  cert: \"\"\n  key: %s\n", tls_key_path);
    yaml = with_tls(body);
    expect_error(yaml, "8:9", "key 'tls.cert': expected a non-empty string");
    free(yaml);
    remove_tls_files();
}

#define BTLS_HEAD                                                                                  \
    "backends:\n"                                                                                  \
    "  - name: primary\n"                                                                          \
    "    address: \"127.0.0.1:3306\"\n"                                                            \
    "    tls:\n"
#define BTLS_TAIL "users:\n  - name: app\n    password: secret\n"

static char *with_backend_tls(const char *body)
{
    char *yaml = NULL;
    CHECK(asprintf(&yaml, BTLS_HEAD "%s" BTLS_TAIL, body) > 0);
    return yaml;
}

static void test_tls_backends(void)
{
    if (!make_tls_files())
        return;
    struct cfg *cfg = load_ok(MINIMAL);
    if (CHECK(cfg != NULL))
        CHECK_INT(cfg->backends[0].tls.mode, CFG_BTLS_DISABLED);
    cfg_free(cfg);

    static const struct {
        const char *name;
        enum cfg_backend_tls_mode mode;
    } modes[] = {
        {"disabled", CFG_BTLS_DISABLED},
        {"preferred", CFG_BTLS_PREFERRED},
        {"required", CFG_BTLS_REQUIRED},
        {"verify_ca", CFG_BTLS_VERIFY_CA},
        {"verify_identity", CFG_BTLS_VERIFY_IDENTITY},
    };
    char body[512];
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        snprintf(body, sizeof body, "      mode: %s\n", modes[i].name);
        char *yaml = with_backend_tls(body);
        cfg = load_ok(yaml);
        free(yaml);
        if (CHECK(cfg != NULL)) {
            CHECK_INT(cfg->backends[0].tls.mode, modes[i].mode);
            CHECK_STR(cfg_backend_tls_mode_name(cfg->backends[0].tls.mode), modes[i].name);
        }
        cfg_free(cfg);
    }

    snprintf(body, sizeof body,
             "      mode: verify_identity\n      ca: %s\n      cert: %s\n"
             "      key: %s\n",
             tls_cert_path, tls_cert_path, tls_key_path);
    char *yaml = with_backend_tls(body);
    cfg = load_ok(yaml);
    free(yaml);
    if (CHECK(cfg != NULL)) {
        CHECK_INT(cfg->backends[0].tls.mode, CFG_BTLS_VERIFY_IDENTITY);
        CHECK_STR(cfg->backends[0].tls.ca, tls_cert_path);
        CHECK_STR(cfg->backends[0].tls.cert, tls_cert_path);
        CHECK_STR(cfg->backends[0].tls.key, tls_key_path);
        CHECK(!cfg->tls.enabled); /* backend TLS says nothing about the client side */
    }
    cfg_free(cfg);
    remove_tls_files();
}

static void test_tls_backends_errors(void)
{
    if (!make_tls_files())
        return;
    char body[512];
    char *yaml;
    /* mode is required. */
    snprintf(body, sizeof body, "      ca: %s\n", tls_cert_path);
    yaml = with_backend_tls(body);
    expect_error(yaml, "5:7", "tls: missing required key 'mode'");
    free(yaml);
    /* A bad mode lists the choices. */
    yaml = with_backend_tls("      mode: verify\n");
    expect_error(yaml, "5:13",
                 "key 'tls.mode': expected disabled, preferred, required, verify_ca or "
                 "verify_identity, got 'verify'");
    free(yaml);
    yaml = with_backend_tls("      mode: true\n");
    expect_error(yaml, "5:13", "key 'tls.mode': expected disabled, preferred");
    free(yaml);
    /* A client certificate needs both halves. */
    snprintf(body, sizeof body, "      mode: required\n      cert: %s\n", tls_cert_path);
    yaml = with_backend_tls(body);
    expect_error(yaml, "5:7", "tls: give both 'cert' and 'key' (a client certificate), or neither");
    free(yaml);
    snprintf(body, sizeof body, "      mode: required\n      key: %s\n", tls_key_path);
    yaml = with_backend_tls(body);
    expect_error(yaml, "5:7", "tls: give both 'cert' and 'key'");
    free(yaml);
    /* Unreadable files; unknown keys. */
    yaml = with_backend_tls("      mode: verify_ca\n      ca: /nonexistent/ca.pem\n");
    expect_error(yaml, "6:11",
                 "key 'tls.ca': cannot read '/nonexistent/ca.pem': No such file or directory");
    free(yaml);
    snprintf(body, sizeof body,
             "      mode: required\n      cert: /nonexistent/c.pem\n"
             "      key: %s\n",
             tls_key_path);
    yaml = with_backend_tls(body);
    expect_error(yaml, "6:13", "key 'tls.cert': cannot read '/nonexistent/c.pem'");
    free(yaml);
    yaml = with_backend_tls("      mode: required\n      min_version: \"1.3\"\n");
    expect_error(yaml, "6:7",
                 "tls: unknown key 'min_version' (expected one of: mode, ca, cert, key)");
    free(yaml);
    yaml = with_backend_tls("      - required\n");
    expect_error(yaml, "5:7", "tls: expected a mapping, got a list");
    free(yaml);
    remove_tls_files();
}

static void test_require_tls(void)
{
    struct cfg *cfg = load_ok(MINIMAL);
    if (CHECK(cfg != NULL))
        CHECK(!cfg->users[0].require_tls);
    cfg_free(cfg);
    /* Only with TLS offered: without it the user could never log in. */
    expect_error(MINIMAL "    require_tls: true\n", "5:5",
                 "users[0]: user 'app' has require_tls: true, but ringsql offers no TLS");
    if (!make_tls_files())
        return;
    char *yaml = NULL;
    CHECK(asprintf(&yaml,
                   MINIMAL "    require_tls: true\n"
                           "  - name: other\n"
                           "    password: secret\n"
                           "    require_tls: false\n"
                           "tls:\n  cert: %s\n  key: %s\n",
                   tls_cert_path, tls_key_path) > 0);
    cfg = load_ok(yaml);
    if (CHECK(cfg != NULL)) {
        CHECK(cfg->users[0].require_tls);
        CHECK(!cfg->users[1].require_tls);
    }
    cfg_free(cfg);
    free(yaml);
    remove_tls_files();
    expect_error(MINIMAL "    require_tls: yes\n", "7:18",
                 "key 'require_tls': expected true or false, got 'yes'");
    expect_error(MINIMAL "    require_tls: [true]\n", "7:18",
                 "key 'require_tls': expected true or false");
}

/* Users with one password, on lines 4..: users[0] starts at line 5, column 5. */
#define USERS_HEAD                                                                                 \
    "backends:\n"                                                                                  \
    "  - name: p\n"                                                                                \
    "    address: \"h:1\"\n"                                                                       \
    "users:\n"                                                                                     \
    "  - name: a\n"
/* caching_sha2_password's stored form of "secret" (`ringsql --hash-password caching_sha2`),
 * and the same 70 bytes as 0x + hex (SHOW CREATE USER's spelling). */
#define SHA2_SALT_DIGEST "SPUKZ75WveZ1HwA5DAIVChJ6Ky8iVeAOpM4ZtokujudXT/q2BGtgOZ/Lp50Qo24"
#define SHA2_SECRET "$A$005$" SHA2_SALT_DIGEST
#define SHA2_SECRET_HEX                                                                            \
    "0x244124303035245350554b5a37355776655a31487741354441495643684a364b7938695665414f704d345a74"   \
    "6f6b756a756458542f7132424774674f5a2f4c703530516f3234"
/* MariaDB's ed25519_password('secret'). */
#define ED25519_SECRET "ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY"

/* Loads a user of password pw (and backend_password bp when given); its password, NULL when
 * the load failed. */
static void expect_password_ok(const char *pw, const char *bp)
{
    char *yaml = NULL;
    if (bp)
        CHECK(asprintf(&yaml, USERS_HEAD "    password: \"%s\"\n    backend_password: %s\n", pw,
                       bp) > 0);
    else
        CHECK(asprintf(&yaml, USERS_HEAD "    password: \"%s\"\n", pw) > 0);
    struct cfg *cfg = load_ok(yaml);
    if (!CHECK(cfg != NULL))
        printf("#   password \"%s\" was refused\n", pw);
    else {
        CHECK_STR(cfg->users[0].password, pw);
        CHECK_STR(cfg->users[0].backend_user, "a");
        CHECK_STR(cfg->users[0].backend_password, bp ? bp : pw);
    }
    cfg_free(cfg);
    free(yaml);
}

static void expect_password_error(const char *pw, const char *bp, const char *needle)
{
    char *yaml = NULL;
    if (bp)
        CHECK(asprintf(&yaml, USERS_HEAD "    password: \"%s\"\n    backend_password: %s\n", pw,
                       bp) > 0);
    else
        CHECK(asprintf(&yaml, USERS_HEAD "    password: \"%s\"\n", pw) > 0);
    expect_error(yaml, "5:5", needle);
    free(yaml);
}

#define NOT_SHA2                                                                                   \
    "users[0]: user 'a' has a password that starts like a caching_sha2_password hash but is "      \
    "not one (expected \"$A$005$\" and 63 more bytes as in mysql.user, or 0x and 140 hex digits)"
#define NOT_ED25519                                                                                \
    "users[0]: user 'a': after \"ed25519:\" expected the 43 base64 characters MariaDB stores "     \
    "for ed25519"
#define HASH_NEEDS_BP                                                                              \
    "users[0]: user 'a' has a hashed password, which cannot log in to the backends; set "          \
    "'backend_password' or 'backend_password_env'"

static void test_password_forms(void)
{
    /* plaintext: also what ringsql logs in to the backends with. */
    expect_password_ok("secret", NULL);
    expect_password_ok("secret", "other");
    /* mysql_native_password's hash, either case. */
    expect_password_ok("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7", "pw");
    expect_password_ok("*14e65567abdb5135d0cfd9a70b3032c179a49ee7", "pw");
    /* caching_sha2_password's stored form, literal and hex (either case). */
    expect_password_ok(SHA2_SECRET, "pw");
    expect_password_ok(SHA2_SECRET_HEX, "pw");
    char upper[sizeof SHA2_SECRET_HEX];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = i < 2 ? SHA2_SECRET_HEX[i] : (char)toupper((unsigned char)SHA2_SECRET_HEX[i]);
    expect_password_ok(upper, "pw");
    /* 100000 rounds (0x064 thousands) is the most ringsql checks. */
    expect_password_ok("$A$064$" SHA2_SALT_DIGEST, "pw");
    /* ed25519's public key. */
    expect_password_ok(ED25519_SECRET, "pw");
    /* "*" + something that is not 40 hex digits is a plaintext password, not a hash. */
    expect_password_ok("*secret", NULL);

    CHECK(cfg_password_is_sha2_crypt(SHA2_SECRET));
    CHECK(cfg_password_is_sha2_crypt(SHA2_SECRET_HEX));
    CHECK(!cfg_password_is_sha2_crypt("secret"));
    CHECK(!cfg_password_is_sha2_crypt("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"));
    CHECK(!cfg_password_is_sha2_crypt(ED25519_SECRET));
    CHECK(cfg_password_is_ed25519(ED25519_SECRET));
    CHECK(!cfg_password_is_ed25519(SHA2_SECRET));
    CHECK(!cfg_password_is_ed25519("secret"));
}

static void test_password_hash_needs_backend_password(void)
{
    expect_password_error("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7", NULL, HASH_NEEDS_BP);
    expect_password_error(SHA2_SECRET, NULL, HASH_NEEDS_BP);
    expect_password_error(SHA2_SECRET_HEX, NULL, HASH_NEEDS_BP);
    expect_password_error(ED25519_SECRET, NULL, HASH_NEEDS_BP);
    /* backend_password_env counts as a backend password too. */
    setenv("RINGSQL_TEST_BACKEND_PW", "from-env", 1);
    struct cfg *cfg = load_ok(USERS_HEAD "    password: \"" SHA2_SECRET "\"\n"
                                         "    backend_password_env: RINGSQL_TEST_BACKEND_PW\n");
    if (CHECK(cfg != NULL))
        CHECK_STR(cfg->users[0].backend_password, "from-env");
    cfg_free(cfg);
}

static void test_password_malformed_sha2(void)
{
    /* Wrong lengths. */
    expect_password_error("$A$005$", "pw", NOT_SHA2);
    expect_password_error("$A$005$" SHA2_SALT_DIGEST "x", "pw", NOT_SHA2);
    char shorter[] = SHA2_SECRET;
    shorter[sizeof shorter - 2] = '\0';
    expect_password_error(shorter, "pw", NOT_SHA2);
    /* The hex form: too short, odd, not hex. */
    expect_password_error("0x2441", "pw", NOT_SHA2);
    char hex[sizeof SHA2_SECRET_HEX];
    memcpy(hex, SHA2_SECRET_HEX, sizeof hex);
    hex[sizeof hex - 2] = 'g';
    expect_password_error(hex, "pw", NOT_SHA2);
    memcpy(hex, SHA2_SECRET_HEX, sizeof hex);
    hex[sizeof hex - 2] = '\0';
    expect_password_error(hex, "pw", NOT_SHA2);
    /* Round count: not hex, zero (MySQL would silently use 5000). */
    expect_password_error("$A$0G5$" SHA2_SALT_DIGEST, "pw", NOT_SHA2);
    expect_password_error("$A$000$" SHA2_SALT_DIGEST, "pw", NOT_SHA2);
    /* Layout: the '$' after the rounds, a '$' in the salt, a digest character outside crypt's
     * base64 alphabet. */
    char bad[] = SHA2_SECRET;
    bad[6] = 'x';
    expect_password_error(bad, "pw", NOT_SHA2);
    memcpy(bad, SHA2_SECRET, sizeof bad);
    bad[10] = '$';
    expect_password_error(bad, "pw", NOT_SHA2);
    memcpy(bad, SHA2_SECRET, sizeof bad);
    bad[sizeof bad - 3] = '!';
    expect_password_error(bad, "pw", NOT_SHA2);
    /* "$A$" alone is a malformed hash, not a plaintext password. */
    expect_password_error("$A$", "pw", NOT_SHA2);
}

static void test_password_sha2_rounds_bound(void)
{
    expect_password_error("$A$0C8$" SHA2_SALT_DIGEST, "pw",
                          "users[0]: user 'a' has a caching_sha2_password hash of 200000 rounds; "
                          "ringsql checks at most 100000 (each first login costs that many on a "
                          "worker)");
    expect_password_error("$A$065$" SHA2_SALT_DIGEST, "pw", "hash of 101000 rounds");
    expect_password_error("$A$FFF$" SHA2_SALT_DIGEST, "pw", "hash of 4095000 rounds");
    /* The same in hex: "$A$0C8$" is 24 41 24 30 43 38 24. */
    char hex[sizeof SHA2_SECRET_HEX];
    memcpy(hex, SHA2_SECRET_HEX, sizeof hex);
    memcpy(hex + 2 + 6, "304338", 6);
    expect_password_error(hex, "pw", "hash of 200000 rounds");
}

static void test_password_malformed_ed25519(void)
{
    expect_password_error("ed25519:", "pw", NOT_ED25519);
    /* 42 and 44 characters. */
    expect_password_error("ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJ", "pw", NOT_ED25519);
    expect_password_error("ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY=", "pw",
                          NOT_ED25519);
    /* A character outside base64; the 2 bits past the key not zero (Y is 011000, Z 011001). */
    expect_password_error("ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4Y!Y", "pw", NOT_ED25519);
    expect_password_error("ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJZ", "pw", NOT_ED25519);
    /* A malformed key without backend_password: both problems are reported. */
    expect_password_error("ed25519:short", NULL, NOT_ED25519);
    expect_password_error("ed25519:short", NULL, HASH_NEEDS_BP);
}

#define REPLICAS                                                                                   \
    "backends:\n"                                                                                  \
    "  - name: db1\n"                                                                              \
    "    address: \"127.0.0.1:3306\"\n"                                                            \
    "  - name: db2\n"                                                                              \
    "    address: \"127.0.0.1:3307\"\n"                                                            \
    "    role: replica\n"                                                                          \
    "    weight: 3\n"                                                                              \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: secret\n"

/* Without routes: one route on listen, policy primary; backends primary, weight 1; no checks. */
static void test_routing_defaults(void)
{
    struct cfg *cfg = load_ok("listen: \"127.0.0.1:7000\"\n" MINIMAL);
    if (!cfg)
        return;
    CHECK_INT(cfg->nroutes, 1);
    CHECK_STR(cfg->routes[0].name, "default");
    CHECK_INT(cfg->routes[0].listen.port, 7000);
    CHECK_INT(cfg->routes[0].policy, CFG_POLICY_PRIMARY);
    CHECK_INT(cfg->backends[0].role, CFG_ROLE_PRIMARY);
    CHECK_INT(cfg->backends[0].weight, 1);
    CHECK(!cfg->replication.enabled);
    cfg_free(cfg);
    cfg = load_ok(REPLICAS);
    if (!cfg)
        return;
    CHECK_INT(cfg->backends[1].role, CFG_ROLE_REPLICA);
    CHECK_INT(cfg->backends[1].weight, 3);
    CHECK(cfg->replication.enabled); /* a replica turns the checks on */
    CHECK_INT(cfg->replication.check_interval_ms, 1000);
    CHECK_INT(cfg->replication.max_lag_ms, 10000);
    CHECK_INT(cfg->replication.read_after_write_ms, 0);
    cfg_free(cfg);
}

static void test_routes(void)
{
    struct cfg *cfg = load_ok(REPLICAS "pool:\n  mode: transaction\n"
                                       "routes:\n"
                                       "  - name: rw\n"
                                       "    listen: \"127.0.0.1:7001\"\n"
                                       "    policy: split\n"
                                       "  - name: ro\n"
                                       "    listen: \"127.0.0.1:7002\"\n"
                                       "    policy: replicas\n"
                                       "replication:\n"
                                       "  check_interval: 200ms\n"
                                       "  max_lag: 3s\n"
                                       "  read_after_write: 1s\n"
                                       "  monitor_user: mon\n"
                                       "  monitor_password: pw\n");
    if (!cfg)
        return;
    CHECK_INT(cfg->nroutes, 2);
    CHECK_INT(cfg->routes[0].policy, CFG_POLICY_SPLIT);
    CHECK_INT(cfg->routes[1].policy, CFG_POLICY_REPLICAS);
    CHECK_INT(cfg->listen.port, 7001); /* the first route's */
    CHECK_INT(cfg->replication.check_interval_ms, 200);
    CHECK_INT(cfg->replication.max_lag_ms, 3000);
    CHECK_INT(cfg->replication.read_after_write_ms, 1000);
    CHECK_STR(cfg->replication.monitor_user, "mon");
    CHECK_STR(cfg->replication.monitor_password, "pw");
    CHECK_STR(cfg_policy_name(cfg->routes[0].policy), "split");
    CHECK_STR(cfg_role_name(cfg->backends[1].role), "replica");
    cfg_free(cfg);
}

static void test_routing_errors(void)
{
    static const char users[] = "users:\n  - name: app\n    password: secret\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "backends:\n  - name: a\n    address: \"127.0.0.1:1\"\n"
             "    role: boss\n%s",
             users);
    expect_error(yaml, "4:11", "key 'role': expected primary or replica, got 'boss'");
    snprintf(yaml, sizeof yaml,
             "backends:\n  - name: a\n    address: \"127.0.0.1:1\"\n"
             "    weight: 0\n%s",
             users);
    expect_error(yaml, "4:13", "key 'weight': expected an integer from 1 to 1000");
    expect_error(MINIMAL "routes:\n  - name: a\n    listen: \"127.0.0.1:7001\"\n    policy: nope\n",
                 "10:13", "expected primary, replicas or split");
    expect_error(MINIMAL
                 "routes:\n  - name: a\n    listen: \"127.0.0.1:7001\"\n    policy: primary\n"
                 "  - name: b\n    listen: \"127.0.0.1:7001\"\n    policy: replicas\n",
                 "11:5", "routes[1]: listen '127.0.0.1:7001' is routes[0]'s too");
    expect_error("listen: \"127.0.0.1:7000\"\n" MINIMAL
                 "routes:\n  - name: a\n    listen: \"127.0.0.1:7001\"\n    policy: primary\n",
                 "9:5", "the top-level 'listen' is not used where routes are given");
    expect_error(MINIMAL
                 "routes:\n  - name: a\n    listen: \"127.0.0.1:7001\"\n    policy: split\n",
                 "8:5", "needs 'pool.mode: transaction'");
    expect_error(MINIMAL "replication:\n  max_lag: 0s\n", "8:12", "replication.max_lag");
}

/* auth: its defaults (off; the first user's backend login reads accounts; 4 x pool.size), its
 * keys, its errors. */
static void test_auth(void)
{
    struct cfg *cfg = load_ok(MINIMAL);
    if (!cfg)
        return;
    CHECK(!cfg->auth.from_backend);
    CHECK_STR(cfg->auth.user, "app");
    CHECK_STR(cfg->auth.password, "secret");
    CHECK_INT(cfg->auth.max_connections, 4 * 32);
    CHECK_INT(cfg->auth.recheck_after_ms, 60000);
    cfg_free(cfg);
    cfg = load_ok(MINIMAL "auth:\n  from_backend: true\n  user: reader\n  password: pw\n"
                          "  max_connections: 7\n  recheck_after: 5s\n");
    if (!cfg)
        return;
    CHECK(cfg->auth.from_backend);
    CHECK_STR(cfg->auth.user, "reader");
    CHECK_STR(cfg->auth.password, "pw");
    CHECK_INT(cfg->auth.max_connections, 7);
    CHECK_INT(cfg->auth.recheck_after_ms, 5000);
    cfg_free(cfg);
    expect_error(MINIMAL "auth:\n  from_backnd: true\n", "8:3", "unknown key 'from_backnd'");
    expect_error(MINIMAL "auth:\n  max_connections: 0\n", "8:20", "auth.max_connections");
}

/* A config with server users: its own source again, the users after its own, a name it lists
 * left out. */
static void test_with_server_users(void)
{
    struct cfg *cur = load_ok(MINIMAL "auth:\n  from_backend: true\n");
    if (!cur)
        return;
    struct cfg_server_user su[2] = {
        {.name = "alice",
         .password = "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7",
         .has_stage1 = true},
        {.name = "app", .password = ""},
    };
    memset(su[0].stage1, 0xab, sizeof su[0].stage1);
    struct cfg *next = NULL;
    CHECK_INT(cfg_with_server_users(cur, su, 2, &next), 0);
    if (next) {
        CHECK_INT(next->nusers, 2);
        CHECK(next->auth.from_backend);
        const struct cfg_user *a = cfg_find_user(next, "alice");
        if (CHECK(a)) {
            CHECK(a->from_server && a->has_stage1);
            CHECK_STR(a->backend_user, "alice");
            CHECK_STR(a->password, su[0].password);
            CHECK(!a->backend_password);
            CHECK_INT(a->stage1[19], 0xab);
        }
        CHECK(!cfg_find_user(next, "app")->from_server); /* the config's own */
    }
    cfg_free(next);
    cfg_free(cur);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_durations),
        CHECK_CASE(test_addresses),
        CHECK_CASE(test_admin_port_zero),
        CHECK_CASE(test_full_example),
        CHECK_CASE(test_defaults),
        CHECK_CASE(test_unix_socket_backend),
        CHECK_CASE(test_password_env),
        CHECK_CASE(test_unknown_key),
        CHECK_CASE(test_wrong_types),
        CHECK_CASE(test_missing_keys),
        CHECK_CASE(test_duplicates),
        CHECK_CASE(test_values_out_of_range),
        CHECK_CASE(test_hashed_password_needs_backend_password),
        CHECK_CASE(test_invalid_yaml),
        CHECK_CASE(test_collects_every_error),
        CHECK_CASE(test_file_errors),
        CHECK_CASE(test_shared_backend_user),
        CHECK_CASE(test_receive_buffers),
        CHECK_CASE(test_tls_clients),
        CHECK_CASE(test_tls_clients_errors),
        CHECK_CASE(test_tls_backends),
        CHECK_CASE(test_tls_backends_errors),
        CHECK_CASE(test_require_tls),
        CHECK_CASE(test_password_forms),
        CHECK_CASE(test_password_hash_needs_backend_password),
        CHECK_CASE(test_password_malformed_sha2),
        CHECK_CASE(test_password_sha2_rounds_bound),
        CHECK_CASE(test_password_malformed_ed25519),
        CHECK_CASE(test_routing_defaults),
        CHECK_CASE(test_routes),
        CHECK_CASE(test_routing_errors),
        CHECK_CASE(test_auth),
        CHECK_CASE(test_with_server_users),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
