/* The proxy core end to end: a real MariaDB (tests/mariadb.sh), a real ringsql process and
 * real clients (libmariadb, the mariadb CLI). Every wait is bounded and on a condition. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"

#define START_WAIT_MS 15000
#define RETRY_WAIT_MS 5000

static struct tdb_proxy proxy;

/* Starts ringsql in front of the test server with user app/secret mapped to the test user. */
#define DEFAULT_USERS                                                                              \
    "users:\n"                                                                                     \
    "  - name: app\n"                                                                              \
    "    password: \"secret\"\n"                                                                   \
    "    backend_user: " TDB_USER "\n"                                                             \
    "    backend_password: " TDB_PASSWORD "\n"

/* extra: more top-level YAML; users: the users block (NULL: app/secret only). */
static const char *pool_extra = ""; /* more keys under pool: for the next start */

static bool start_proxy_users(unsigned workers, unsigned pool_size, const char *extra,
                              const char *users)
{
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: %u\n"
             "backends:\n"
             "  - name: primary\n"
             "    address: \"%s:%u\"\n"
             "%s"
             "pool:\n"
             "  size: %u\n"
             "%s"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n"
             "log:\n"
             "  level: info\n"
             "%s",
             port, workers, tdb_server_host(), tdb_server_port(), users ? users : DEFAULT_USERS,
             pool_size, pool_extra, admin, extra);
    pool_extra = "";
    return CHECK(tdb_proxy_start(&proxy, port, yaml, START_WAIT_MS));
}

static bool start_proxy_with(unsigned workers, unsigned pool_size, const char *extra)
{
    return start_proxy_users(workers, pool_size, extra, NULL);
}

static bool start_proxy(unsigned workers, unsigned pool_size)
{
    return start_proxy_with(workers, pool_size, "");
}

static void stop_proxy(void)
{
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

/* Connects through ringsql, retrying (bounded) while the pool answers 1040: a connection a
 * finished client held (even tdb_proxy_start's TCP probe holds one from accept until it sees
 * the probe hang up) goes back to available asynchronously, after COM_RESET_CONNECTION. */
static MYSQL *connect_as(const char *user, const char *password, const char *db, unsigned *err)
{
    uint64_t deadline = tdb_now_ms() + RETRY_WAIT_MS;
    unsigned e = 0;
    for (;;) {
        MYSQL *m = tdb_connect("127.0.0.1", proxy.port, user, password, db, &e);
        if (m || e != 1040 || tdb_now_ms() > deadline) {
            if (err)
                *err = e;
            return m;
        }
    }
}

static MYSQL *connect_app(const char *db, unsigned *err)
{
    return connect_as("app", "secret", db, err);
}

static MYSQL *connect_app_retry(const char *db)
{
    return connect_app(db, NULL);
}

/* The same with a raw handle, to read the error's SQL state and message: retries on 1040
 * unless want_1040. Returns true when it connected. */
static bool probe_connect(MYSQL *probe, const char *user, const char *password, const char *db,
                          bool want_1040)
{
    uint64_t deadline = tdb_now_ms() + RETRY_WAIT_MS;
    for (;;) {
        if (mysql_real_connect(probe, "127.0.0.1", user, password, db, proxy.port, NULL, 0))
            return true;
        if (want_1040 || mysql_errno(probe) != 1040 || tdb_now_ms() > deadline)
            return false;
    }
}

static void test_queries_return_the_right_rows(void)
{
    if (!start_proxy(2, 4))
        return;
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (CHECK(m != NULL)) {
        char v[128];
        if (CHECK(tdb_query_value(m, "SELECT 6 * 7", v, sizeof v)))
            CHECK_STR(v, "42");
        if (CHECK(tdb_query_value(m, "SELECT DATABASE()", v, sizeof v)))
            CHECK_STR(v, TDB_DATABASE);
        CHECK(strstr(mysql_get_server_info(m), "ringsql") != NULL);
        CHECK(tdb_exec(m, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, name VARCHAR(20))"));
        CHECK(tdb_exec(m, "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL)"));
        if (CHECK(tdb_query_value(m, "SELECT COUNT(*) FROM t", v, sizeof v)))
            CHECK_STR(v, "3");
        if (CHECK(tdb_query_value(m, "SELECT name FROM t WHERE id = 2", v, sizeof v)))
            CHECK_STR(v, "two");
        CHECK(tdb_expect_error(m, "SELECT * FROM no_such_table", 1146));
        /* Multi-statements: every result comes through, in order. */
        if (CHECK(mysql_query(m, "SELECT 1; SELECT 2; SELECT 3") == 0)) {
            int sets = 0;
            do {
                MYSQL_RES *r = mysql_store_result(m);
                if (r) {
                    MYSQL_ROW row = mysql_fetch_row(r);
                    if (CHECK(row != NULL))
                        CHECK_INT(atoi(row[0]), sets + 1);
                    mysql_free_result(r);
                    sets++;
                }
            } while (mysql_next_result(m) == 0);
            CHECK_INT(sets, 3);
        }
        /* Transactions. */
        CHECK(tdb_exec(m, "BEGIN"));
        CHECK(tdb_exec(m, "INSERT INTO t VALUES (4, 'four')"));
        CHECK(tdb_exec(m, "ROLLBACK"));
        if (CHECK(tdb_query_value(m, "SELECT COUNT(*) FROM t", v, sizeof v)))
            CHECK_STR(v, "3");
        CHECK(mysql_ping(m) == 0);
        CHECK(mysql_reset_connection(m) == 0);
        CHECK(tdb_expect_error(m, "SELECT * FROM t", 1146));
        mysql_close(m);
    }
    stop_proxy();
}

static void test_pool_exhaustion_gives_1040(void)
{
    if (!start_proxy(1, 2))
        return;
    MYSQL *a = connect_app(NULL, NULL), *b = connect_app(NULL, NULL);
    CHECK(a != NULL);
    CHECK(b != NULL);
    unsigned err = 0;
    MYSQL *c = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &err);
    CHECK(c == NULL);
    CHECK_UINT(err, 1040);
    MYSQL *probe = mysql_init(NULL);
    /* The message names the pool and the user. */
    if (!probe_connect(probe, "app", "secret", NULL, true)) {
        CHECK_UINT(mysql_errno(probe), 1040);
        CHECK_STR(mysql_sqlstate(probe), "08004");
        CHECK(strstr(mysql_error(probe), "pool 'primary' for user 'app'") != NULL);
        CHECK(strstr(mysql_error(probe), "(2 in use)") != NULL);
    } else {
        CHECK(!"a third client got in");
    }
    mysql_close(probe);
    if (a)
        mysql_close(a);
    MYSQL *d = connect_app_retry(NULL);
    if (CHECK(d != NULL)) {
        char v[16];
        if (CHECK(tdb_query_value(d, "SELECT 1", v, sizeof v)))
            CHECK_STR(v, "1");
        mysql_close(d);
    }
    if (b)
        mysql_close(b);
    stop_proxy();
}

static void test_wrong_password_gives_1045_and_keeps_the_pool(void)
{
    if (!start_proxy(1, 1))
        return;
    unsigned err = 0;
    MYSQL *m = connect_as("app", "wrong", NULL, &err);
    CHECK(m == NULL);
    CHECK_UINT(err, 1045);
    m = connect_as("nobody", "secret", NULL, &err);
    CHECK(m == NULL);
    CHECK_UINT(err, 1045);
    MYSQL *probe = mysql_init(NULL);
    if (!probe_connect(probe, "app", "nope", NULL, false)) {
        CHECK_STR(mysql_sqlstate(probe), "28000");
        CHECK(strstr(mysql_error(probe), "Access denied for user 'app'@'127.0.0.1'") != NULL);
    }
    mysql_close(probe);
    /* The single pooled connection went straight back: the right password gets in at once. */
    m = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &err);
    if (CHECK(m != NULL))
        mysql_close(m);
    else
        CHECK_UINT(err, 0);
    stop_proxy();
}

