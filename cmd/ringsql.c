/* ringsql: command line, config loading and start-up. The proxy itself lives in core/. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/rand.h>

#include "config/config.h"
#include "core/base/log.h"
#include "core/proxy.h"
#include "protocol/auth.h"
#include "protocol/sha2_crypt.h"
#include "ringsql_version.h"

enum exit_code { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static void usage(FILE *out)
{
    fputs("usage: ringsql -c FILE [--check]\n"
          "       ringsql --hash-password native|caching_sha2 < password\n"
          "       ringsql --version | --help\n"
          "\n"
          "A MySQL/MariaDB wire-protocol proxy and connection pooler on io_uring.\n"
          "\n"
          "  -c, --config FILE  the YAML config to run with (see docs/config.md)\n"
          "      --check        validate the config, print a one-line summary and exit\n"
          "      --hash-password KIND\n"
          "                     read a password (one line) on stdin and print what\n"
          "                     users[].password may hold instead: native (*HEX, as\n"
          "                     PASSWORD()) or caching_sha2 ($A$005$..., as mysql.user)\n"
          "  -V, --version      print the version and exit\n"
          "  -h, --help         print this help and exit\n"
          "\n"
          "exit codes:\n"
          "  0  clean exit (or --check found the config valid)\n"
          "  1  runtime failure (could not listen, ...); a backend that is down at start is\n"
          "     not one: ringsql serves errors naming it and keeps retrying\n"
          "  2  bad command line or invalid config (errors name file:line:column)\n"
          "\n"
          "signals: SIGTERM drains (no new clients; connected ones get shutdown.drain_timeout\n"
          "         to finish; a second SIGTERM stops at once), SIGINT stops at once,\n"
          "         SIGHUP reloads the config (see docs/operations.md).\n",
          out);
}

/* --hash-password: a password from stdin to its stored form, so that no plaintext needs to
 * sit in a config or a Secret. */
static int hash_password(const char *kind)
{
    char pw[PROTO_SHA2_CRYPT_MAX_PASSWORD + 2];
    if (!fgets(pw, sizeof pw, stdin)) {
        fputs("ringsql: no password on stdin\n", stderr);
        return EXIT_CONFIG;
    }
    size_t len = strcspn(pw, "\r\n");
    if (len == 0 || len > PROTO_SHA2_CRYPT_MAX_PASSWORD) {
        fprintf(stderr, "ringsql: %s\n",
                len ? "a password of more than 256 bytes (MySQL's limit for caching_sha2)"
                    : "an empty password: a user without one needs no hash (password: \"\")");
        explicit_bzero(pw, sizeof pw);
        return EXIT_CONFIG;
    }
    pw[len] = '\0';
    int rc = EXIT_OK;
    if (strcmp(kind, "native") == 0) {
        uint8_t h[PROTO_NATIVE_HASH_LEN];
        proto_native_hash(pw, len, h);
        putchar('*');
        for (size_t i = 0; i < sizeof h; i++)
            printf("%02X", h[i]);
        putchar('\n');
    } else if (strcmp(kind, "caching_sha2") == 0) {
        /* A salt of characters YAML and shells take as they are. */
        static const char alphabet[] =
            "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        uint8_t salt[PROTO_SHA2_CRYPT_SALT_LEN];
        char out[PROTO_SHA2_CRYPT_TEXT_LEN + 1];
        if (RAND_bytes(salt, sizeof salt) != 1) {
            fputs("ringsql: no random bytes for a salt\n", stderr);
            rc = EXIT_RUNTIME;
        } else {
            for (size_t i = 0; i < sizeof salt; i++)
                salt[i] = (uint8_t)alphabet[salt[i] % (sizeof alphabet - 1)];
            if (proto_sha2_crypt_make(pw, len, salt, 5000, out) < 0) {
                fputs("ringsql: could not hash the password\n", stderr);
                rc = EXIT_RUNTIME;
            } else {
                puts(out);
            }
        }
    } else {
        fprintf(stderr, "ringsql: --hash-password takes native or caching_sha2, not '%s'\n", kind);
        rc = EXIT_CONFIG;
    }
    explicit_bzero(pw, sizeof pw);
    return rc;
}

static void print_summary(const struct cfg *cfg)
{
    printf("%s: OK: listen %s:%u, %u workers, %zu backend%s, %zu user%s, pool size %u (%s "
           "pooling), admin %s:%u\n",
           cfg->path, cfg->listen.host, cfg->listen.port, cfg->workers, cfg->nbackends,
           cfg->nbackends == 1 ? "" : "s", cfg->nusers, cfg->nusers == 1 ? "" : "s", cfg->pool.size,
           cfg->pool.mode == CFG_POOL_TRANSACTION ? "transaction" : "session",
           cfg->admin_listen.host, cfg->admin_listen.port);
    for (size_t i = 0; cfg->nroutes > 1 && i < cfg->nroutes; i++)
        printf("  route %s: listen %s:%u, policy %s\n", cfg->routes[i].name,
               cfg->routes[i].listen.host, cfg->routes[i].listen.port,
               cfg_policy_name(cfg->routes[i].policy));
}

/* Every client and every backend connection is a descriptor: the soft limit (often 1024) would
 * cap ringsql far below what the system allows, so it goes up to the hard limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warn("fd_limit", "soft=%llu hard=%llu error=\"%s\"", (unsigned long long)was,
                     (unsigned long long)rl.rlim_max, strerror(errno));
            return;
        }
    }
    log_info("fd_limit", "soft=%llu was=%llu", (unsigned long long)rl.rlim_cur,
             (unsigned long long)was);
}

/* Signals are taken synchronously by the proxy's main thread; no thread may get them async. */
static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"hash-password", required_argument, NULL, 'H'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check_only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check_only = true;
            break;
        case 'H':
            return hash_password(optarg);
        case 'V':
            printf("ringsql %s\n", RINGSQL_VERSION);
            return EXIT_OK;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ringsql: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (!path) {
        fputs("ringsql: no config given; run with -c FILE (see --help)\n", stderr);
        return EXIT_CONFIG;
    }

    struct cfg *cfg;
    struct cfg_errors errs;
    if (cfg_load(path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "ringsql: %zu error%s in the config; nothing started\n", errs.count,
                errs.count == 1 ? "" : "s");
        cfg_errors_free(&errs);
        return EXIT_CONFIG;
    }
    if (check_only) {
        print_summary(cfg);
        cfg_free(cfg);
        return EXIT_OK;
    }

    log_init(cfg->log_level, cfg->log_format);
    block_signals();
    raise_fd_limit();
    log_info("starting", "version=%s config=%s workers=%u", RINGSQL_VERSION, cfg->path,
             cfg->workers);
    return proxy_run(cfg); /* it owns cfg from here */
}
