#include "core/admin/prom.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 2, 3))) static void put(struct prom_buf *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->overflow = true;
        b->buf[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

/* Label values escape backslash, double quote and newline; HELP text the first and last. */
static void put_escaped(struct prom_buf *b, const char *s, bool quote)
{
    for (; *s && !b->overflow; s++) {
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '\n')
            put(b, "\\n");
        else if (*s == '"' && quote)
            put(b, "\\\"");
        else
            put(b, "%c", *s);
    }
}

void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s ", name);
    put_escaped(b, help, false);
    put(b, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(struct prom_buf *b, const char *name, const char *const *labels, uint64_t value)
{
    put(b, "%s", name);
    if (labels && labels[0]) {
        put(b, "{");
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            put(b, "%s%s=\"", i ? "," : "", labels[i]);
            put_escaped(b, labels[i + 1], true);
            put(b, "\"");
        }
        put(b, "}");
    }
    put(b, " %llu\n", (unsigned long long)value);
}