/* Whatever plugin a driver answers the greeting with, it gets in (ringsql asks it to switch
 * to mysql_native_password where it cannot check the answer itself), and a wrong password is
 * a clean 1045 with SQL state 28000, which drivers map to an authentication error. */
static void test_every_first_auth_plugin_gets_in(void)
{
    static const char *const plugins[] = {"mysql_native_password", "caching_sha2_password",
                                          "client_ed25519", "mysql_clear_password"};
    if (!start_proxy(1, 2))
        return;
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        for (int wrong = 0; wrong < 2; wrong++) {
            MYSQL *m = mysql_init(NULL);
            unsigned timeout = 5;
            my_bool clear = 1;
            mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
            mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
            mysql_optionsv(m, MYSQL_DEFAULT_AUTH, plugins[i]);
            mysql_optionsv(m, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &clear);
            bool in = probe_connect(m, "app", wrong ? "nope" : "secret", NULL, false);
            if (wrong) {
                CHECK(!in);
                CHECK_UINT(mysql_errno(m), 1045);
                CHECK_STR(mysql_sqlstate(m), "28000");
            } else if (!CHECK(in)) {
                fprintf(stderr, "# %s: %u %s\n", plugins[i], mysql_errno(m), mysql_error(m));
            } else {
                char v[16];
                CHECK(tdb_query_value(m, "SELECT 1", v, sizeof v));
                CHECK_STR(v, "1");
            }
            mysql_close(m);
        }
    }
    stop_proxy();
}

static void test_unknown_database_gives_the_backends_1049(void)
{
    if (!start_proxy(1, 1))
        return;
    unsigned err = 0;
    MYSQL *probe = mysql_init(NULL);
    if (!probe_connect(probe, "app", "secret", "no_such_db", false)) {
        CHECK_UINT(mysql_errno(probe), 1049);
        CHECK(strstr(mysql_error(probe), "no_such_db") != NULL);
    } else {
        CHECK(!"connected to a database that does not exist");
    }
    mysql_close(probe);
    MYSQL *m = connect_app_retry(TDB_DATABASE);
    if (CHECK(m != NULL)) {
        char v[64];
        if (CHECK(tdb_query_value(m, "SELECT DATABASE()", v, sizeof v)))
            CHECK_STR(v, TDB_DATABASE);
        mysql_close(m);
    } else {
        CHECK_UINT(err, 0);
    }
    stop_proxy();
}

static void test_no_state_leaks_between_clients(void)
{
    MYSQL *direct = tdb_connect_server();
    if (!CHECK(direct != NULL))
        return;
    CHECK(tdb_exec(direct, "DROP TABLE IF EXISTS proxy_iso"));
    CHECK(tdb_exec(direct, "CREATE TABLE proxy_iso (id INT PRIMARY KEY) ENGINE=InnoDB"));
    if (!start_proxy(1, 1)) {
        mysql_close(direct);
        return;
    }
    char id_a[32] = "", id_b[32] = "", v[64];
    MYSQL *a = connect_app(TDB_DATABASE, NULL);
    if (CHECK(a != NULL)) {
        CHECK(tdb_query_value(a, "SELECT CONNECTION_ID()", id_a, sizeof id_a));
        CHECK(tdb_exec(a, "SET @leak = 42"));
        CHECK(tdb_exec(a, "SET SESSION sql_mode = 'ANSI_QUOTES'"));
        CHECK(tdb_exec(a, "CREATE TEMPORARY TABLE leak_tmp (x INT)"));
        CHECK(tdb_exec(a, "BEGIN"));
        CHECK(tdb_exec(a, "INSERT INTO proxy_iso VALUES (1)"));
        mysql_close(a); /* COM_QUIT with the transaction open */
    }
    MYSQL *b = connect_app_retry(TDB_DATABASE);
    if (CHECK(b != NULL)) {
        CHECK(tdb_query_value(b, "SELECT CONNECTION_ID()", id_b, sizeof id_b));
        CHECK_STR(id_b, id_a); /* the same backend connection, reused */
        if (CHECK(tdb_query_value(b, "SELECT @leak", v, sizeof v)))
            CHECK_STR(v, "NULL");
        if (CHECK(tdb_query_value(b, "SELECT @@in_transaction", v, sizeof v)))
            CHECK_STR(v, "0");
        if (CHECK(tdb_query_value(b, "SELECT @@session.sql_mode = @@global.sql_mode", v, sizeof v)))
            CHECK_STR(v, "1");
        CHECK(tdb_expect_error(b, "SELECT * FROM leak_tmp", 1146));
        mysql_close(b);
    }
    if (CHECK(tdb_query_value(direct, "SELECT COUNT(*) FROM proxy_iso", v, sizeof v)))
        CHECK_STR(v, "0"); /* A's uncommitted row was rolled back, not committed */
    CHECK(tdb_exec(direct, "DROP TABLE proxy_iso"));
    mysql_close(direct);
    stop_proxy();
}

