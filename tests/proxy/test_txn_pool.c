/* pool.mode: transaction end to end (real MariaDB, real ringsql, libmariadb clients): one
 * backend connection serves many clients between their transactions; a transaction, or a
 * session that leaves state on its connection (user variables, temporary tables, long data,
 * cursors, locks), keeps it; nothing leaks to the next client. Most cases run with a pool of
 * one connection, so "the connection is held" shows as ERR 1040 for another client's command. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "testdb.h"

#define START_WAIT_MS 15000

static struct tdb_proxy proxy;

/* timeouts.pool_wait for the next start: short, so that "the connection is held" shows as
 * ERR 1040 soon. */
static const char *pool_wait = "200ms";

static bool start_txn_proxy(unsigned pool_size)
{
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: 1\n" TDB_YAML_PRIMARY_AND_APP "pool:\n"
             "  size: %u\n"
             "  mode: transaction\n"
             "timeouts:\n"
             "  pool_wait: %s\n"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n"
             "log:\n"
             "  level: debug\n",
             port, tdb_server_host(), tdb_server_port(), pool_size, pool_wait, admin);
    pool_wait = "200ms";
    return CHECK(tdb_proxy_start(&proxy, port, yaml, START_WAIT_MS));
}

static void stop_proxy(void)
{
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

static MYSQL *client(const char *db)
{
    return tdb_connect_app(proxy.port, db, 5000);
}

/* More clients than connections: all log in, all query, all on the one connection. */
static void test_clients_share_one_connection(void)
{
    if (!start_txn_proxy(1))
        return;
    enum { N = 40 };
    MYSQL *m[N] = {0};
    char first[32] = "", id[32];
    for (size_t i = 0; i < N; i++) {
        m[i] = client(i % 2 ? TDB_DATABASE : NULL);
        if (!CHECK(m[i] != NULL))
            break;
    }
    for (size_t i = 0; i < N && m[i]; i++) {
        if (!CHECK(tdb_query_value(m[i], "SELECT @@pseudo_thread_id", id, sizeof id)))
            break;
        if (i == 0)
            snprintf(first, sizeof first, "%s", id);
        CHECK_STR(id, first);
        /* Each keeps its own database on the shared connection. */
        char db[64];
        if (CHECK(tdb_query_value(m[i], "SELECT IFNULL(DATABASE(), 'none')", db, sizeof db)))
            CHECK_STR(db, i % 2 ? TDB_DATABASE : "none");
    }
    tdb_close_all(m, N);
    stop_proxy();
}

/* A transaction holds the connection until it ends; its rows commit once, with COMMIT. */
static void test_transaction_holds_the_connection(void)
{
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    CHECK(tdb_exec(d, "CREATE OR REPLACE TABLE " TDB_DATABASE ".txn_t (id INT PRIMARY KEY)"));
    if (!start_txn_proxy(1)) {
        mysql_close(d);
        return;
    }
    MYSQL *a = client(TDB_DATABASE), *b = client(TDB_DATABASE);
    if (CHECK(a && b)) {
        CHECK(tdb_exec(a, "BEGIN"));
        CHECK(tdb_exec(a, "INSERT INTO txn_t VALUES (1)"));
        CHECK(tdb_expect_error(b, "SELECT 1", 1040)); /* the only connection is in a's hands */
        char v[32];
        CHECK(tdb_query_value(d, "SELECT COUNT(*) FROM " TDB_DATABASE ".txn_t", v, sizeof v) &&
              strcmp(v, "0") == 0);
        CHECK(tdb_exec(a, "COMMIT"));
        /* b's session went on after the ERR: it queries now, and sees a's row. */
        if (CHECK(tdb_query_value(b, "SELECT COUNT(*) FROM txn_t", v, sizeof v)))
            CHECK_STR(v, "1");
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
    CHECK(tdb_exec(d, "DROP TABLE " TDB_DATABASE ".txn_t"));
    mysql_close(d);
}

/* A command that finds the connection held waits for it (timeouts.pool_wait) and runs once
 * it is free; past the wait it gets ERR 1040, and its session goes on. */
static void test_command_waits_for_a_connection(void)
{
    pool_wait = "10s";
    if (!start_txn_proxy(1))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b)) {
        CHECK(tdb_exec(a, "BEGIN"));
        CHECK(mysql_send_query(b, "SELECT 'waited'", 15) == 0);
        /* b's command is queued in ringsql, not yet at the server. */
        CHECK(tdb_proxy_log_contains(&proxy, "event=session_waits", 2000));
        CHECK(tdb_exec(a, "COMMIT"));
        if (CHECK(mysql_read_query_result(b) == 0)) {
            MYSQL_RES *r = mysql_store_result(b);
            MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
            CHECK(row && row[0] && strcmp(row[0], "waited") == 0);
            mysql_free_result(r);
        }
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
    if (!start_txn_proxy(1)) /* pool_wait 200ms */
        return;
    a = client(NULL);
    b = client(NULL);
    if (CHECK(a && b)) {
        CHECK(tdb_exec(a, "BEGIN"));
        uint64_t t0 = tdb_now_ms();
        CHECK(tdb_expect_error(b, "SELECT 1", 1040));
        CHECK(tdb_now_ms() - t0 >= 150); /* it waited, about pool_wait */
        CHECK(tdb_proxy_log_contains(&proxy, "timeouts.pool_wait passed", 1000));
        CHECK(tdb_exec(a, "COMMIT"));
        char v[16];
        CHECK(tdb_query_value(b, "SELECT 2", v, sizeof v) && strcmp(v, "2") == 0);
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* Statements that leave state pin the session to its connection; once it ends the
 * connection is reset and the next client sees none of it. */
static void test_state_pins_and_does_not_leak(void)
{
    static const struct {
        const char *set, *check, *clean;
    } cases[] = {
        {"SET @x = 1", "SELECT @x", "NULL"},     /* reported by the server */
        {"SELECT @y := 2", "SELECT @y", "NULL"}, /* seen in the text */
        {"CREATE TEMPORARY TABLE tt (a INT)", "SELECT COUNT(*) FROM tt", "ERR 1146"},
        {"SELECT GET_LOCK('ringsql_txn', 0)", "SELECT IS_USED_LOCK('ringsql_txn') IS NOT NULL",
         "0"},
        {"SET SESSION sql_mode = 'ANSI'", "SELECT @@SESSION.sql_mode = 'ANSI'", "0"},
        {"SELECT `GET_LOCK`('ringsql_bt', 0)", "SELECT IS_USED_LOCK('ringsql_bt') IS NOT NULL",
         "0"},
        {"SELECT NEXTVAL(ringsql_sq)", "SELECT LASTVAL(ringsql_sq)", "NULL"},
        {"SELECT NEXT VALUE FOR ringsql_sq", "SELECT PREVIOUS VALUE FOR ringsql_sq", "NULL"},
        /* Stored routines: what they do is out of the scanner's sight. */
        {"SELECT ringsql_gl()", "SELECT IS_USED_LOCK('ringsql_fn') IS NOT NULL", "0"},
        {"SELECT `ringsql_GL` ()", "SELECT IS_USED_LOCK('ringsql_fn') IS NOT NULL", "0"},
        {"CALL ringsql_lp()", "SELECT IS_USED_LOCK('ringsql_pr') IS NOT NULL", "0"},
    };
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL) ||
        !CHECK(tdb_exec(d, "CREATE OR REPLACE SEQUENCE " TDB_DATABASE ".ringsql_sq")) ||
        !CHECK(tdb_exec(d, "CREATE OR REPLACE FUNCTION " TDB_DATABASE
                           ".ringsql_gl() RETURNS INT RETURN GET_LOCK('ringsql_fn', 0)")) ||
        !CHECK(tdb_exec(d, "CREATE OR REPLACE PROCEDURE " TDB_DATABASE
                           ".ringsql_lp() DO GET_LOCK('ringsql_pr', 0)"))) {
        if (d)
            mysql_close(d);
        return;
    }
    mysql_close(d);
    if (!start_txn_proxy(1))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        MYSQL *a = client(TDB_DATABASE), *b = client(TDB_DATABASE);
        if (CHECK(a && b) && CHECK(tdb_exec(a, cases[i].set))) {
            if (!CHECK(tdb_expect_error(b, "SELECT 1", 1040)))
                printf("# not pinned by: %s\n", cases[i].set);
            char v[64];
            CHECK(tdb_query_value(a, "SELECT 1", v, sizeof v)); /* a keeps going */
            mysql_close(a);
            a = NULL;
            /* a's connection comes back after its reset: bounded retry on 1040. */
            bool got = false;
            uint64_t deadline = tdb_now_ms() + 5000;
            while (!got && tdb_now_ms() < deadline) {
                if (mysql_query(b, cases[i].check) == 0) {
                    MYSQL_RES *r = mysql_store_result(b);
                    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
                    snprintf(v, sizeof v, "%s", row && row[0] ? row[0] : "NULL");
                    mysql_free_result(r);
                    got = true;
                } else if (mysql_errno(b) != 1040) {
                    snprintf(v, sizeof v, "ERR %u", mysql_errno(b));
                    got = true;
                }
            }
            if (CHECK(got) && !CHECK_STR(v, cases[i].clean))
                printf("# leaked after: %s\n", cases[i].set);
        }
        tdb_close_all((MYSQL *[]){a, b}, 2);
    }
    CHECK(tdb_proxy_log_contains(&proxy, "event=session_pinned", 1000));
    stop_proxy();
}

