/* A small lexer over a statement's text: words, user variables, and what to skip. */
#include "protocol/query_state.h"

#include <string.h>
#include <strings.h>

static bool word_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

static bool word_is(const uint8_t *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp((const char *)w, kw, n) == 0;
}

/* Words whose mere presence means state the server does not report. */
static bool stateful_word(const uint8_t *w, size_t n)
{
    static const char *const words[] = {
        "LOCK",           "GET_LOCK", "FOUND_ROWS", "SQL_CALC_FOUND_ROWS",
        "LAST_INSERT_ID", "LASTVAL",  "ROW_COUNT",  "HANDLER",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (word_is(w, n, words[i]))
            return true;
    return false;
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

static size_t skip_to_eol(const uint8_t *s, size_t len, size_t i)
{
    while (i < len && s[i] != '\n')
        i++;
    return i;
}

/* Words after which the connection's current database may be another (or none): USE,
 * DROP DATABASE / SCHEMA, and what runs text or code this scanner cannot see (EXECUTE of a
 * prepared statement, CALL). SELECT DATABASE() is a false yes, which only costs the next
 * session a COM_INIT_DB. */
static bool db_word(const uint8_t *w, size_t n)
{
    static const char *const words[] = {"USE", "DATABASE", "SCHEMA", "EXECUTE", "CALL"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (word_is(w, n, words[i]))
            return true;
    return false;
}

enum { LEAVES_STATE = 1, MAY_CHANGE_DB = 2 };

/* The findings of both questions, stopping once `want` are all found. */
static unsigned scan(const uint8_t *s, size_t len, unsigned want)
{
    unsigned found = 0;
    /* The previous word, to tell SET [SESSION] TRANSACTION from START TRANSACTION. */
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == '\'' || c == '"' || c == '`') {
            i = skip_quoted(s, len, i);
            continue;
        }
        if (c == '#' || (c == '-' && i + 2 < len && s[i + 1] == '-' &&
                         (s[i + 2] == ' ' || s[i + 2] == '\t' || s[i + 2] == '\n'))) {
            i = skip_to_eol(s, len, i);
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            bool code = i + 2 < len && (s[i + 2] == '!' || s[i + 2] == 'M');
            if (code) {
                i += 3; /* read what follows as code */
                continue;
            }
            const uint8_t *end = NULL;
            for (size_t j = i + 2; j + 1 < len; j++)
                if (s[j] == '*' && s[j + 1] == '/') {
                    end = s + j + 2;
                    break;
                }
            i = end ? (size_t)(end - s) : len;
            continue;
        }
        if (c == '@') {
            if (i + 1 < len && s[i + 1] == '@') {
                i += 2; /* a system variable: SET @@x is reported by the server */
                while (i < len && (word_char(s[i]) || s[i] == '.'))
                    i++;
                continue;
            }
            found |= LEAVES_STATE; /* a user variable, maybe assigned */
            if ((found & want) == want)
                return found;
            for (i++; i < len && word_char(s[i]); i++)
                ; /* its name is no keyword */
            continue;
        }
        if (word_char(c)) {
            size_t j = i;
            while (j < len && word_char(s[j]))
                j++;
            const uint8_t *w = s + i;
            size_t n = j - i;
            if (stateful_word(w, n))
                found |= LEAVES_STATE;
            if (word_is(w, n, "TRANSACTION") && prev &&
                (word_is(prev, prev_len, "SET") || word_is(prev, prev_len, "SESSION") ||
                 word_is(prev, prev_len, "LOCAL") || word_is(prev, prev_len, "GLOBAL")))
                found |= LEAVES_STATE;
            if (db_word(w, n))
                found |= MAY_CHANGE_DB;
            if ((found & want) == want)
                return found;
            prev = w;
            prev_len = n;
            i = j;
            continue;
        }
        i++;
    }
    return found;
}

bool proto_query_leaves_state(const uint8_t *sql, size_t len)
{
    return scan(sql, len, LEAVES_STATE) & LEAVES_STATE;
}

bool proto_query_may_change_db(const uint8_t *sql, size_t len)
{
    return scan(sql, len, MAY_CHANGE_DB) & MAY_CHANGE_DB;
}
