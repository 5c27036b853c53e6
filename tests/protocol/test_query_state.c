/* proto_query_leaves_state (query_state.h): what transaction pooling must not miss, and
 * what it must not mistake for state (quoted text, comments, system variables); and
 * proto_query_may_change_db: what session pooling's database cache must not miss. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "protocol/name_set.h"
#include "protocol/query_state.h"

/* The stored functions the backend knows, for leaves(). */
static struct name_set *routines;

static bool leaves(const char *sql)
{
    return proto_query_leaves_state((const uint8_t *)sql, strlen(sql), routines);
}

static bool changes_db(const char *sql)
{
    return proto_query_may_change_db((const uint8_t *)sql, strlen(sql));
}

/* Checks that question answers want for each of the n statements, naming those it gets wrong. */
static void expect_each(bool (*question)(const char *), const char *const *sql, size_t n, bool want)
{
    for (size_t i = 0; i < n; i++)
        if (!CHECK(question(sql[i]) == want))
            printf("# %s: %s\n", want ? "missed" : "false positive", sql[i]);
}

static void test_untracked_state_is_seen(void)
{
    static const char *const yes[] = {
        "SELECT @a := 1",
        "select 1 into @w",
        "DO @z:=3",
        "SELECT @a",
        "SELECT GET_LOCK('a', 0)",
        "LOCK TABLES t READ",
        "lock table t write",
        "SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1",
        "SELECT FOUND_ROWS()",
        "SELECT LAST_INSERT_ID()",
        "select row_count()",
        "SELECT LASTVAL(s)",
        "HANDLER t OPEN",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "set session transaction read only",
        "SELECT 1; SET @x = 2",
        "/*!40101 SET @OLD_MODE=@@SQL_MODE */",
        "/*M!100100 SELECT @a */",
        "SELECT 'it''s' , @v",
        "SELECT \"a\\\"\" , @v",
        "SELECT 1 -- c\n, @v",
        "SELECT `GET_LOCK`('a', 0)",
        "SELECT NEXTVAL(s)",
        "select next value for s",
        "SELECT PREVIOUS VALUE FOR s",
        "SELECT SETVAL(s, 5)",
        "CALL p()",
        "call db.p",
        "SELECT gl()",
        "SELECT GL ( 1 )",
        "SELECT shop.gl()",
        "SELECT `gl`()",
        "SELECT 1 FROM t WHERE a = `shop`.`gl`(2)",
        "SELECT `lock me`(1)",
    };
    expect_each(leaves, yes, sizeof yes / sizeof yes[0], true);
}

static void test_stateless_text_is_not_pinned(void)
{
    static const char *const no[] = {
        "SELECT 1",
        "SELECT * FROM users WHERE email = 'a@b.example'",
        "SELECT \"x@y\" FROM t",
        "SELECT `col@1` FROM t",
        "SELECT @@version, @@session.sql_mode",
        "START TRANSACTION",
        "BEGIN",
        "COMMIT",
        "SELECT 1 /* @a LOCK */",
        "SELECT 1 # @a\n",
        "SELECT 1 -- GET_LOCK\n",
        "UPDATE blocks SET n = n + 1 WHERE id = 'lock'",
        "SELECT c FROM sbtest1 WHERE id=5",
        "INSERT INTO t VALUES ('\\'@')",
        "SELECT gl FROM t",
        "SELECT t.gl, 'gl()' FROM t",
        "SELECT glx(1), `gl `(1)",
        "",
    };
    expect_each(leaves, no, sizeof no / sizeof no[0], false);
}

static void test_database_changes_are_seen(void)
{
    static const char *const yes[] = {
        "USE shop",           "use `shop`",
        "SELECT 1; USE shop", "/*!50000 USE shop */",
        "DROP DATABASE shop", "drop schema if exists shop",
        "EXECUTE s",          "EXECUTE IMMEDIATE 'USE shop'",
        "CALL p()",           "SELECT DATABASE()", /* a false yes, on the safe side */
    };
    expect_each(changes_db, yes, sizeof yes / sizeof yes[0], true);
    static const char *const no[] = {
        "SELECT 1",
        "SELECT c FROM sbtest1 WHERE id=5",
        "SELECT 'USE shop'",
        "SELECT `use` FROM t",
        "SELECT 1 /* USE shop */",
        "SELECT 1 -- DROP DATABASE shop\n",
        "SELECT @use, @database",
        "UPDATE t SET user_id = 1",
        "",
    };
    expect_each(changes_db, no, sizeof no / sizeof no[0], false);
    /* Each question alone: a user variable does not hide a USE after it, nor the reverse. */
    CHECK(changes_db("SELECT @a; USE shop"));
    CHECK(leaves("USE shop; SELECT @a"));
}

static void test_unterminated_text_is_safe(void)
{
    /* Whatever the verdict, nothing is read past the end (ASan checks that). */
    (void)leaves("SELECT 'abc");
    (void)leaves("SELECT /* abc");
    (void)leaves("SELECT \\");
    (void)leaves("@");
    CHECK(leaves("SELECT 1; SELECT @"));
    (void)changes_db("SELECT 'abc");
    (void)changes_db("@");
}

