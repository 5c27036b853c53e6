/* Unit tests for reload_keep_restart_keys(): what a SIGHUP changes live and what it keeps
 * for a restart. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "config/config.h"
#include "core/base/log.h"
#include "core/reload.h"

#define BASE                                                                                       \
    "listen: \"127.0.0.1:6033\"\n"                                                                 \
    "workers: 2\n"                                                                                 \
    "backends:\n"                                                                                  \
    "  - name: primary\n"                                                                          \
    "    address: \"127.0.0.1:3306\"\n"                                                            \
    "  - name: replica\n"                                                                          \
    "    address: \"127.0.0.1:3307\"\n"                                                            \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: secret\n"

static struct cfg *load(const char *yaml)
{
    struct cfg *cfg = NULL;
    struct cfg_errors errs;
    if (cfg_load_buffer("test.yaml", yaml, strlen(yaml), &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            printf("# %s\n", errs.lines[i]);
        cfg_errors_free(&errs);
        return NULL;
    }
    return cfg;
}

/* Loads both and keeps the restart keys of cur in next; NULL when either does not load. */
static struct cfg *reloaded(const char *cur_yaml, const char *next_yaml)
{
    struct cfg *cur = load(cur_yaml), *next = load(next_yaml);
    if (CHECK(cur && next))
        reload_keep_restart_keys(cur, next);
    cfg_free(cur);
    return next;
}

static void test_live_changes_apply(void)
{
    struct cfg *next = reloaded(BASE, BASE "    backend_password: other\n"
                                           "pool:\n  size: 64\n"
                                           "timeouts:\n  client_idle: 1h\n"
                                           "log:\n  level: debug\n");
    if (CHECK(next != NULL)) {
        CHECK_UINT(next->pool.size, 64);
        CHECK_UINT(next->timeouts.client_idle_ms, 3600000);
        CHECK_STR(next->users[0].backend_password, "other");
    }
    cfg_free(next);
}

static void test_restart_keys_keep_running_values(void)
{
    const char *changed = "listen: \"0.0.0.0:7000\"\n"
                          "workers: 5\n"
                          "admin:\n  listen: \"127.0.0.1:9999\"\n"
                          "backends:\n"
                          "  - name: replica\n"
                          "    address: \"127.0.0.1:3307\"\n"
                          "  - name: third\n"
                          "    address: \"10.0.0.1:3306\"\n"
                          "users:\n"
                          "  - name: app\n"
                          "    password: rotated\n"
                          "  - name: reporting\n"
                          "    password: x\n";
    struct cfg *next = reloaded(BASE, changed);
    if (CHECK(next != NULL)) {
        CHECK_STR(next->listen.host, "127.0.0.1");
        CHECK_UINT(next->listen.port, 6033);
        CHECK_UINT(next->workers, 2);
        CHECK_UINT(next->admin_listen.port, 9033);
        /* ... while the backends and users are the new ones. */
        CHECK_UINT(next->nbackends, 2);
        CHECK_STR(next->backends[1].name, "third");
        CHECK_UINT(next->nusers, 2);
        CHECK_STR(next->users[0].password, "rotated");
    }
    cfg_free(next);
}

int main(int argc, char **argv)
{
    log_init(CFG_LOG_ERROR, CFG_LOG_LOGFMT); /* reload_needs_restart warnings stay quiet */
    static const struct check_case cases[] = {
        CHECK_CASE(test_live_changes_apply),
        CHECK_CASE(test_restart_keys_keep_running_values),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
