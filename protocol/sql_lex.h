/* sql_lex: the tokens of a statement's text, for the scanners that look for words in it
 * (query_state.c, kill.c). Quoted strings and identifiers and comments are skipped;
 * executable comments (slash-star-bang, MariaDB's slash-star-M-bang) are read as code. Not a
 * parser: a word is a run of letters, digits, '_', '$' and bytes >= 0x80 (numbers too). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sql_tok_kind {
    SQL_TOK_END,      /* no more text */
    SQL_TOK_WORD,     /* a keyword, an unquoted name or a number */
    SQL_TOK_USER_VAR, /* @name */
    SQL_TOK_SYS_VAR,  /* @@name or @@scope.name */
    SQL_TOK_QUOTED,   /* '...', "..." or `...` (unclosed: to the end) */
    SQL_TOK_PUNCT,    /* any other byte, one at a time */
};

struct sql_tok {
    enum sql_tok_kind kind;
    const uint8_t *p;
    size_t len;
};

struct sql_lex {
    const uint8_t *s;
    size_t len;
    size_t i;
};

static inline struct sql_lex sql_lex_init(const uint8_t *s, size_t len)
{
    return (struct sql_lex){.s = s, .len = len, .i = 0};
}

/* The next token; SQL_TOK_END (and again on every later call) at the end. */
struct sql_tok sql_lex_next(struct sql_lex *lx);

/* Whether t is the word kw (ASCII, case-insensitive). */
bool sql_tok_is(const struct sql_tok *t, const char *kw);
