/* What a statement's words say of the state it leaves (see query_state.h). */
#include "protocol/query_state.h"

#include "protocol/name_set.h"
#include "protocol/sql_lex.h"

/* Words whose mere presence means state the server does not report. */
static bool stateful_word(const struct sql_tok *t)
{
    static const char *const words[] = {
        "LOCK",
        "GET_LOCK",
        "FOUND_ROWS",
        "SQL_CALC_FOUND_ROWS",
        "LAST_INSERT_ID",
        "LASTVAL",
        "ROW_COUNT",
        "HANDLER",
        "NEXTVAL",
        "SETVAL", /* a sequence's last value, read back by LASTVAL */
        "CALL",   /* a procedure may do any of these where no scanner sees it */
        "XA",     /* an XA transaction outlives the statements between its START and END */
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(t, words[i]))
            return true;
    return false;
}

/* Words after which the connection's current database may be another (or none): USE,
 * DROP DATABASE / SCHEMA, and what runs text or code this scanner cannot see (EXECUTE of a
 * prepared statement, CALL). SELECT DATABASE() is a false yes, which only costs the next
 * session a COM_INIT_DB. */
static bool db_word(const struct sql_tok *t)
{
    static const char *const words[] = {"USE", "DATABASE", "SCHEMA", "EXECUTE", "CALL"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(t, words[i]))
            return true;
    return false;
}

/* @@global.name (any case): the scope of a system variable token. */
static bool global_sys_var(const struct sql_tok *t)
{
    static const char prefix[] = "@@global.";
    size_t n = sizeof prefix - 1;
    if (t->kind != SQL_TOK_SYS_VAR || t->len <= n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((t->p[i] | 0x20) != (prefix[i] | 0x20))
            return false;
    return true;
}

/* session_track_state_change as a word, or ending @@name / @@scope.name. */
static bool names_state_tracking(const struct sql_tok *t)
{
    static const char name[] = "session_track_state_change";
    const size_t n = sizeof name - 1;
    if (sql_tok_is(t, name))
        return true;
    if (t->kind != SQL_TOK_SYS_VAR || t->len <= n ||
        (t->p[t->len - n - 1] != '@' && t->p[t->len - n - 1] != '.'))
        return false;
    struct sql_tok tail = {.kind = SQL_TOK_WORD, .p = t->p + t->len - n, .len = n};
    return sql_tok_is(&tail, name);
}

/* In a SET: a word or variable that sets the connection's character set or collation. */
static bool charset_word(const struct sql_tok *t)
{
    static const char *const words[] = {
        "NAMES",
        "CHARSET",
        "CHARACTER", /* SET CHARACTER SET */
        "character_set_client",
        "character_set_connection",
        "character_set_results",
        "collation_connection",
    };
    struct sql_tok name = *t;
    if (t->kind == SQL_TOK_SYS_VAR) { /* @@[scope.]name: its last part */
        size_t i = t->len;
        while (i > 0 && t->p[i - 1] != '@' && t->p[i - 1] != '.')
            i--;
        name = (struct sql_tok){.kind = SQL_TOK_WORD, .p = t->p + i, .len = t->len - i};
    } else if (t->kind != SQL_TOK_WORD) {
        return false;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(&name, words[i]))
            return true;
    return false;
}

/* A statement that may begin this way only reads. */
static bool read_start(const struct sql_tok *t)
{
    static const char *const words[] = {"SELECT",  "SHOW", "DESC",   "DESCRIBE",
                                        "EXPLAIN", "WITH", "VALUES", "HELP"};
    if (t->kind == SQL_TOK_PUNCT)
        return t->p[0] == '(';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(t, words[i]))
            return true;
    return false;
}

/* Words that make a read write or lock (or a WITH's statement a write). */
static bool write_word(const struct sql_tok *t)
{
    static const char *const words[] = {"UPDATE", "INSERT", "DELETE", "REPLACE",
                                        "INTO",   "SHARE",  "LOCK"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sql_tok_is(t, words[i]))
            return true;
    return false;
}