static void test_large_result_streams(void)
{
    if (!start_proxy(2, 2))
        return;
    MYSQL *m = connect_app(TDB_DATABASE, NULL); /* seq_1_to_N needs a current database */
    if (CHECK(m != NULL)) {
        /* 50,000 rows of 1,000 bytes: 50 MB through one session. */
        if (CHECK(mysql_query(m, "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_50000") == 0)) {
            MYSQL_RES *r = mysql_use_result(m);
            uint64_t rows = 0, bytes = 0;
            MYSQL_ROW row;
            while (r && (row = mysql_fetch_row(r))) {
                unsigned long *len = mysql_fetch_lengths(r);
                bytes += len[1];
                rows++;
            }
            CHECK_UINT(mysql_errno(m), 0);
            CHECK_UINT(rows, 50000);
            CHECK_UINT(bytes, 50000000);
            mysql_free_result(r);
        }
        /* 100k small rows. */
        char v[32];
        if (CHECK(mysql_query(m, "SELECT seq FROM seq_1_to_100000") == 0)) {
            MYSQL_RES *r = mysql_store_result(m);
            if (CHECK(r != NULL)) {
                CHECK_UINT(mysql_num_rows(r), 100000);
                mysql_free_result(r);
            }
        }
        if (CHECK(tdb_query_value(m, "SELECT 'after'", v, sizeof v)))
            CHECK_STR(v, "after");
        mysql_close(m);
    }
    stop_proxy();
}

static void test_packets_over_16mib_round_trip(void)
{
    if (!start_proxy(1, 1))
        return;
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (!CHECK(m != NULL)) {
        stop_proxy();
        return;
    }
    const size_t n = 20u << 20; /* 20 MiB */
    char *data = malloc(n);
    char *query = malloc(2 * n + 128);
    if (data && query) {
        for (size_t i = 0; i < n; i++)
            data[i] = (char)('a' + (i * 7 + i / 251) % 26);
        CHECK(tdb_exec(m, "CREATE TEMPORARY TABLE big (b LONGBLOB)"));
        /* The INSERT is one command of more than 16 MiB: several physical packets. */
        int len = sprintf(query, "INSERT INTO big VALUES ('");
        memcpy(query + len, data, n);
        len += (int)n;
        len += sprintf(query + len, "')");
        CHECK(mysql_real_query(m, query, (unsigned long)len) == 0);
        char v[64];
        if (CHECK(tdb_query_value(m, "SELECT LENGTH(b) FROM big", v, sizeof v)))
            CHECK_UINT(strtoull(v, NULL, 10), n);
        /* And back: a row of more than 16 MiB. */
        if (CHECK(mysql_query(m, "SELECT b FROM big") == 0)) {
            MYSQL_RES *r = mysql_store_result(m);
            MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
            if (CHECK(row != NULL)) {
                unsigned long *lens = mysql_fetch_lengths(r);
                CHECK_UINT(lens[0], n);
                CHECK(lens[0] == n && memcmp(row[0], data, n) == 0);
            }
            if (r)
                mysql_free_result(r);
        }
        if (CHECK(tdb_query_value(m, "SELECT 'still in step'", v, sizeof v)))
            CHECK_STR(v, "still in step");
    }
    free(data);
    free(query);
    mysql_close(m);
    stop_proxy();
}

static void test_prepared_statements(void)
{
    if (!start_proxy(1, 2))
        return;
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (!CHECK(m != NULL)) {
        stop_proxy();
        return;
    }
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *sql = "SELECT ? + 1, REPEAT('a', ?)";
    if (CHECK(mysql_stmt_prepare(st, sql, strlen(sql)) == 0)) {
        for (int round = 1; round <= 3; round++) {
            long long in1 = 41 * round, in2 = round;
            MYSQL_BIND p[2];
            memset(p, 0, sizeof p);
            p[0].buffer_type = MYSQL_TYPE_LONGLONG;
            p[0].buffer = &in1;
            p[1].buffer_type = MYSQL_TYPE_LONGLONG;
            p[1].buffer = &in2;
            CHECK(mysql_stmt_bind_param(st, p) == 0);
            CHECK(mysql_stmt_execute(st) == 0);
            long long out1 = 0;
            char out2[16] = "";
            unsigned long out2_len = 0;
            MYSQL_BIND r[2];
            memset(r, 0, sizeof r);
            r[0].buffer_type = MYSQL_TYPE_LONGLONG;
            r[0].buffer = &out1;
            r[1].buffer_type = MYSQL_TYPE_STRING;
            r[1].buffer = out2;
            r[1].buffer_length = sizeof out2;
            r[1].length = &out2_len;
            CHECK(mysql_stmt_bind_result(st, r) == 0);
            CHECK(mysql_stmt_store_result(st) == 0);
            CHECK_INT(mysql_stmt_fetch(st), 0);
            CHECK_INT(out1, 41 * round + 1);
            CHECK_UINT(out2_len, (unsigned long)round);
            CHECK_INT(mysql_stmt_fetch(st), MYSQL_NO_DATA);
            mysql_stmt_free_result(st);
        }
    } else {
        check_failf(__FILE__, __LINE__, "prepare: %s", mysql_stmt_error(st));
    }
    mysql_stmt_close(st);
    char v[16];
    if (CHECK(tdb_query_value(m, "SELECT 5", v, sizeof v)))
        CHECK_STR(v, "5");
    mysql_close(m);
    stop_proxy();
}

static void test_mariadb_cli_works_through_ringsql(void)
{
    if (!start_proxy(2, 2))
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults --connect-timeout=5 -h127.0.0.1 -P%u -uapp -psecret -N -B "
             "%s -e \"SELECT 6*7; SELECT DATABASE()\" 2>&1",
             proxy.port, TDB_DATABASE);
    FILE *f = popen(cmd, "r");
    if (CHECK(f != NULL)) {
        char out[256] = "";
        size_t len = fread(out, 1, sizeof out - 1, f);
        out[len] = '\0';
        CHECK_INT(pclose(f), 0);
        CHECK_STR(out, "42\n" TDB_DATABASE "\n");
    }
    stop_proxy();
}