static bool reads_diag(const char *sql)
{
    return proto_query_reads_diagnostics((const uint8_t *)sql, strlen(sql));
}

static bool reads_insert_id(const char *sql)
{
    return proto_query_reads_insert_id((const uint8_t *)sql, strlen(sql));
}

/* Statements that read the previous statement's warnings (and leave them), and those that
 * read LAST_INSERT_ID: transaction pooling keeps both with the client they belong to. */
static void test_diagnostics_and_insert_id_readers(void)
{
    static const char *const diag[] = {"SHOW WARNINGS", "show errors limit 1",
                                       "SHOW COUNT(*) WARNINGS", "GET DIAGNOSTICS @n = NUMBER",
                                       "/* x */ SHOW WARNINGS"};
    static const char *const not_diag[] = {"SELECT 1", "SHOW TABLES", "SELECT 'SHOW WARNINGS'",
                                           "GET_LOCK"};
    expect_each(reads_diag, diag, sizeof diag / sizeof diag[0], true);
    expect_each(reads_diag, not_diag, sizeof not_diag / sizeof not_diag[0], false);
    static const char *const ids[] = {"SELECT LAST_INSERT_ID()", "select last_insert_id() + 1",
                                      "DO LAST_INSERT_ID(5)"};
    static const char *const not_ids[] = {"SELECT 1", "SELECT 'LAST_INSERT_ID()'",
                                          "SELECT 1 /* LAST_INSERT_ID */"};
    expect_each(reads_insert_id, ids, sizeof ids / sizeof ids[0], true);
    expect_each(reads_insert_id, not_ids, sizeof not_ids / sizeof not_ids[0], false);
}

static bool mentions_xa(const char *sql)
{
    return proto_query_mentions_xa((const uint8_t *)sql, strlen(sql));
}

static bool leaves_state(const char *sql)
{
    return proto_query_leaves_state((const uint8_t *)sql, strlen(sql), NULL);
}

/* XA statements: their connection is closed, not reset, and transaction pooling pins. */
static void test_xa_statements(void)
{
    static const char *const xa[] = {"XA START 'x'",       "xa end 'x'",
                                     "XA PREPARE 'x'",     "XA COMMIT 'x' ONE PHASE",
                                     "/* c */ XA RECOVER", "SELECT 1; XA BEGIN 'y'"};
    static const char *const not_xa[] = {"SELECT 'XA START'", "SELECT xab FROM t",
                                         "SELECT 1 -- XA START"};
    expect_each(mentions_xa, xa, sizeof xa / sizeof xa[0], true);
    expect_each(mentions_xa, not_xa, sizeof not_xa / sizeof not_xa[0], false);
    expect_each(leaves_state, xa, sizeof xa / sizeof xa[0], true);
}

static bool sets_global(const char *sql)
{
    return proto_query_sets_global((const uint8_t *)sql, strlen(sql));
}

/* SET GLOBAL: pooled connections read the globals again before their next session. */
static void test_set_global(void)
{
    static const char *const yes[] = {"SET GLOBAL wait_timeout = 10",
                                      "set global sql_mode=''",
                                      "SET @@global.max_allowed_packet = 1 << 24",
                                      "SET @@GLOBAL.wait_timeout = 5",
                                      "SELECT 1; SET GLOBAL x = 1",
                                      "/* c */ SET SESSION a = 1, GLOBAL b = 2"};
    static const char *const no[] = {"SHOW GLOBAL STATUS",           "SELECT @@global.wait_timeout",
                                     "SET SESSION wait_timeout = 5", "SET @global = 1",
                                     "SELECT 'SET GLOBAL x = 1'",    "SET NAMES utf8mb4"};
    expect_each(sets_global, yes, sizeof yes / sizeof yes[0], true);
    expect_each(sets_global, no, sizeof no / sizeof no[0], false);
}

static bool changes_charset(const char *sql)
{
    return proto_query_facts((const uint8_t *)sql, strlen(sql), NULL) & PROTO_QF_MAY_CHANGE_CHARSET;
}

/* What may change the connection's character set: a statement prepared earlier cannot then be
 * prepared again as it was (transaction pooling). */
static void test_charset_change(void)
{
    static const char *const yes[] = {"SET NAMES latin1",
                                      "set character set utf8mb4",
                                      "SET CHARSET ascii",
                                      "SET character_set_client = 8",
                                      "SET @@session.collation_connection = 'latin1_bin'",
                                      "SELECT 1; SET NAMES utf8mb4"};
    static const char *const no[] = {"SELECT 'SET NAMES x'", "SELECT @@character_set_client",
                                     "SET @names = 1", "SHOW CHARACTER SET",
                                     "SET SESSION sql_mode = ''"};
    expect_each(changes_charset, yes, sizeof yes / sizeof yes[0], true);
    expect_each(changes_charset, no, sizeof no / sizeof no[0], false);
}

