/* proto_kill_parse (kill.h): the KILL statements ringsql answers itself, those it refuses,
 * and the texts that only look like one. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "protocol/kill.h"

static enum proto_kill_kind parse(const char *sql, struct proto_kill *k)
{
    return proto_kill_parse((const uint8_t *)sql, strlen(sql), k);
}

static void test_one_kill(void)
{
    static const struct {
        const char *sql;
        uint32_t id;
        bool query_only;
    } cases[] = {
        {"KILL 5", 5, false},
        {"kill query 42", 42, true},
        {"  KILL CONNECTION 7 ;", 7, false},
        {"KILL HARD QUERY 4294967295", 4294967295u, true},
        {"kill soft 9", 9, false},
        {"/* cancel */ KILL QUERY 12 -- from the CLI\n", 12, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct proto_kill k = {0};
        if (!CHECK_INT(parse(cases[i].sql, &k), PROTO_KILL_ONE)) {
            printf("# %s\n", cases[i].sql);
            continue;
        }
        CHECK_UINT(k.id, cases[i].id);
        CHECK(k.query_only == cases[i].query_only);
    }
}

static void test_other_kills_are_refused(void)
{
    static const char *const other[] = {
        "KILL USER app",
        "KILL QUERY ID 5",
        "KILL 4294967296",
        "KILL 5 + 1",
        "KILL @id",
        "KILL",
        "KILL 5; SELECT 1",
        "SELECT 1; KILL 5",
        "select 1;kill query 5",
        "BEGIN NOT ATOMIC KILL 5; END",
        "/*!50000 SELECT 1; KILL 5 */",
        "SELECT 1; /*M!100000 KILL CONNECTION 5 */",
        "/*!KILL*/ 3", /* an executable comment's end is read as code: refused, not parsed */
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        struct proto_kill k;
        if (!CHECK_INT(parse(other[i], &k), PROTO_KILL_OTHER))
            printf("# %s\n", other[i]);
    }
}

static void test_lookalikes_are_not_kills(void)
{
    static const char *const none[] = {
        "SELECT 1",
        "SELECT 'KILL 5'",
        "SELECT `kill` FROM t",
        "SELECT kill FROM t",
        "SELECT 1 -- KILL 5\n",
        "SELECT 1 /* KILL 5 */",
        "INSERT INTO t VALUES ('; KILL 5')",
        "SELECT skill, killer FROM t",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        struct proto_kill k;
        if (!CHECK_INT(parse(none[i], &k), PROTO_KILL_NONE))
            printf("# %s\n", none[i]);
    }
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_one_kill),
        CHECK_CASE(test_other_kills_are_refused),
        CHECK_CASE(test_lookalikes_are_not_kills),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