/* Text that only looks like state (a literal with '@', a comment) does not pin. */
static void test_lookalikes_do_not_pin(void)
{
    if (!start_txn_proxy(1))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b)) {
        char v[64];
        CHECK(tdb_query_value(a, "SELECT 'someone@example.com' /* @x GET_LOCK */", v, sizeof v));
        CHECK(tdb_query_value(a, "SELECT @@version_comment IS NOT NULL", v, sizeof v));
        CHECK(tdb_exec(a, "START TRANSACTION"));
        CHECK(tdb_exec(a, "COMMIT"));
        CHECK(tdb_query_value(b, "SELECT 'b'", v, sizeof v) && strcmp(v, "b") == 0);
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* A prepared statement pins not (tests/proxy/test_txn_stmt.c has the rest: ringsql gives it ids of
 * its own); COM_PING and COM_RESET_CONNECTION need no connection. */
static void test_prepared_does_not_pin_ping_does_not_need_one(void)
{
    if (!start_txn_proxy(1))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b)) {
        MYSQL_STMT *st = mysql_stmt_init(a);
        CHECK(mysql_stmt_prepare(st, "SELECT 40 + 2", 13) == 0);
        char v[16];
        CHECK(tdb_query_value(b, "SELECT 1", v, sizeof v) && strcmp(v, "1") == 0);
        CHECK_INT(mysql_ping(b), 0);
        CHECK_INT(mysql_reset_connection(b), 0);
        CHECK(mysql_stmt_execute(st) == 0);
        int out = 0;
        MYSQL_BIND bind = {.buffer_type = MYSQL_TYPE_LONG, .buffer = &out};
        CHECK(mysql_stmt_bind_result(st, &bind) == 0);
        CHECK_INT(mysql_stmt_fetch(st), 0);
        CHECK_INT(out, 42);
        mysql_stmt_close(st);
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* A client that logs in with latin1 (NULL if it could not). */
static MYSQL *latin1_client(void)
{
    MYSQL *m = mysql_init(NULL);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "latin1");
    if (mysql_real_connect(m, "127.0.0.1", "app", "secret", NULL, proxy.port, NULL, 0))
        return m;
    printf("# latin1 login: %s\n", mysql_error(m));
    mysql_close(m);
    return NULL;
}

