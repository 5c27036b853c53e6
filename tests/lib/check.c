#include "check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int case_failures;

static bool fail(const char *file, int line, const char *fmt_expr, const char *detail)
{
    case_failures++;
    printf("#   %s:%d: %s%s\n", file, line, fmt_expr, detail);
    fflush(stdout);
    return false;
}

bool check_failf(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(file, line, msg, "");
}

bool check_true(bool cond, const char *expr, const char *file, int line)
{
    return cond ? true : fail(file, line, expr, " is false");
}

bool check_int_eq(int64_t got, int64_t want, const char *expr, const char *file, int line)
{
    if (got == want)
        return true;
    char d[96];
    snprintf(d, sizeof d, " = %" PRId64 ", want %" PRId64, got, want);
    return fail(file, line, expr, d);
}

bool check_uint_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line)
{
    if (got == want)
        return true;
    char d[96];
    snprintf(d, sizeof d, " = %" PRIu64 ", want %" PRIu64, got, want);
    return fail(file, line, expr, d);
}

bool check_str_eq(const char *got, const char *want, const char *expr, const char *file,
                  int line)
{
    if (got && want && strcmp(got, want) == 0)
        return true;
    if (!got && !want)
        return true;
    char d[512];
    snprintf(d, sizeof d, " = \"%s\", want \"%s\"", got ? got : "(null)",
             want ? want : "(null)");
    return fail(file, line, expr, d);
}

bool check_mem_eq(const void *got, size_t got_len, const void *want, size_t want_len,
                  const char *expr, const char *file, int line)
{
    if (got_len == want_len && (got_len == 0 || memcmp(got, want, got_len) == 0))
        return true;
    size_t i = 0;
    const unsigned char *g = got, *w = want;
    while (i < got_len && i < want_len && g[i] == w[i])
        i++;
    char d[128];
    snprintf(d, sizeof d, " differs at byte %zu (lengths %zu and %zu)", i, got_len, want_len);
    return fail(file, line, expr, d);
}

static bool selected(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int check_main(int argc, char **argv, const struct check_case *cases, size_t ncases)
{
    size_t planned = 0;
    for (size_t i = 0; i < ncases; i++)
        planned += selected(argc, argv, cases[i].name);
    printf("1..%zu\n", planned);
    int failed = 0, n = 0;
    for (size_t i = 0; i < ncases; i++) {
        if (!selected(argc, argv, cases[i].name))
            continue;
        case_failures = 0;
        cases[i].fn();
        n++;
        printf("%s %d - %s\n", case_failures ? "not ok" : "ok", n, cases[i].name);
        fflush(stdout);
        failed += case_failures != 0;
    }
    return failed ? 1 : 0;
}
