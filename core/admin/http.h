/* http: the strict, tiny HTTP/1.x subset the admin endpoint speaks (GET and HEAD of a path,
 * one request per connection). Pure functions over buffers; the caller does the I/O. */
#pragma once

#include <stddef.h>

#define HTTP_MAX_REQUEST 8192 /* request line + headers; more is 431 */

enum http_parse {
    HTTP_INCOMPLETE,  /* no blank line yet: read more */
    HTTP_OK,          /* a well-formed GET or HEAD */
    HTTP_BAD_REQUEST, /* 400 */
    HTTP_BAD_METHOD,  /* 405 */
    HTTP_TOO_LARGE,   /* 431 */
    HTTP_BAD_VERSION, /* 505 */
};

struct http_request {
    char path[256]; /* without the query string */
    int head;       /* HEAD: headers only */
};

/* Parses buf[0..len) (which need not be NUL-terminated). */
enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *out);

/* Writes a complete response (status line, Content-Type, Content-Length, Connection: close,
 * blank line, body unless head) into out. Returns its length, or 0 if it does not fit. */
size_t http_format_response(char *out, size_t cap, int status, const char *content_type,
                            const char *body, size_t body_len, int head);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *http_reason(int status);
