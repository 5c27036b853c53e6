/* Unit tests for the admin endpoint's pure parts: the strict HTTP request parser, the
 * response formatter and the Prometheus text writer. */
#include <string.h>

#include "check.h"
#include "core/admin/http.h"
#include "core/admin/prom.h"

static enum http_parse parse(const char *req, struct http_request *r)
{
    return http_parse_request(req, strlen(req), r);
}

static void test_http_good_requests(void)
{
    struct http_request r;
    CHECK_INT(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &r), HTTP_OK);
    CHECK_STR(r.path, "/metrics");
    CHECK_INT(r.head, 0);
    CHECK_INT(parse("HEAD /readyz?verbose=1 HTTP/1.0\r\n\r\n", &r), HTTP_OK);
    CHECK_STR(r.path, "/readyz");
    CHECK_INT(r.head, 1);
    CHECK_INT(parse("GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), HTTP_OK);
}

static void test_http_incomplete(void)
{
    struct http_request r;
    CHECK_INT(parse("", &r), HTTP_INCOMPLETE);
    CHECK_INT(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), HTTP_INCOMPLETE);
    CHECK_INT(parse("GET /metr", &r), HTTP_INCOMPLETE);
}

static void test_http_bad_requests(void)
{
    struct http_request r;
    CHECK_INT(parse("GET\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET metrics HTTP/1.1\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET /a b HTTP/1.1\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("G(T / HTTP/1.1\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / FTP/1.1\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\n folded: x\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &r), HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
              HTTP_BAD_REQUEST);
    CHECK_INT(parse("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", &r), HTTP_BAD_REQUEST);
    char longpath[400] = "GET /";
    memset(longpath + 5, 'a', 300);
    strcpy(longpath + 305, " HTTP/1.1\r\n\r\n");
    CHECK_INT(parse(longpath, &r), HTTP_BAD_REQUEST);
}

static void test_http_other_refusals(void)
{
    struct http_request r;
    CHECK_INT(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), HTTP_BAD_METHOD);
    CHECK_INT(parse("GET / HTTP/2.0\r\n\r\n", &r), HTTP_BAD_VERSION);
    CHECK_INT(parse("GET / HTTP/1.2\r\n\r\n", &r), HTTP_BAD_VERSION);
    static char big[HTTP_MAX_REQUEST + 10];
    memcpy(big, "GET / HTTP/1.1\r\n", 16);
    memset(big + 16, 'a', sizeof big - 16);
    CHECK_INT(http_parse_request(big, sizeof big, &r), HTTP_TOO_LARGE);
}

static void test_http_response(void)
{
    char out[256];
    size_t n = http_format_response(out, sizeof out, 503, "text/plain", "down\n", 5, 0);
    const char want[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 5\r\nConnection: close\r\n\r\ndown\n";
    CHECK_MEM(out, n, want, sizeof want - 1);
    n = http_format_response(out, sizeof out, 405, "text/plain", "x", 1, 1);
    const char head[] = "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 1\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\n";
    CHECK_MEM(out, n, head, sizeof head - 1);
    CHECK_UINT(http_format_response(out, 40, 200, "text/plain", "ok", 2, 0), 0);
}

static void test_prom_text(void)
{
    char buf[512];
    struct prom_buf b = {.buf = buf, .cap = sizeof buf};
    prom_family(&b, "ringsql_queries_total", "counter", "Queries forwarded\\by command.");
    const char *const labels[] = {"command", "query", "pool", "pri\"ma\nry\\", NULL};
    prom_sample(&b, "ringsql_queries_total", labels, 42);
    prom_sample(&b, "ringsql_up", NULL, 1);
    const char want[] = "# HELP ringsql_queries_total Queries forwarded\\\\by command.\n"
                        "# TYPE ringsql_queries_total counter\n"
                        "ringsql_queries_total{command=\"query\",pool=\"pri\\\"ma\\nry\\\\\"} 42\n"
                        "ringsql_up 1\n";
    CHECK_MEM(buf, b.len, want, sizeof want - 1);
    CHECK(!b.overflow);
}

static void test_prom_overflow(void)
{
    char buf[16];
    struct prom_buf b = {.buf = buf, .cap = sizeof buf};
    prom_sample(&b, "short", NULL, 1);
    CHECK(!b.overflow);
    prom_sample(&b, "a_much_longer_metric_name", NULL, 1);
    CHECK(b.overflow);
    CHECK_STR(buf, "short 1\n");
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_http_good_requests), CHECK_CASE(test_http_incomplete),
        CHECK_CASE(test_http_bad_requests),  CHECK_CASE(test_http_other_refusals),
        CHECK_CASE(test_http_response),      CHECK_CASE(test_prom_text),
        CHECK_CASE(test_prom_overflow),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
