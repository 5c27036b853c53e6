/* sql_lex: a statement's tokens (see sql_lex.h). */
#include "protocol/sql_lex.h"

#include <string.h>
#include <strings.h>

static bool word_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

bool sql_tok_is(const struct sql_tok *t, const char *kw)
{
    /* The first letter, whatever its case, turns away most words before any length or
     * string compare: every statement's every word meets some forty keywords. */
    return t->kind == SQL_TOK_WORD && t->len > 0 && ((t->p[0] ^ (uint8_t)kw[0]) & ~0x20) == 0 &&
           strlen(kw) == t->len && strncasecmp((const char *)t->p, kw, t->len) == 0;
}

/* Index just past the quoted text that starts at i (the opening quote); the end of the text
 * when it is not closed. A doubled quote stands for itself; backslash escapes in strings. */
static size_t skip_quoted(const uint8_t *s, size_t len, size_t i)
{
    uint8_t q = s[i++];
    while (i < len) {
        if (s[i] == '\\' && q != '`') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (i + 1 < len && s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return len;
}

/* Past a comment starting at i, or i when none starts there. */
static size_t skip_comment(const uint8_t *s, size_t len, size_t i)
{
    uint8_t c = s[i];
    if (c == '#' || (c == '-' && i + 2 < len && s[i + 1] == '-' &&
                     (s[i + 2] == ' ' || s[i + 2] == '\t' || s[i + 2] == '\n'))) {
        while (i < len && s[i] != '\n')
            i++;
        return i;
    }
    if (c != '/' || i + 1 >= len || s[i + 1] != '*')
        return i;
    if (i + 2 < len && (s[i + 2] == '!' || s[i + 2] == 'M')) {
        /* Read what follows as code: slash-star-bang or -M-bang, then a version, if any. */
        i += 3;
        if (s[i - 1] == 'M' && i < len && s[i] == '!')
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        return i;
    }
    for (size_t j = i + 2; j + 1 < len; j++)
        if (s[j] == '*' && s[j + 1] == '/')
            return j + 2;
    return len;
}

struct sql_tok sql_lex_next(struct sql_lex *lx)
{
    const uint8_t *s = lx->s;
    size_t len = lx->len;
    for (;;) {
        if (lx->i >= len) {
            lx->i = len; /* a quoted run's escape may have stepped past the end */
            return (struct sql_tok){.kind = SQL_TOK_END, .p = s + len};
        }
        size_t i = lx->i;
        size_t past = skip_comment(s, len, i);
        if (past != i) {
            lx->i = past;
            continue;
        }
        uint8_t c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            lx->i++;
            continue;
        }
        enum sql_tok_kind kind = SQL_TOK_PUNCT;
        size_t j = i + 1;
        if (c == '\'' || c == '"' || c == '`') {
            kind = SQL_TOK_QUOTED;
            j = skip_quoted(s, len, i);
            if (j > len)
                j = len;
        } else if (c == '@' && j < len && s[j] == '@') {
            kind = SQL_TOK_SYS_VAR;
            for (j++; j < len && (word_char(s[j]) || s[j] == '.'); j++)
                ;
        } else if (c == '@') {
            kind = SQL_TOK_USER_VAR;
            for (; j < len && word_char(s[j]); j++)
                ;
        } else if (word_char(c)) {
            kind = SQL_TOK_WORD;
            for (; j < len && word_char(s[j]); j++)
                ;
        }
        lx->i = j;
        return (struct sql_tok){.kind = kind, .p = s + i, .len = j - i};
    }
}