/* COM_RESET_CONNECTION on a pinned session: the connection is reset, the client's login
 * character set applied again (not the pool's), and the session holds it no longer. */
static void test_reset_connection_unpins_with_the_clients_charset(void)
{
    if (!start_txn_proxy(1))
        return;
    MYSQL *lat = latin1_client();
    bool ok = lat != NULL;
    MYSQL *other = client(NULL);
    if (CHECK(ok && other)) {
        char v[64];
        CHECK(tdb_exec(lat, "SET NAMES utf8mb4")); /* a change of session state: pinned */
        CHECK(tdb_expect_error(other, "SELECT 1", 1040));
        CHECK_INT(mysql_reset_connection(lat), 0);
        if (CHECK(tdb_query_value(other, "SELECT 6 * 7", v, sizeof v)))
            CHECK_STR(v, "42");
        if (CHECK(tdb_query_value(lat, "SELECT @@character_set_client", v, sizeof v)))
            CHECK_STR(v, "latin1");
    }
    mysql_close(lat);
    if (other)
        mysql_close(other);
    stop_proxy();
}

static void value_is(MYSQL *m, const char *sql, const char *want)
{
    char v[128];
    if (CHECK(tdb_query_value(m, sql, v, sizeof v)))
        CHECK_STR(v, want);
}

