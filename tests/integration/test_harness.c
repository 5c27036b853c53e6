/* The test harness itself: the MariaDB server from tests/mariadb.sh is there, answers, holds
 * the test user and database, and the helpers report results and errors faithfully. */
#include <string.h>

#include "check.h"
#include "testdb.h"

static void test_server_answers(void)
{
    MYSQL *m = tdb_connect_server();
    if (!CHECK(m != NULL))
        return;
    char v[128];
    if (CHECK(tdb_query_value(m, "SELECT VERSION()", v, sizeof v)))
        CHECK(strstr(v, "MariaDB") != NULL);
    if (CHECK(tdb_query_value(m, "SELECT DATABASE()", v, sizeof v)))
        CHECK_STR(v, TDB_DATABASE);
    if (CHECK(tdb_query_value(m, "SELECT 6 * 7", v, sizeof v)))
        CHECK_STR(v, "42");
    mysql_close(m);
}

static void test_rows_round_trip(void)
{
    MYSQL *m = tdb_connect_server();
    if (!CHECK(m != NULL))
        return;
    CHECK(tdb_exec(m, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, name VARCHAR(20))"));
    CHECK(tdb_exec(m, "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL)"));
    char v[64];
    if (CHECK(tdb_query_value(m, "SELECT COUNT(*) FROM t", v, sizeof v)))
        CHECK_STR(v, "3");
    if (CHECK(tdb_query_value(m, "SELECT name FROM t WHERE id = 3", v, sizeof v)))
        CHECK_STR(v, "NULL");
    mysql_close(m);
}

static void test_errors_are_reported(void)
{
    MYSQL *m = tdb_connect_server();
    if (!CHECK(m != NULL))
        return;
    CHECK(tdb_expect_error(m, "SELECT * FROM no_such_table", 1146)); /* ER_NO_SUCH_TABLE */
    CHECK(tdb_expect_error(m, "SELEKT 1", 1064));                    /* ER_PARSE_ERROR */
    mysql_close(m);

    unsigned err = 0;
    MYSQL *bad = tdb_connect(tdb_server_host(), tdb_server_port(), TDB_USER, "wrong", NULL, &err);
    CHECK(bad == NULL);
    CHECK_UINT(err, 1045); /* ER_ACCESS_DENIED_ERROR */
    bad = tdb_connect(tdb_server_host(), tdb_server_port(), TDB_USER, TDB_PASSWORD, "no_such_db",
                      &err);
    CHECK(bad == NULL);
    CHECK_UINT(err, 1049); /* ER_BAD_DB_ERROR */
}

static void test_free_port_is_free(void)
{
    unsigned port = tdb_free_port();
    CHECK(port > 0);
    unsigned err = 0;
    MYSQL *m = tdb_connect("127.0.0.1", port, TDB_USER, TDB_PASSWORD, NULL, &err);
    CHECK(m == NULL);
    CHECK_UINT(err, 2002); /* CR_CONNECTION_ERROR: nothing listens there */
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_server_answers),
        CHECK_CASE(test_rows_round_trip),
        CHECK_CASE(test_errors_are_reported),
        CHECK_CASE(test_free_port_is_free),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
