/* connection_id: see connection_id.h. */
#include "protocol/connection_id.h"

#include <stdio.h>
#include <string.h>

#include "protocol/sql_lex.h"

size_t proto_sql_rewrite_connection_id(uint8_t *sql, size_t len, uint32_t id)
{
    char digits[16];
    int nd = snprintf(digits, sizeof digits, "%u", id);
    size_t done = 0;
    struct sql_lex lx = sql_lex_init(sql, len);
    for (struct sql_tok t = sql_lex_next(&lx); t.kind != SQL_TOK_END; t = sql_lex_next(&lx)) {
        if (!sql_tok_is(&t, "CONNECTION_ID"))
            continue;
        struct sql_lex after = lx;
        struct sql_tok open = sql_lex_next(&after), close = sql_lex_next(&after);
        if (open.kind != SQL_TOK_PUNCT || open.p[0] != '(' || close.kind != SQL_TOK_PUNCT ||
            close.p[0] != ')')
            continue;
        /* From the name to the closing parenthesis: at least 15 bytes, more than 10 digits. */
        size_t at = (size_t)(t.p - sql), span = (size_t)(close.p - t.p) + 1;
        memcpy(sql + at, digits, (size_t)nd);
        memset(sql + at + nd, ' ', span - (size_t)nd);
        lx = after;
        done++;
    }
    return done;
}