/* CONNECTION_ID() says the id the client was greeted with, ringsql's own, which its KILL takes:
 * a backend connection's thread id would name whichever client that connection serves next. */
static void test_connection_id_is_the_sessions(void)
{
    if (!start_txn_proxy(2))
        return;
    MYSQL *m = client(TDB_DATABASE);
    if (CHECK(m != NULL)) {
        char want[32], plus[32];
        snprintf(want, sizeof want, "%lu", mysql_thread_id(m));
        snprintf(plus, sizeof plus, "%lu", mysql_thread_id(m) + 1);
        value_is(m, "SELECT CONNECTION_ID()", want);
        value_is(m, "select connection_id ( ) + 1", plus);
        value_is(m, "SELECT 'CONNECTION_ID()'", "CONNECTION_ID()"); /* strings stay */
        MYSQL_STMT *st = mysql_stmt_init(m);
        const char *q = "SELECT CONNECTION_ID()";
        if (CHECK(mysql_stmt_prepare(st, q, strlen(q)) == 0) &&
            CHECK(mysql_stmt_execute(st) == 0)) {
            long long id = 0;
            MYSQL_BIND bind = {.buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &id};
            CHECK(mysql_stmt_bind_result(st, &bind) == 0);
            CHECK_INT(mysql_stmt_fetch(st), 0);
            CHECK(id == (long long)mysql_thread_id(m));
        }
        mysql_stmt_close(st);
        mysql_close(m);
    }
    stop_proxy();
}

/* What the last statement on m reported: the schema and the state-change entries. */
static void tracked(MYSQL *m, const char *sql, bool *schema, bool *state)
{
    const char *data;
    size_t len;
    CHECK(tdb_exec(m, sql));
    *schema = mysql_session_track_get_first(m, SESSION_TRACK_SCHEMA, &data, &len) == 0;
    *state = mysql_session_track_get_first(m, SESSION_TRACK_STATE_CHANGE, &data, &len) == 0;
}

/* Transaction pooling turns session_track_state_change on for itself: a client sees its
 * entries only once it asks for them, as directly; the other entries reach it as they are. */
static void test_state_change_entries_only_when_asked(void)
{
    if (!start_txn_proxy(2))
        return;
    MYSQL *d = tdb_connect_server(), *m = client(NULL);
    if (CHECK(d && m)) {
        bool d_schema, d_state, schema, state;
        tracked(d, "USE " TDB_DATABASE, &d_schema, &d_state);
        tracked(m, "USE " TDB_DATABASE, &schema, &state);
        CHECK(d_schema && !d_state);
        CHECK(schema == d_schema && state == d_state);
        CHECK(tdb_exec(d, "SET SESSION session_track_state_change = 1"));
        CHECK(tdb_exec(m, "SET SESSION session_track_state_change = 1"));
        tracked(d, "USE mysql", &d_schema, &d_state);
        tracked(m, "USE mysql", &schema, &state);
        CHECK(d_schema && d_state);
        CHECK(schema == d_schema && state == d_state);
    }
    if (d)
        mysql_close(d);
    if (m)
        mysql_close(m);
    stop_proxy();
}

