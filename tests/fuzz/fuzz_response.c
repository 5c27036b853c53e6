/* libFuzzer target: the response parsers (response.h). Input: 8 bytes of capabilities, then
 * one payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const struct proto_bytes *b, const uint8_t *p, size_t len)
{
    if (b->len && (b->ptr < p || b->ptr + b->len > p + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t caps;
    memcpy(&caps, data, 8);
    const uint8_t *p = data + 8;
    size_t len = size - 8;

    struct proto_ok ok;
    if (proto_ok_parse(p, len, caps, &ok) == 0) {
        inside(&ok.info, p, len);
        inside(&ok.session_state, p, len);
        struct proto_rd r = proto_rd_init(ok.session_state.ptr, ok.session_state.len);
        uint8_t type;
        struct proto_bytes d;
        while (proto_session_state_next(&r, &type, &d) > 0)
            inside(&d, p, len);
        /* Dropping the state-change entries leaves a shorter OK that still parses. */
        uint8_t *copy = malloc(len ? len : 1);
        if (copy) {
            memcpy(copy, p, len);
            size_t n = proto_ok_strip_state_change(copy, len, caps);
            struct proto_ok again;
            if (n > len || (n < len && proto_ok_parse(copy, n, caps, &again) != 0))
                abort();
            free(copy);
        }
    }
    struct proto_err err;
    if (proto_err_parse(p, len, caps, &err) == 0) {
        inside(&err.message, p, len);
        if (strlen(err.sqlstate) != 5)
            abort();
    }
    struct proto_eof eof;
    (void)proto_eof_parse(p, len, caps, &eof);
    (void)proto_is_eof(p, len, caps);
    uint64_t count;
    bool meta;
    (void)proto_column_count_parse(p, len, caps, &count, &meta);
    struct proto_coldef c;
    if (proto_coldef_parse(p, len, caps, &c) == 0) {
        inside(&c.name, p, len);
        inside(&c.extended, p, len);
    }
    struct proto_prepare_ok pok;
    (void)proto_prepare_ok_parse(p, len, caps, &pok);
    struct proto_bytes name;
    if (proto_local_infile_parse(p, len, &name) == 0)
        inside(&name, p, len);
    return 0;
}