/* routing: what split may send to a replica (no PROTO_QF_WRITES, no PROTO_QF_LEAVES_STATE). */
static bool replica_may_run(const char *sql)
{
    unsigned f = proto_query_facts((const uint8_t *)sql, strlen(sql), routines);
    return !(f & (PROTO_QF_WRITES | PROTO_QF_LEAVES_STATE));
}

static void test_reads_for_replicas(void)
{
    static const char *const yes[] = {"SELECT 1",
                                      "  select * from t where a = 'update'",
                                      "SHOW TABLES",
                                      "DESCRIBE t",
                                      "EXPLAIN SELECT * FROM t",
                                      "(SELECT 1) UNION (SELECT 2)",
                                      "WITH x AS (SELECT 1) SELECT * FROM x",
                                      "/* hint */ SELECT `update` FROM t",
                                      "SELECT 1; SELECT 2"};
    static const char *const no[] = {"",
                                     "   ",
                                     "INSERT INTO t VALUES (1)",
                                     "UPDATE t SET a = 1",
                                     "DELETE FROM t",
                                     "BEGIN",
                                     "START TRANSACTION READ ONLY",
                                     "SET NAMES utf8mb4",
                                     "SELECT * FROM t FOR UPDATE",
                                     "SELECT * FROM t LOCK IN SHARE MODE",
                                     "SELECT a FROM t INTO OUTFILE '/tmp/x'",
                                     "SELECT @a := 1",
                                     "SELECT GET_LOCK('a', 0)",
                                     "SELECT NEXTVAL(s)",
                                     "SELECT gl(1)",
                                     "SELECT 1; INSERT INTO t VALUES (1)",
                                     "WITH x AS (SELECT 1) UPDATE t, x SET t.a = 1",
                                     "CALL p()",
                                     "/*!50000 INSERT */ INTO t VALUES (1)"};
    expect_each(replica_may_run, yes, sizeof yes / sizeof yes[0], true);
    expect_each(replica_may_run, no, sizeof no / sizeof no[0], false);
}

static bool names_tracking(const char *sql)
{
    return proto_query_names_state_tracking((const uint8_t *)sql, strlen(sql));
}

/* A client asking for session_track_state_change's entries itself. */
static void test_state_tracking_named(void)
{
    static const char *const yes[] = {
        "SET SESSION session_track_state_change = 1", "set session_track_state_change=ON",
        "SET @@session.session_track_state_change = 1", "SET @@SESSION_TRACK_STATE_CHANGE = 1"};
    static const char *const no[] = {"SELECT 'session_track_state_change'",
                                     "SET SESSION session_track_schema = 1",
                                     "SET @@session.xsession_track_state_change = 1"};
    expect_each(names_tracking, yes, sizeof yes / sizeof yes[0], true);
    expect_each(names_tracking, no, sizeof no / sizeof no[0], false);
}

/* The set itself: case-insensitive, exact length, shared and let go. */
static void test_name_set(void)
{
    CHECK(name_set_has(routines, (const uint8_t *)"GL", 2));
    CHECK(!name_set_has(routines, (const uint8_t *)"g", 1));
    CHECK(!name_set_has(NULL, (const uint8_t *)"gl", 2));
    CHECK(name_set_count(routines) == 2);
    struct name_set *copy = name_set_new();
    CHECK(copy && name_set_add_all(copy, routines));
    char name[16];
    for (int i = 0; copy && i < 1000; i++) /* past several growths */
        CHECK(name_set_add(copy, (const uint8_t *)name,
                           (size_t)snprintf(name, sizeof name, "f%d", i)));
    CHECK(name_set_count(copy) == 1002);
    CHECK(name_set_has(copy, (const uint8_t *)"F999", 4) &&
          name_set_has(copy, (const uint8_t *)"Lock me", 7));
    CHECK(name_set_ref(copy) == copy);
    name_set_unref(copy);
    CHECK(name_set_has(copy, (const uint8_t *)"f0", 2));
    name_set_unref(copy);
}

int main(int argc, char **argv)
{
    routines = name_set_new();
    if (!routines || !name_set_add(routines, (const uint8_t *)"gl", 2) ||
        !name_set_add(routines, (const uint8_t *)"Lock Me", 7) ||
        !name_set_add(routines, (const uint8_t *)"gL", 2))
        return 1;
    static const struct check_case cases[] = {
        CHECK_CASE(test_diagnostics_and_insert_id_readers),
        CHECK_CASE(test_untracked_state_is_seen),
        CHECK_CASE(test_stateless_text_is_not_pinned),
        CHECK_CASE(test_database_changes_are_seen),
        CHECK_CASE(test_unterminated_text_is_safe),
        CHECK_CASE(test_xa_statements),
        CHECK_CASE(test_set_global),
        CHECK_CASE(test_state_tracking_named),
        CHECK_CASE(test_charset_change),
        CHECK_CASE(test_name_set),
        CHECK_CASE(test_reads_for_replicas),
    };
    int rc = check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    name_set_unref(routines);
    return rc;
}