static void test_client_killed_mid_result(void)
{
    if (!start_proxy(1, 1))
        return;
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (CHECK(m != NULL)) {
        CHECK(tdb_exec(m, "SET @dirty = 1"));
        if (CHECK(mysql_query(m, "SELECT REPEAT('y', 1000) FROM seq_1_to_200000") == 0)) {
            MYSQL_RES *r = mysql_use_result(m);
            for (int i = 0; r && i < 10; i++)
                mysql_fetch_row(r);
            /* Vanish without a COM_QUIT, mid-result. */
            shutdown(mysql_get_socket(m), SHUT_RDWR);
            mysql_free_result(r);
        }
        mysql_close(m);
    }
    /* The half-read backend is discarded and replaced; the next client gets a clean one. */
    MYSQL *n = connect_app_retry(NULL);
    if (CHECK(n != NULL)) {
        char v[32];
        if (CHECK(tdb_query_value(n, "SELECT @dirty", v, sizeof v)))
            CHECK_STR(v, "NULL");
        if (CHECK(tdb_query_value(n, "SELECT 'ok'", v, sizeof v)))
            CHECK_STR(v, "ok");
        mysql_close(n);
    }
    CHECK(tdb_proxy_log_contains(&proxy, "event=backend_discarded", RETRY_WAIT_MS));
    stop_proxy();
}

/* A backend on a Unix socket ("unix:/path"): the server sees a local connection. */
static void test_unix_socket_backend(void)
{
    const char *sock = getenv("RINGSQL_TEST_MARIADB_SOCKET");
    if (!CHECK(sock && *sock))
        return;
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: 1\n"
             "backends:\n"
             "  - name: primary\n"
             "    address: \"unix:%s\"\n" DEFAULT_USERS "pool:\n"
             "  size: 2\n"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n",
             port, sock, admin);
    if (!CHECK(tdb_proxy_start(&proxy, port, yaml, START_WAIT_MS)))
        return;
    MYSQL *m = connect_app_retry(TDB_DATABASE);
    if (CHECK(m != NULL)) {
        char host[128];
        if (CHECK(tdb_query_value(m,
                                  "SELECT HOST FROM information_schema.PROCESSLIST "
                                  "WHERE ID = CONNECTION_ID()",
                                  host, sizeof host)))
            CHECK_STR(host, "localhost");
        mysql_close(m);
    }
    stop_proxy();
}

static void test_load_data_local_infile(void)
{
    if (!start_proxy(1, 1))
        return;
    char path[] = "/tmp/ringsql-infile-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0)) {
        stop_proxy();
        return;
    }
    FILE *f = fdopen(fd, "w");
    for (int i = 1; i <= 5000; i++)
        fprintf(f, "%d\tname-%d\n", i, i);
    fclose(f);
    /* A fresh handle per attempt: libmariadb does not keep every option across a failed
     * connect. */
    MYSQL *m = NULL;
    bool connected = false;
    uint64_t deadline = tdb_now_ms() + RETRY_WAIT_MS;
    do {
        if (m)
            mysql_close(m);
        m = mysql_init(NULL);
        unsigned int on = 1;
        mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &on);
        connected = mysql_real_connect(m, "127.0.0.1", "app", "secret", TDB_DATABASE, proxy.port,
                                       NULL, 0) != NULL;
    } while (!connected && mysql_errno(m) == 1040 && tdb_now_ms() < deadline);
    if (CHECK(connected)) {
        CHECK(tdb_exec(m, "CREATE TEMPORARY TABLE inf (id INT PRIMARY KEY, name VARCHAR(32))"));
        char sql[128];
        snprintf(sql, sizeof sql, "LOAD DATA LOCAL INFILE '%s' INTO TABLE inf", path);
        if (!CHECK(mysql_query(m, sql) == 0))
            check_failf(__FILE__, __LINE__, "LOAD DATA: %s", mysql_error(m));
        char v[64];
        if (CHECK(tdb_query_value(m, "SELECT COUNT(*), MAX(name) FROM inf", v, sizeof v)))
            CHECK_STR(v, "5000");
        if (CHECK(tdb_query_value(m, "SELECT name FROM inf WHERE id = 4321", v, sizeof v)))
            CHECK_STR(v, "name-4321");
        /* A file that does not exist: the client sends an empty file, the server answers. */
        CHECK(mysql_query(m, "LOAD DATA LOCAL INFILE '/nonexistent/ringsql' INTO TABLE inf") != 0);
        if (CHECK(tdb_query_value(m, "SELECT 'in step'", v, sizeof v)))
            CHECK_STR(v, "in step");
    }
    mysql_close(m);
    unlink(path);
    stop_proxy();
}

#define TWO_USERS                                                                                  \
    DEFAULT_USERS "  - name: reporting\n"                                                          \
                  "    password: \"pw2\"\n"                                                        \
                  "    backend_user: " TDB_USER "\n"                                               \
                  "    backend_password: " TDB_PASSWORD "\n"                                       \
                  "    share_backend_user: true\n"

static bool query_is(MYSQL *m, const char *sql, const char *want)
{
    char v[128];
    return CHECK(tdb_query_value(m, sql, v, sizeof v)) && CHECK_STR(v, want);
}