/* The facts of the text, stopping once `want` are all found. */
static unsigned scan(const uint8_t *s, size_t len, unsigned want, const struct name_set *routines)
{
    unsigned found = 0;
    bool any = false; /* a statement's first token was seen */
    struct sql_lex lx = sql_lex_init(s, len);
    /* The previous word, to tell SET [SESSION] TRANSACTION from START TRANSACTION. */
    struct sql_tok prev = {.kind = SQL_TOK_END};
    bool routine_named = false;        /* the previous token names a stored function */
    bool first = true, in_set = false; /* the statement's first token; it is SET */
    for (struct sql_tok t = sql_lex_next(&lx); t.kind != SQL_TOK_END; t = sql_lex_next(&lx)) {
        /* name(: a stored function's call, whose body no scanner sees. */
        if (routine_named && t.kind == SQL_TOK_PUNCT && t.p[0] == '(')
            found |= PROTO_QF_LEAVES_STATE;
        routine_named = false;
        if (t.kind == SQL_TOK_PUNCT && t.p[0] == ';') {
            first = true;
            continue;
        }
        if (first) {
            in_set = sql_tok_is(&t, "SET");
            if (!read_start(&t))
                found |= PROTO_QF_WRITES;
            any = true;
        }
        first = false;
        if (t.kind == SQL_TOK_WORD && write_word(&t))
            found |= PROTO_QF_WRITES;
        if (in_set && (sql_tok_is(&t, "GLOBAL") || global_sys_var(&t)))
            found |= PROTO_QF_SETS_GLOBAL;
        if (in_set && charset_word(&t))
            found |= PROTO_QF_MAY_CHANGE_CHARSET;
        if (names_state_tracking(&t))
            found |= PROTO_QF_NAMES_STATE_TRACKING;
        if (t.kind == SQL_TOK_QUOTED && t.p[0] == '`' && t.len >= 2) {
            /* A quoted function name still calls it: `GET_LOCK`('x', 0) takes a lock. (A
             * quoted `use` is a column, not the statement.) */
            struct sql_tok name = {.kind = SQL_TOK_WORD, .p = t.p + 1, .len = t.len - 2};
            if (stateful_word(&name))
                found |= PROTO_QF_LEAVES_STATE;
            routine_named = name_set_has(routines, name.p, name.len);
        } else if (t.kind == SQL_TOK_USER_VAR) {
            /* a user variable, maybe assigned (SET @@x is reported) */
            found |= PROTO_QF_LEAVES_STATE;
        } else if (t.kind == SQL_TOK_WORD) {
            if (stateful_word(&t))
                found |= PROTO_QF_LEAVES_STATE;
            if (sql_tok_is(&t, "XA"))
                found |= PROTO_QF_XA;
            if (sql_tok_is(&t, "CONNECTION_ID"))
                found |= PROTO_QF_CONNECTION_ID;
            if (sql_tok_is(&t, "TRANSACTION") &&
                (sql_tok_is(&prev, "SET") || sql_tok_is(&prev, "SESSION") ||
                 sql_tok_is(&prev, "LOCAL") || sql_tok_is(&prev, "GLOBAL")))
                found |= PROTO_QF_LEAVES_STATE;
            /* NEXT VALUE FOR s, PREVIOUS VALUE FOR s: NEXTVAL and LASTVAL in other words. */
            if (sql_tok_is(&t, "VALUE") &&
                (sql_tok_is(&prev, "NEXT") || sql_tok_is(&prev, "PREVIOUS")))
                found |= PROTO_QF_LEAVES_STATE;
            if (db_word(&t))
                found |= PROTO_QF_MAY_CHANGE_DB;
            routine_named = name_set_has(routines, t.p, t.len);
            prev = t;
        }
        if ((found & want) == want)
            return found;
    }
    return any ? found : found | PROTO_QF_WRITES;
}

unsigned proto_query_facts(const uint8_t *sql, size_t len, const struct name_set *routines)
{
    return scan(sql, len, PROTO_QF_ALL, routines);
}

bool proto_query_leaves_state(const uint8_t *sql, size_t len, const struct name_set *routines)
{
    return scan(sql, len, PROTO_QF_LEAVES_STATE, routines) & PROTO_QF_LEAVES_STATE;
}

bool proto_query_may_change_db(const uint8_t *sql, size_t len)
{
    return scan(sql, len, PROTO_QF_MAY_CHANGE_DB, NULL) & PROTO_QF_MAY_CHANGE_DB;
}

bool proto_query_mentions_xa(const uint8_t *sql, size_t len)
{
    return scan(sql, len, PROTO_QF_XA, NULL) & PROTO_QF_XA;
}

bool proto_query_sets_global(const uint8_t *sql, size_t len)
{
    return scan(sql, len, PROTO_QF_SETS_GLOBAL, NULL) & PROTO_QF_SETS_GLOBAL;
}

bool proto_query_names_state_tracking(const uint8_t *sql, size_t len)
{
    return scan(sql, len, PROTO_QF_NAMES_STATE_TRACKING, NULL) & PROTO_QF_NAMES_STATE_TRACKING;
}

bool proto_query_reads_diagnostics(const uint8_t *sql, size_t len)
{
    struct sql_lex lx = sql_lex_init(sql, len);
    struct sql_tok a = sql_lex_next(&lx), b = sql_lex_next(&lx);
    if (sql_tok_is(&a, "SHOW"))
        return sql_tok_is(&b, "WARNINGS") || sql_tok_is(&b, "ERRORS") || sql_tok_is(&b, "COUNT");
    return sql_tok_is(&a, "GET") && (sql_tok_is(&b, "DIAGNOSTICS") || sql_tok_is(&b, "CURRENT") ||
                                     sql_tok_is(&b, "STACKED"));
}

static bool mentions(const uint8_t *sql, size_t len, const char *word)
{
    struct sql_lex lx = sql_lex_init(sql, len);
    for (struct sql_tok t = sql_lex_next(&lx); t.kind != SQL_TOK_END; t = sql_lex_next(&lx))
        if (sql_tok_is(&t, word))
            return true;
    return false;
}

bool proto_query_reads_insert_id(const uint8_t *sql, size_t len)
{
    return mentions(sql, len, "LAST_INSERT_ID");
}