/* The client's character set follows it onto whichever connection serves it; an unknown
 * database is still refused at login with the server's own error. */
static void test_charset_and_database_follow_the_client(void)
{
    if (!start_txn_proxy(1))
        return;
    MYSQL *lat = latin1_client();
    bool ok = lat != NULL;
    MYSQL *utf = client(NULL);
    if (CHECK(ok && utf)) {
        char v[64];
        for (int round = 0; round < 2; round++) {
            if (CHECK(tdb_query_value(lat, "SELECT @@character_set_client", v, sizeof v)))
                CHECK_STR(v, "latin1");
            if (CHECK(tdb_query_value(utf, "SELECT @@character_set_client", v, sizeof v)))
                CHECK_STR(v, "utf8mb4");
        }
    }
    mysql_close(lat);
    if (utf)
        mysql_close(utf);
    unsigned err = 0;
    MYSQL *bad = tdb_connect("127.0.0.1", proxy.port, "app", "secret", "no_such_db_here", &err);
    CHECK(bad == NULL);
    CHECK_UINT(err, 1049);
    stop_proxy();
}

/* COM_CHANGE_USER between transactions: without a database it is answered at once, no
 * connection involved, from inside the client's receive; with one, on a connection that
 * checks it. More rounds than the worker has receive buffers (512): one kept per round
 * would leave the next receive waiting for a buffer forever. */
static void test_change_user_without_a_connection(void)
{
    if (!start_txn_proxy(1))
        return;
    MYSQL *m = client(NULL);
    char v[64];
    if (CHECK(m != NULL)) {
        enum { ROUNDS = 600 };
        int ok = 0;
        for (int i = 0; i < ROUNDS; i++) {
            if (mysql_change_user(m, "app", "secret", NULL) != 0 ||
                !tdb_query_value(m, "SELECT 7", v, sizeof v) || strcmp(v, "7") != 0) {
                printf("# round %d: %s\n", i, mysql_error(m));
                break;
            }
            ok++;
        }
        CHECK_INT(ok, ROUNDS);
        if (CHECK(mysql_change_user(m, "app", "secret", TDB_DATABASE) == 0) &&
            CHECK(tdb_query_value(m, "SELECT DATABASE()", v, sizeof v)))
            CHECK_STR(v, TDB_DATABASE);
        mysql_close(m);
    }
    stop_proxy();
}

/* A statement longer than one receive reaches the server whole, on one connection: between
 * its receives the session is in the middle of a command and keeps the connection (giving it
 * back there crashed ringsql). Filled with 0x0e (COM_PING's code), so that a chunk read as the
 * start of a command looks like one that needs no connection. Text that spans receives is not
 * read, so it pins: the other client is served by the second connection. */
static void test_long_statement_keeps_its_connection(void)
{
    if (!start_txn_proxy(2))
        return;
    enum { FILL = 4 << 20 };
    static const char head[] = "SELECT LENGTH('", tail[] = "')";
    char *sql = malloc(sizeof head - 1 + FILL + sizeof tail);
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(sql && a && b)) {
        memcpy(sql, head, sizeof head - 1);
        memset(sql + sizeof head - 1, 0x0e, FILL);
        memcpy(sql + sizeof head - 1 + FILL, tail, sizeof tail);
        char v[32], want[32];
        snprintf(want, sizeof want, "%d", FILL);
        for (int round = 0; round < 3; round++) {
            /* Not tdb_query_value: its failure message would hold the whole statement. */
            MYSQL_RES *res = NULL;
            MYSQL_ROW row = NULL;
            if (!CHECK(mysql_real_query(a, sql, strlen(sql)) == 0 &&
                       (res = mysql_store_result(a)) && (row = mysql_fetch_row(res)))) {
                printf("# long statement: %u %s\n", mysql_errno(a), mysql_error(a));
                break;
            }
            CHECK_STR(row[0] ? row[0] : "NULL", want);
            mysql_free_result(res);
            if (CHECK(tdb_query_value(b, "SELECT 5", v, sizeof v)))
                CHECK_STR(v, "5");
        }
    }
    free(sql);
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* What a statement leaves for the next one of the same client stays with that client:
 * warnings and errors keep the connection for the client's next statement (SHOW WARNINGS
 * reads them there) and it is reset before anyone else gets it (SELECT 2 does not clear them);
 * LAST_INSERT_ID() gives each client its own insert's id, on whichever connection.
 * Both leaked to the next client of the connection before. */