static void test_change_user(void)
{
    if (!start_proxy_users(1, 1, "", TWO_USERS))
        return;
    char id1[32] = "", id2[32] = "";
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (CHECK(m != NULL)) {
        CHECK(tdb_query_value(m, "SELECT CONNECTION_ID()", id1, sizeof id1));
        CHECK(tdb_exec(m, "SET @x = 1"));
        CHECK(tdb_exec(m, "CREATE TEMPORARY TABLE cu_tmp (x INT)"));
        /* The same user again, without a database: same backend, reset, no database. */
        if (CHECK(mysql_change_user(m, "app", "secret", NULL) == 0)) {
            query_is(m, "SELECT CONNECTION_ID()", id1);
            query_is(m, "SELECT @x", "NULL");
            query_is(m, "SELECT DATABASE()", "NULL");
            CHECK(tdb_expect_error(m, "SELECT * FROM " TDB_DATABASE ".cu_tmp", 1146));
        }
        /* Another configured user: a connection from that user's pool, with the database. */
        if (CHECK(mysql_change_user(m, "reporting", "pw2", TDB_DATABASE) == 0)) {
            CHECK(tdb_query_value(m, "SELECT CONNECTION_ID()", id2, sizeof id2));
            CHECK(strcmp(id1, id2) != 0);
            query_is(m, "SELECT DATABASE()", TDB_DATABASE);
        }
        /* app's connection went back to its pool: app can log in (pool size 1). */
        MYSQL *a = connect_app(NULL, NULL);
        if (CHECK(a != NULL)) {
            query_is(a, "SELECT CONNECTION_ID()", id1);
            mysql_close(a);
        }
        /* A wrong password or an unknown user gets 1045 and, as from the server, the session
         * goes on as the user it was, in its database; the pools are unharmed. */
        CHECK(mysql_change_user(m, "app", "wrong", NULL) != 0);
        CHECK_UINT(mysql_errno(m), 1045);
        query_is(m, "SELECT CONNECTION_ID()", id2);
        query_is(m, "SELECT DATABASE()", TDB_DATABASE);
        CHECK(mysql_change_user(m, "nobody", "x", NULL) != 0);
        CHECK_UINT(mysql_errno(m), 1045);
        query_is(m, "SELECT CONNECTION_ID()", id2);
        mysql_close(m);
    }
    MYSQL *r = connect_as("reporting", "pw2", NULL, NULL);
    if (CHECK(r != NULL)) {
        query_is(r, "SELECT CONNECTION_ID()", id2);
        query_is(r, "SELECT DATABASE()", "NULL");
        mysql_close(r);
    }
    stop_proxy();
}

/* What a client that logged in with latin1 reads after SET NAMES utf8mb4 and
 * COM_RESET_CONNECTION, and its database, on m. */
static void after_reset(MYSQL *m, char *charset, size_t cap, char *db, size_t dbcap)
{
    CHECK(tdb_exec(m, "SET NAMES utf8mb4"));
    CHECK(tdb_exec(m, "USE mysql"));
    CHECK_INT(mysql_reset_connection(m), 0);
    CHECK(tdb_query_value(m, "SELECT @@character_set_client", charset, cap));
    CHECK(tdb_query_value(m, "SELECT DATABASE()", db, dbcap));
}

static MYSQL *connect_latin1(unsigned port, const char *user, const char *password)
{
    MYSQL *m = mysql_init(NULL);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "latin1");
    if (!mysql_real_connect(m, "127.0.0.1", user, password, TDB_DATABASE, port, NULL, 0)) {
        printf("# connect: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* COM_RESET_CONNECTION gives the client back the character set it logged in with (the
 * backend's login one was the pool's) and keeps the current database, as the server does. */
static void test_reset_connection_restores_the_clients_charset(void)
{
    if (!start_proxy(1, 1))
        return;
    char direct_cs[64] = "", direct_db[64] = "", cs[64] = "", db[64] = "";
    MYSQL *d = connect_latin1(tdb_server_port(), TDB_USER, TDB_PASSWORD);
    if (CHECK(d != NULL)) {
        after_reset(d, direct_cs, sizeof direct_cs, direct_db, sizeof direct_db);
        mysql_close(d);
    }
    MYSQL *m = connect_latin1(proxy.port, "app", "secret");
    if (CHECK(m != NULL)) {
        after_reset(m, cs, sizeof cs, db, sizeof db);
        CHECK_STR(direct_cs, "latin1");
        CHECK_STR(cs, direct_cs);
        CHECK_STR(db, direct_db);
        query_is(m, "SELECT 6 * 7", "42"); /* the session goes on */
        mysql_close(m);
    }
    stop_proxy();
}

/* XA ROLLBACK xid on m, retried within a bound while the server has not yet let go of the
 * connection that prepared it (XAER_NOTA until it took the client's disconnect). */
static bool xa_rolled_back(MYSQL *m, const char *xid)
{
    char sql[96];
    snprintf(sql, sizeof sql, "XA ROLLBACK '%s'", xid);
    for (uint64_t end = tdb_now_ms() + RETRY_WAIT_MS; tdb_now_ms() < end; usleep(20000)) {
        if (mysql_query(m, sql) == 0)
            return true;
        if (mysql_errno(m) != 1397) /* XAER_NOTA */
            break;
    }
    printf("# %s: %u %s\n", sql, mysql_errno(m), mysql_error(m));
    return false;
}

/* A client that prepared an XA transaction and left: the server keeps it prepared, for XA
 * ROLLBACK from any connection, with its locks, as after a direct disconnect. (A reset of
 * the pooled connection left its locks held by no one, for good.) */
static void test_prepared_xa_outlives_the_session(void)
{
    if (!start_proxy(1, 1))
        return;
    MYSQL *d = tdb_connect_server();
    MYSQL *m = connect_app(TDB_DATABASE, NULL);
    if (CHECK(d && m)) {
        CHECK(tdb_exec(d, "CREATE TABLE IF NOT EXISTS xa_t (id INT PRIMARY KEY, v INT)"));
        CHECK(tdb_exec(d, "REPLACE INTO xa_t VALUES (1, 0)"));
        CHECK(tdb_exec(m, "XA START 'ringsql_xa1'"));
        CHECK(tdb_exec(m, "UPDATE xa_t SET v = 1 WHERE id = 1"));
        CHECK(tdb_exec(m, "XA END 'ringsql_xa1'"));
        CHECK(tdb_exec(m, "XA PREPARE 'ringsql_xa1'"));
        mysql_close(m);
        m = NULL;
        CHECK(xa_rolled_back(d, "ringsql_xa1"));
        CHECK(tdb_exec(d, "SET SESSION innodb_lock_wait_timeout = 1"));
        CHECK(tdb_exec(d, "UPDATE xa_t SET v = 2 WHERE id = 1")); /* nobody holds the row */
        MYSQL *n = connect_app(TDB_DATABASE, NULL); /* the pool serves the next client */
        if (CHECK(n != NULL)) {
            CHECK(tdb_exec(n, "XA START 'ringsql_xa2'"));
            CHECK(tdb_exec(n, "XA END 'ringsql_xa2'"));
            CHECK(tdb_exec(n, "XA ROLLBACK 'ringsql_xa2'"));
            mysql_close(n);
        }
    }
    if (m)
        mysql_close(m);
    if (d)
        mysql_close(d);
    stop_proxy();
}

/* A SET GLOBAL through ringsql reaches the sessions that start after it, as new direct
 * connections, also on pooled connections whose session variables were read before it: they
 * are reset (which reads the globals again) before their next session. */
static void test_set_global_reaches_later_sessions(void)
{
    if (!start_proxy(1, 2))
        return;
    MYSQL *a = connect_app(TDB_DATABASE, NULL), *b = connect_app(TDB_DATABASE, NULL);
    if (CHECK(a && b)) {
        mysql_close(b); /* its connection is reset and pooled, with the globals as they are */
        b = NULL;
        CHECK(tdb_exec(a, "SET GLOBAL wait_timeout = 4321"));
        MYSQL *c = connect_app(TDB_DATABASE, NULL); /* on b's connection */
        if (CHECK(c != NULL)) {
            query_is(c, "SELECT @@session.wait_timeout", "4321");
            mysql_close(c);
        }
        query_is(a, "SELECT @@session.wait_timeout", "28800"); /* its own session: as direct */
        CHECK(tdb_exec(a, "SET GLOBAL wait_timeout = 28800"));
    }
    if (a)
        mysql_close(a);
    if (b)
        mysql_close(b);
    stop_proxy();
}

/* A latin1 client's login to a database that does not exist (its name not ASCII): the same
 * error, byte for byte, as from the server (ringsql applied the character set after the
 * database, and the server read the name, and wrote its error, in the pool's). */
static void test_unknown_database_error_in_the_clients_charset(void)
{
    if (!start_proxy(1, 1))
        return;
    const char *db = "caf\xe9_none";
    unsigned errs[2] = {0, 0};
    char msgs[2][256] = {"", ""};
    for (int i = 0; i < 2; i++) {
        MYSQL *m = mysql_init(NULL);
        mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "latin1");
        bool in = i == 0 ? mysql_real_connect(m, "127.0.0.1", TDB_USER, TDB_PASSWORD, db,
                                              tdb_server_port(), NULL, 0) != NULL
                         : mysql_real_connect(m, "127.0.0.1", "app", "secret", db, proxy.port, NULL,
                                              0) != NULL;
        CHECK(!in);
        errs[i] = mysql_errno(m);
        snprintf(msgs[i], sizeof msgs[i], "%s", mysql_error(m));
        mysql_close(m);
    }
    CHECK_UINT(errs[0], 1049);
    CHECK_UINT(errs[1], errs[0]);
    CHECK_STR(msgs[1], msgs[0]);
    stop_proxy();
}

