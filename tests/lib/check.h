/* check: a small TAP-producing unit-test helper. Each test program lists its cases in an
 * array and hands it to check_main(); meson runs the program with protocol 'tap'. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct check_case {
    const char *name;
    void (*fn)(void);
};

#define CHECK_CASE(f) {#f, f}

/* Records a failed expectation for the running case; returns cond so callers can bail out. */
bool check_true(bool cond, const char *expr, const char *file, int line);
bool check_int_eq(int64_t got, int64_t want, const char *expr, const char *file, int line);
bool check_uint_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line);
bool check_str_eq(const char *got, const char *want, const char *expr, const char *file,
                  int line);
/* Records a failure with a formatted explanation; returns false. */
__attribute__((format(printf, 3, 4))) bool check_failf(const char *file, int line,
                                                       const char *fmt, ...);
bool check_mem_eq(const void *got, size_t got_len, const void *want, size_t want_len,
                  const char *expr, const char *file, int line);

/* Macros only because they capture the expression text, file and line. */
#define CHECK(c) check_true((c), #c, __FILE__, __LINE__)
#define CHECK_INT(got, want) check_int_eq((int64_t)(got), (int64_t)(want), #got, __FILE__, __LINE__)
#define CHECK_UINT(got, want)                                                                      \
    check_uint_eq((uint64_t)(got), (uint64_t)(want), #got, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str_eq((got), (want), #got, __FILE__, __LINE__)
#define CHECK_MEM(got, glen, want, wlen)                                                           \
    check_mem_eq((got), (glen), (want), (wlen), #got, __FILE__, __LINE__)

/* Runs every case (or only those named in argv), prints TAP, returns the exit status. */
int check_main(int argc, char **argv, const struct check_case *cases, size_t ncases);
