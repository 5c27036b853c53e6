/* testdb: helpers for integration tests against a real MariaDB server and a real ringsql.
 *
 * The server comes from tests/mariadb.sh, which exports RINGSQL_TEST_MARIADB_HOST and
 * RINGSQL_TEST_MARIADB_PORT and creates user ringsql_test / test_pass and database
 * ringsql_test. meson passes RINGSQL_BIN (the ringsql binary under test). */
#pragma once

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TDB_USER "ringsql_test"
#define TDB_PASSWORD "test_pass"
#define TDB_DATABASE "ringsql_test"

/* The MariaDB server under test; aborts the test program with a clear message when the
 * environment does not name one (integration tests fail, they never skip). */
const char *tdb_server_host(void);
unsigned tdb_server_port(void);

/* Connects with libmariadb (connect/read timeouts of a few seconds). db may be NULL.
 * Returns NULL and stores the error code in *err (if err) on failure. */
MYSQL *tdb_connect(const char *host, unsigned port, const char *user, const char *password,
                   const char *db, unsigned *err);
/* Connects through ringsql (127.0.0.1:port) as app/secret, retrying while it answers 1040
 * (transaction pooling: a login that names a database checks it on a connection, and every
 * one may be held for a moment), for at most wait_ms. NULL (and a note) on failure. */
MYSQL *tdb_connect_app(unsigned port, const char *db, unsigned wait_ms);
/* mysql_close() of the n handles in m that are not NULL. */
void tdb_close_all(MYSQL **m, size_t n);
/* Connects to the MariaDB server under test directly as TDB_USER. */
MYSQL *tdb_connect_server(void);

/* Runs sql and checks it succeeds; reports the server's error through check.h if not. */
bool tdb_exec(MYSQL *m, const char *sql);
/* Runs sql, which must return one row; copies its first column into out (NULL -> "NULL"). */
bool tdb_query_value(MYSQL *m, const char *sql, char *out, size_t outlen);
/* Runs sql and checks it fails with the given MySQL error code. */
bool tdb_expect_error(MYSQL *m, const char *sql, unsigned code);

/* A ringsql process started for one test. */
struct tdb_proxy {
    pid_t pid;
    unsigned port; /* where it listens */
    unsigned admin_port;
    char dir[256]; /* under $RINGSQL_TEST_TMPDIR (or /tmp): config and log */
    char config_path[300];
    char log_path[300];
};

/* The backend and user blocks of a test config, for snprintf with (host, port): backend
 * 'primary' there, user app/secret mapped to TDB_USER. */
#define TDB_YAML_PRIMARY_AND_APP                                                                   \
    "backends:\n"                                                                                  \
    "  - name: primary\n"                                                                          \
    "    address: \"%s:%u\"\n"                                                                     \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: \"secret\"\n"                                                                   \
    "    backend_user: " TDB_USER "\n"                                                             \
    "    backend_password: " TDB_PASSWORD "\n"

/* Writes yaml (a full config; use tdb_free_port() for listen/admin ports) to a temporary
 * file, starts RINGSQL_BIN -c on it with stderr to log_path, and waits (bounded by
 * wait_ms) until it accepts TCP connections on port. Returns false (and prints its log)
 * when it exits or does not listen in time. */
bool tdb_proxy_start(struct tdb_proxy *p, unsigned port, const char *yaml, unsigned wait_ms);
/* Sends sig, waits (bounded) for the exit and returns the exit status (or -1). */
int tdb_proxy_stop(struct tdb_proxy *p, int sig);
/* True once needle appears in the proxy's log, waiting at most wait_ms. */
bool tdb_proxy_log_contains(const struct tdb_proxy *p, const char *needle, unsigned wait_ms);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
unsigned tdb_free_port(void);
/* Milliseconds from a monotonic clock, for bounded waits. */
uint64_t tdb_now_ms(void);