/* More clients waiting for a response than the worker has receive buffers: each gets its
 * answer. (A client's buffer was held until its response came, so with every buffer held by
 * waiting clients no response could be read: the worker stalled for good.) */
static void test_more_waiting_clients_than_buffers(void)
{
    enum { CLIENTS = 40 }; /* receive_buffers: 16 */
    if (!start_proxy_with(1, CLIENTS, "receive_buffers: 16\n"))
        return;
    MYSQL *m[CLIENTS] = {0};
    size_t n = 0;
    for (; n < CLIENTS; n++) {
        m[n] = connect_app(NULL, NULL);
        if (!CHECK(m[n] != NULL))
            break;
    }
    const char *q = "SELECT SLEEP(0.3), 42";
    for (size_t i = 0; i < n; i++)
        CHECK(mysql_send_query(m[i], q, (unsigned long)strlen(q)) == 0);
    size_t answered = 0;
    for (size_t i = 0; i < n; i++) {
        if (mysql_read_query_result(m[i]) != 0) {
            printf("# client %zu: %u %s\n", i, mysql_errno(m[i]), mysql_error(m[i]));
            continue;
        }
        MYSQL_RES *r = mysql_store_result(m[i]);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        answered += row && row[1] && strcmp(row[1], "42") == 0;
        mysql_free_result(r);
    }
    CHECK_UINT(answered, n);
    for (size_t i = 0; i < n; i++)
        mysql_close(m[i]);
    stop_proxy();
}

/* Each kind of state a session may leave, and what the next client on the same connection
 * reads of it: none (its connection was reset). The probe fails with `code`, or reads `want`. */
static const struct {
    const char *leave, *probe, *want;
    unsigned code;
} left_states[] = {
    {"SET @v = 1", "SELECT @v", "NULL", 0},
    {"SELECT @w := 2", "SELECT @w", "NULL", 0},
    {"SET SESSION sql_mode = 'ANSI_QUOTES'", "SELECT @@session.sql_mode = @@global.sql_mode", "1",
     0},
    {"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
     "SELECT @@session.tx_isolation = @@global.tx_isolation", "1", 0},
    {"CREATE TEMPORARY TABLE st_tmp (x INT)", "SELECT * FROM st_tmp", NULL, 1146},
    {"PREPARE st_ps FROM 'SELECT 1'", "EXECUTE st_ps", NULL, 1243},
    {"SELECT GET_LOCK('st_lock', 0)", "SELECT IS_FREE_LOCK('st_lock')", "1", 0},
    {"INSERT INTO st_auto VALUES (NULL)", "SELECT LAST_INSERT_ID()", "0", 0},
    {"SELECT CAST('x' AS SIGNED)", "SELECT @@warning_count", "0", 0},
    {"BEGIN", "SELECT @@in_transaction", "0", 0},
    {"SELECT 1 FROM st_auto LIMIT 1 FOR UPDATE", "SELECT @@in_transaction", "0", 0},
};

/* A session that left nothing gives its connection back without a reset (the server's
 * session counters, which a reset clears, go on); one that left anything has it reset, and
 * the next client reads none of it. */