static void test_warnings_and_insert_ids_stay_with_their_client(void)
{
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    CHECK(tdb_exec(d, "CREATE OR REPLACE TABLE " TDB_DATABASE
                      ".ringsql_ai (id INT AUTO_INCREMENT PRIMARY KEY) AUTO_INCREMENT = 500"));
    mysql_close(d);
    if (!start_txn_proxy(1))
        return;
    MYSQL *a = client(TDB_DATABASE), *b = client(TDB_DATABASE);
    char v[64];
    if (CHECK(a && b)) {
        CHECK(tdb_query_value(a, "SELECT 1/0", v, sizeof v)); /* a warning: division by 0 */
        CHECK(tdb_expect_error(b, "SHOW WARNINGS", 1040));    /* a keeps its connection */
        if (CHECK(tdb_query_value(a, "SHOW COUNT(*) WARNINGS", v, sizeof v)))
            CHECK_STR(v, "1");
        if (CHECK(tdb_query_value(a, "SHOW COUNT(*) WARNINGS", v, sizeof v)))
            CHECK_STR(v, "1"); /* reading them leaves them */
        CHECK(tdb_expect_error(a, "SELECT * FROM no_such_table_here", 1146));
        CHECK(tdb_expect_error(b, "SELECT 1", 1040));       /* an error is kept too */
        CHECK(tdb_query_value(a, "SELECT 2", v, sizeof v)); /* let go, through a reset */
        if (CHECK(tdb_query_value(b, "SHOW COUNT(*) WARNINGS", v, sizeof v)) &&
            !CHECK_STR(v, "0") && tdb_query_value(b, "SHOW WARNINGS", v, sizeof v))
            printf("# b sees: %s\n", v);

        CHECK(tdb_exec(a, "INSERT INTO ringsql_ai VALUES ()"));
        unsigned long long id = mysql_insert_id(a);
        CHECK(id >= 500);
        /* b inserted nothing: 0, not a's id (the connection's). b then pins (it reads it). */
        if (CHECK(tdb_query_value(b, "SELECT LAST_INSERT_ID()", v, sizeof v)))
            CHECK_STR(v, "0");
        mysql_close(b);
        b = NULL;
        /* a, on the connection b's reset gave back (its value 0 there): its own id. */
        char want[32];
        snprintf(want, sizeof want, "%llu", id);
        bool got = false;
        for (uint64_t end = tdb_now_ms() + 5000; !got && tdb_now_ms() < end;)
            got = mysql_query(a, "SELECT LAST_INSERT_ID()") == 0;
        MYSQL_RES *r = got ? mysql_store_result(a) : NULL;
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (CHECK(row && row[0]))
            CHECK_STR(row[0], want);
        mysql_free_result(r);
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_clients_share_one_connection),
        CHECK_CASE(test_transaction_holds_the_connection),
        CHECK_CASE(test_command_waits_for_a_connection),
        CHECK_CASE(test_state_pins_and_does_not_leak),
        CHECK_CASE(test_lookalikes_do_not_pin),
        CHECK_CASE(test_prepared_does_not_pin_ping_does_not_need_one),
        CHECK_CASE(test_charset_and_database_follow_the_client),
        CHECK_CASE(test_reset_connection_unpins_with_the_clients_charset),
        CHECK_CASE(test_state_change_entries_only_when_asked),
        CHECK_CASE(test_connection_id_is_the_sessions),
        CHECK_CASE(test_change_user_without_a_connection),
        CHECK_CASE(test_long_statement_keeps_its_connection),
        CHECK_CASE(test_warnings_and_insert_ids_stay_with_their_client),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
