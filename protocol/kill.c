/* kill: KILL statements in a query's text (see kill.h). */
#include "protocol/kill.h"

#include <string.h>

#include "protocol/sql_lex.h"

/* A quick no for the texts that cannot hold the word (all but a few): no 'k' or 'K'. */
static bool may_hold_kill(const uint8_t *sql, size_t len)
{
    return memchr(sql, 'k', len) || memchr(sql, 'K', len);
}

/* The statement after KILL, up to its end (';' or the text's): ONE with out filled, or OTHER. */
static enum proto_kill_kind kill_statement(struct sql_lex *lx, struct proto_kill *out)
{
    struct sql_tok t = sql_lex_next(lx);
    if (sql_tok_is(&t, "HARD") || sql_tok_is(&t, "SOFT"))
        t = sql_lex_next(lx);
    out->query_only = false;
    if (sql_tok_is(&t, "QUERY")) {
        out->query_only = true;
        t = sql_lex_next(lx);
    } else if (sql_tok_is(&t, "CONNECTION")) {
        t = sql_lex_next(lx);
    }
    if (t.kind != SQL_TOK_WORD || t.len == 0 || t.len > 10)
        return PROTO_KILL_OTHER; /* USER, ID, an expression, nothing */
    uint64_t id = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return PROTO_KILL_OTHER;
        id = id * 10 + (uint64_t)(t.p[i] - '0');
    }
    if (id > UINT32_MAX)
        return PROTO_KILL_OTHER;
    out->id = (uint32_t)id;
    t = sql_lex_next(lx);
    if (t.kind == SQL_TOK_PUNCT && t.p[0] == ';')
        t = sql_lex_next(lx);
    return t.kind == SQL_TOK_END ? PROTO_KILL_ONE : PROTO_KILL_OTHER;
}

enum proto_kill_kind proto_kill_parse(const uint8_t *sql, size_t len, struct proto_kill *out)
{
    if (!may_hold_kill(sql, len))
        return PROTO_KILL_NONE;
    struct sql_lex lx = sql_lex_init(sql, len);
    struct sql_tok t = sql_lex_next(&lx);
    if (sql_tok_is(&t, "KILL"))
        return kill_statement(&lx, out);
    /* Anywhere else (after a ';', inside BEGIN NOT ATOMIC ... END): KILL followed by what
     * only a KILL statement has there. A column named kill is not one. */
    bool after_kill = false;
    for (; t.kind != SQL_TOK_END; t = sql_lex_next(&lx)) {
        if (after_kill && t.kind == SQL_TOK_WORD &&
            ((t.p[0] >= '0' && t.p[0] <= '9') || sql_tok_is(&t, "QUERY") ||
             sql_tok_is(&t, "CONNECTION") || sql_tok_is(&t, "HARD") || sql_tok_is(&t, "SOFT") ||
             sql_tok_is(&t, "USER")))
            return PROTO_KILL_OTHER;
        after_kill = sql_tok_is(&t, "KILL");
    }
    return PROTO_KILL_NONE;
}