static void test_reset_only_when_state_was_left(void)
{
    MYSQL *direct = tdb_connect_server();
    if (!CHECK(direct != NULL))
        return;
    CHECK(tdb_exec(direct, "CREATE TABLE IF NOT EXISTS st_auto (id INT AUTO_INCREMENT "
                           "PRIMARY KEY) ENGINE=InnoDB"));
    mysql_close(direct);
    if (!start_proxy(1, 1))
        return;
    char id_a[32] = "", id_b[32] = "", v[64];
    MYSQL *a = connect_app(TDB_DATABASE, NULL);
    if (CHECK(a != NULL)) {
        CHECK(tdb_query_value(a, "SELECT CONNECTION_ID()", id_a, sizeof id_a));
        mysql_close(a);
    }
    MYSQL *b = connect_app_retry(TDB_DATABASE);
    if (CHECK(b != NULL)) {
        CHECK(tdb_query_value(b, "SELECT CONNECTION_ID()", id_b, sizeof id_b));
        CHECK_STR(id_b, id_a);
        /* a's SELECT still counts: no reset came between the two sessions. */
        if (CHECK(tdb_query_value(b,
                                  "SELECT VARIABLE_VALUE > 1 FROM information_schema."
                                  "SESSION_STATUS WHERE VARIABLE_NAME = 'COM_SELECT'",
                                  v, sizeof v)))
            CHECK_STR(v, "1");
        mysql_close(b);
    }
    for (size_t i = 0; i < sizeof left_states / sizeof left_states[0]; i++) {
        a = connect_app_retry(TDB_DATABASE);
        if (!CHECK(a != NULL))
            break;
        if (!CHECK(tdb_exec(a, left_states[i].leave)))
            printf("# leaving: %s\n", left_states[i].leave);
        mysql_close(a);
        b = connect_app_retry(TDB_DATABASE);
        if (!CHECK(b != NULL))
            break;
        bool ok = left_states[i].code
                      ? tdb_expect_error(b, left_states[i].probe, left_states[i].code)
                      : tdb_query_value(b, left_states[i].probe, v, sizeof v) &&
                            strcmp(v, left_states[i].want) == 0;
        if (!CHECK(ok))
            printf("# after \"%s\": \"%s\" read %s\n", left_states[i].leave, left_states[i].probe,
                   left_states[i].code ? "no error" : v);
        mysql_close(b);
    }
    stop_proxy();
}

/* COM_RESET_CONNECTION keeps the current database: a client that asks for none must not get
 * the one an earlier client chose on the same backend connection (at login or with USE). */
static void test_no_database_leaks_between_clients(void)
{
    if (!start_proxy(1, 1))
        return;
    char id[32] = "";
    MYSQL *a = connect_app(TDB_DATABASE, NULL);
    if (CHECK(a != NULL)) {
        CHECK(tdb_query_value(a, "SELECT CONNECTION_ID()", id, sizeof id));
        mysql_close(a);
    }
    MYSQL *b = connect_app_retry(NULL);
    if (CHECK(b != NULL)) {
        query_is(b, "SELECT CONNECTION_ID()", id); /* the same backend connection */
        query_is(b, "SELECT DATABASE()", "NULL");
        CHECK(tdb_exec(b, "USE " TDB_DATABASE));
        mysql_close(b);
    }
    MYSQL *c = connect_app_retry(NULL);
    if (CHECK(c != NULL)) {
        query_is(c, "SELECT CONNECTION_ID()", id);
        query_is(c, "SELECT DATABASE()", "NULL");
        mysql_close(c);
    }
    stop_proxy();
}

/* A USE of a ucs2 or utf32 database: the server's OK pads its empty info string to the
 * character's width before the session-state block (1 or 3 zero bytes). It is the server's
 * own answer, not a protocol error (ringsql once dropped the connection and answered 1927). */
static void test_use_of_a_wide_charset_database(void)
{
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL) ||
        !CHECK(tdb_exec(d, "CREATE DATABASE IF NOT EXISTS ringsql_ucs2 CHARACTER SET ucs2")) ||
        !CHECK(tdb_exec(d, "CREATE DATABASE IF NOT EXISTS ringsql_utf32 CHARACTER SET utf32")) ||
        !CHECK(tdb_exec(d, "GRANT ALL ON ringsql_ucs2.* TO '" TDB_USER "'@'%'")) ||
        !CHECK(tdb_exec(d, "GRANT ALL ON ringsql_utf32.* TO '" TDB_USER "'@'%'"))) {
        if (d)
            mysql_close(d);
        return;
    }
    mysql_close(d);
    if (!start_proxy(1, 1))
        return;
    MYSQL *c = connect_app(NULL, NULL);
    if (CHECK(c != NULL)) {
        CHECK(tdb_exec(c, "USE ringsql_ucs2"));
        query_is(c, "SELECT DATABASE()", "ringsql_ucs2");
        CHECK(tdb_exec(c, "USE ringsql_utf32"));
        query_is(c, "SELECT DATABASE()", "ringsql_utf32");
        CHECK_INT(mysql_select_db(c, "ringsql_ucs2"), 0); /* COM_INIT_DB */
        query_is(c, "SELECT DATABASE()", "ringsql_ucs2");
        mysql_close(c);
    }
    stop_proxy();
}

/* A SELECT list far longer than a table may be (70 000 columns; MariaDB's test suite sends
 * 68 001): its result comes through whole (ringsql once refused more than 4 096 columns). */
static void test_result_with_70000_columns(void)
{
    enum { COLUMNS = 70000 };
    size_t cap = 8 + COLUMNS * 2;
    char *sql = malloc(cap);
    if (!CHECK(sql != NULL) || !start_proxy(1, 1)) {
        free(sql);
        return;
    }
    size_t n = (size_t)snprintf(sql, cap, "SELECT 7");
    for (int i = 1; i < COLUMNS; i++)
        n += (size_t)snprintf(sql + n, cap - n, ",%d", i % 10);
    MYSQL *c = connect_app(NULL, NULL);
    if (CHECK(c != NULL) && CHECK_INT(mysql_real_query(c, sql, (unsigned long)n), 0)) {
        MYSQL_RES *r = mysql_store_result(c);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (CHECK(row != NULL)) {
            CHECK_UINT(mysql_num_fields(r), COLUMNS);
            CHECK_STR(row[0], "7");
            CHECK_STR(row[COLUMNS - 1], "9");
        }
        mysql_free_result(r);
        query_is(c, "SELECT 'next'", "next");
    }
    if (c)
        mysql_close(c);
    free(sql);
    stop_proxy();
}

static bool global_status(MYSQL *direct, const char *name, char *out, size_t outlen)
{
    char sql[160];
    snprintf(
        sql, sizeof sql,
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '%s'",
        name);
    return tdb_query_value(direct, sql, out, outlen);
}

/* Session pooling remembers a connection's database across its reset: the next client that
 * asks for the same one gets no COM_INIT_DB, unless a statement may have changed it (here a
 * prepared DROP DATABASE, read when it was prepared). */
