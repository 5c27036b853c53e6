/* Unit tests for config/: values, a full valid file, and every error path with its position. */
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
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
