/* Unit tests for log/: the logfmt to JSON conversion behind log.format: json. */
#include <string.h>

#include "check.h"
#include "core/base/log.h"

static void expect_json(const char *logfmt, const char *want)
{
    char out[512];
    size_t n = log_logfmt_to_json(logfmt, out, sizeof out);
    CHECK_MEM(out, n, want, strlen(want));
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        check_failf(__FILE__, __LINE__, "got %.*s", (int)n, out);
}

static void test_plain_pairs(void)
{
    expect_json("ts=2026-01-01T00:00:00.000Z level=info event=pool_ready size=32",
                "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"level\":\"info\","
                "\"event\":\"pool_ready\",\"size\":32}");
}

static void test_quoted_values(void)
{
    expect_json("event=x msg=\"Access denied for \\\"app\\\"\" code=1045",
                "{\"event\":\"x\",\"msg\":\"Access denied for \\\"app\\\"\",\"code\":1045}");
    expect_json("n=\"42\"", "{\"n\":\"42\"}"); /* quoted stays a string */
}

static void test_numbers_and_odd_values(void)
{
    expect_json("a=-7 b=007 c=1.5 d= e", "{\"a\":-7,\"b\":\"007\",\"c\":\"1.5\",\"d\":\"\",\"e\":\"\"}");
    expect_json("ctl=\"a\tb\"", "{\"ctl\":\"a\\u0009b\"}");
    expect_json("", "{}");
}

static void test_small_buffer_stays_bounded(void)
{
    char out[24];
    size_t n = log_logfmt_to_json("key=value other=another_long_value more=1", out, sizeof out);
    CHECK(n <= sizeof out);
    CHECK(n > 0 && out[n - 1] == '}');
}

/* Text from a client cannot end a quoted value, forge a key or break the line. */
static void test_safe_text(void)
{
    char out[32];
    CHECK_STR(log_safe("app", out, sizeof out), "app");
    CHECK_STR(log_safe("a\" level=error x=\"\n\\", out, sizeof out), "a? level=error x=???");
    CHECK_STR(log_safe("caf\xc3\xa9", out, sizeof out), "caf??");
    CHECK_STR(log_safe("0123456789", out, 5), "0123");
    CHECK_STR(log_safe(NULL, out, sizeof out), "");
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_plain_pairs),
        CHECK_CASE(test_quoted_values),
        CHECK_CASE(test_numbers_and_odd_values),
        CHECK_CASE(test_small_buffer_stays_bounded),
        CHECK_CASE(test_safe_text),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