static void test_database_is_set_again_only_when_it_may_have_changed(void)
{
    MYSQL *direct = tdb_connect_server();
    if (!CHECK(direct != NULL) || !start_proxy(1, 1)) {
        if (direct)
            mysql_close(direct);
        return;
    }
    CHECK(tdb_exec(direct, "CREATE DATABASE IF NOT EXISTS ringsql_scratch"));
    char before[32] = "", after[32] = "";
    MYSQL *a = connect_app(TDB_DATABASE, NULL);
    if (CHECK(a != NULL)) {
        CHECK(tdb_exec(a, "DO 1"));
        mysql_close(a);
    }
    CHECK(global_status(direct, "Com_change_db", before, sizeof before));
    MYSQL *b = connect_app_retry(TDB_DATABASE);
    if (CHECK(b != NULL)) {
        CHECK(global_status(direct, "Com_change_db", after, sizeof after));
        CHECK_STR(after, before); /* already there: no COM_INIT_DB */
        query_is(b, "SELECT DATABASE()", TDB_DATABASE);
        mysql_close(b);
    }
    MYSQL *c = connect_app_retry("ringsql_scratch");
    if (CHECK(c != NULL)) {
        MYSQL_STMT *st = mysql_stmt_init(c);
        const char *drop = "DROP DATABASE ringsql_scratch";
        CHECK(st && mysql_stmt_prepare(st, drop, strlen(drop)) == 0 && mysql_stmt_execute(st) == 0);
        if (st)
            mysql_stmt_close(st); /* no SELECT DATABASE(): its text would say "may change" */
        mysql_close(c);
    }
    /* Its connection is in no database now: asking for the dropped one must fail. */
    unsigned err = 0;
    MYSQL *d = connect_app("ringsql_scratch", &err);
    CHECK(d == NULL);
    CHECK_UINT(err, 1049);
    if (d)
        mysql_close(d);
    stop_proxy();
    mysql_close(direct);
}

static void test_handshake_and_idle_timeouts(void)
{
    if (!start_proxy_with(1, 2, "timeouts:\n  handshake: 300ms\n  client_idle: 500ms\n"))
        return;
    /* A client that connects and never answers the handshake is dropped. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(tdb_proxy_log_contains(&proxy, "event=client_timeout worker=0", RETRY_WAIT_MS));
    CHECK(tdb_proxy_log_contains(&proxy, "state=login", RETRY_WAIT_MS));
    close(fd);
    /* An idle logged-in client is closed; its backend goes back to the pool. */
    MYSQL *m = connect_app(NULL, NULL);
    if (CHECK(m != NULL)) {
        CHECK(tdb_proxy_log_contains(&proxy, "state=idle", RETRY_WAIT_MS));
        CHECK(mysql_query(m, "SELECT 1") != 0); /* the connection was closed */
        mysql_close(m);
    }
    MYSQL *n = connect_app(NULL, NULL);
    if (CHECK(n != NULL))
        mysql_close(n);
    stop_proxy();
}

static void test_each_user_has_its_own_pool(void)
{
    /* A second configured user: the shard is chosen after the HandshakeResponse. */
    if (!start_proxy_users(1, 1, "",
                           DEFAULT_USERS "  - name: reporting\n"
                                         "    password: \"pw2\"\n"
                                         "    backend_user: " TDB_USER "\n"
                                         "    backend_password: " TDB_PASSWORD "\n"
                                         "    share_backend_user: true\n"))
        return;
    MYSQL *a = connect_app(NULL, NULL);
    CHECK(a != NULL);
    MYSQL *r = connect_as("reporting", "pw2", NULL, NULL);
    if (CHECK(r != NULL)) {
        char v[16];
        if (CHECK(tdb_query_value(r, "SELECT 2", v, sizeof v)))
            CHECK_STR(v, "2");
        mysql_close(r);
    }
    unsigned err = 0;
    CHECK(tdb_connect("127.0.0.1", proxy.port, "reporting", "secret", NULL, &err) == NULL);
    CHECK_UINT(err, 1045);
    MYSQL *probe = mysql_init(NULL);
    CHECK(!probe_connect(probe, "app", "secret", NULL, true));
    CHECK_UINT(mysql_errno(probe), 1040);
    CHECK(strstr(mysql_error(probe), "for user 'app'") != NULL);
    mysql_close(probe);
    if (a)
        mysql_close(a);
    stop_proxy();
}

static void test_stale_connections_are_replaced(void)
{
    pool_extra = "  stale_after: 200ms\n  health_check_interval: 100ms\n";
    if (!start_proxy(1, 1))
        return;
    CHECK(tdb_proxy_log_contains(&proxy, "reason=\"stale\"", RETRY_WAIT_MS));
    /* The replacement is opened by the maintenance thread; clients keep getting in. */
    MYSQL *m = connect_app(NULL, NULL);
    if (CHECK(m != NULL)) {
        char v[16];
        if (CHECK(tdb_query_value(m, "SELECT 3", v, sizeof v)))
            CHECK_STR(v, "3");
        mysql_close(m);
    }
    stop_proxy();
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_queries_return_the_right_rows),
        CHECK_CASE(test_pool_exhaustion_gives_1040),
        CHECK_CASE(test_wrong_password_gives_1045_and_keeps_the_pool),
        CHECK_CASE(test_every_first_auth_plugin_gets_in),
        CHECK_CASE(test_unknown_database_gives_the_backends_1049),
        CHECK_CASE(test_no_state_leaks_between_clients),
        CHECK_CASE(test_large_result_streams),
        CHECK_CASE(test_packets_over_16mib_round_trip),
        CHECK_CASE(test_prepared_statements),
        CHECK_CASE(test_mariadb_cli_works_through_ringsql),
        CHECK_CASE(test_client_killed_mid_result),
        CHECK_CASE(test_unix_socket_backend),
        CHECK_CASE(test_load_data_local_infile),
        CHECK_CASE(test_change_user),
        CHECK_CASE(test_reset_connection_restores_the_clients_charset),
        CHECK_CASE(test_prepared_xa_outlives_the_session),
        CHECK_CASE(test_set_global_reaches_later_sessions),
        CHECK_CASE(test_unknown_database_error_in_the_clients_charset),
        CHECK_CASE(test_more_waiting_clients_than_buffers),
        CHECK_CASE(test_reset_only_when_state_was_left),
        CHECK_CASE(test_no_database_leaks_between_clients),
        CHECK_CASE(test_use_of_a_wide_charset_database),
        CHECK_CASE(test_result_with_70000_columns),
        CHECK_CASE(test_database_is_set_again_only_when_it_may_have_changed),
        CHECK_CASE(test_handshake_and_idle_timeouts),
        CHECK_CASE(test_each_user_has_its_own_pool),
        CHECK_CASE(test_stale_connections_are_replaced),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
