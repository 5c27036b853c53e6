#include "core/admin/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 token characters, for the method and header names. */
static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

static enum http_parse parse_request_line(const char *p, const char *eol, struct http_request *out)
{
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p)
        return HTTP_BAD_REQUEST;
    for (const char *c = p; c < sp1; c++)
        if (!is_tchar(*c))
            return HTTP_BAD_REQUEST;
    size_t mlen = (size_t)(sp1 - p);
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
    if (!sp2 || sp2 == target || target[0] != '/')
        return HTTP_BAD_REQUEST;
    for (const char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return HTTP_BAD_REQUEST;
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(eol - version);
    if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0)
        return vlen >= 5 && memcmp(version, "HTTP/", 5) == 0 ? HTTP_BAD_VERSION : HTTP_BAD_REQUEST;
    if (version[7] != '0' && version[7] != '1')
        return HTTP_BAD_VERSION;

    const char *query = memchr(target, '?', (size_t)(sp2 - target));
    size_t plen = (size_t)((query ? query : sp2) - target);
    if (plen >= sizeof out->path)
        return HTTP_BAD_REQUEST;
    memcpy(out->path, target, plen);
    out->path[plen] = '\0';
    if (mlen == 3 && memcmp(p, "GET", 3) == 0)
        out->head = 0;
    else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0)
        out->head = 1;
    else
        return HTTP_BAD_METHOD;
    return HTTP_OK;
}

/* "name: value" with a token name; obsolete line folding and bodies are refused. */
static int header_ok(const char *p, const char *eol)
{
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (!colon || colon == p)
        return 0;
    for (const char *c = p; c < colon; c++)
        if (!is_tchar(*c))
            return 0;
    for (const char *c = colon + 1; c < eol; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return 0;
    size_t nlen = (size_t)(colon - p);
    /* GET/HEAD carry no body here: a request that announces one is refused. */
    if ((nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0 &&
         !(eol - colon == 3 && colon[2] == '0')) ||
        (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0))
        return 0;
    return 1;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *out)
{
    const char *end = buf + (len > HTTP_MAX_REQUEST ? HTTP_MAX_REQUEST : len);
    const char *eol = find_crlf(buf, end);
    if (!eol)
        return len >= HTTP_MAX_REQUEST ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
    enum http_parse rc = parse_request_line(buf, eol, out);
    if (rc != HTTP_OK)
        return rc;
    for (const char *p = eol + 2;; p = eol + 2) {
        eol = find_crlf(p, end);
        if (!eol)
            return len >= HTTP_MAX_REQUEST ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
        if (eol == p)
            return HTTP_OK; /* the blank line */
        if (*p == ' ' || *p == '\t' || !header_ok(p, eol))
            return HTTP_BAD_REQUEST;
    }
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

size_t http_format_response(char *out, size_t cap, int status, const char *content_type,
                            const char *body, size_t body_len, int head)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, http_reason(status), content_type, body_len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (n < 0 || (size_t)n >= cap)
        return 0;
    size_t total = (size_t)n + (head ? 0 : body_len);
    if (total > cap)
        return 0;
    if (!head)
        memcpy(out + n, body, body_len);
    return total;
}
