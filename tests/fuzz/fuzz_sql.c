/* libFuzzer target: the statement scanners (sql_lex.h, query_state.h, kill.h) over arbitrary
 * text. Every token must lie inside the input and the lexer must move forward. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/kill.h"
#include "protocol/name_set.h"
#include "protocol/query_state.h"
#include "protocol/sql_lex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sql_lex lx = sql_lex_init(data, size);
    size_t last = 0;
    for (struct sql_tok t = sql_lex_next(&lx); t.kind != SQL_TOK_END; t = sql_lex_next(&lx)) {
        if (t.p < data || t.len == 0 || (size_t)(t.p - data) + t.len > size || lx.i <= last)
            abort();
        last = lx.i;
    }
    struct proto_kill k;
    enum proto_kill_kind kind = proto_kill_parse(data, size, &k);
    if (kind != PROTO_KILL_NONE && kind != PROTO_KILL_ONE && kind != PROTO_KILL_OTHER)
        abort();
    /* A few short names, so that random text calls stored functions often. */
    static struct name_set *routines;
    if (!routines) {
        routines = name_set_new();
        static const char *const names[] = {"a", "f", "gl", "x1"};
        for (size_t i = 0; routines && i < sizeof names / sizeof names[0]; i++)
            if (!name_set_add(routines, (const uint8_t *)names[i], strlen(names[i])))
                abort();
    }
    (void)proto_query_leaves_state(data, size, routines);
    (void)proto_query_may_change_db(data, size);
    return 0;
}
