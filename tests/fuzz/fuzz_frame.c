/* libFuzzer target: framing (packet.h) and the primitive readers (lenenc.h) over arbitrary
 * bytes. Every result must stay inside the input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/lenenc.h"
#include "protocol/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_primitives(const uint8_t *data, size_t size)
{
    struct proto_rd r = proto_rd_init(data, size);
    while (proto_rd_left(&r) > 0) {
        uint8_t kind;
        if (proto_rd_u8(&r, &kind) < 0)
            break;
        struct proto_bytes s = {0};
        uint64_t v;
        bool null;
        int rc;
        switch (kind % 5) {
        case 0:
            rc = proto_rd_lenenc(&r, &v, &null);
            break;
        case 1:
            rc = proto_rd_lenenc_str(&r, &s);
            break;
        case 2:
            rc = proto_rd_nul_str(&r, &s);
            break;
        case 3:
            rc = proto_rd_fixed(&r, (unsigned)(kind % 9), &v);
            break;
        default:
            rc = proto_rd_bytes(&r, kind, &s);
            break;
        }
        if (rc < 0)
            break;
        if (s.len && (s.ptr < data || s.ptr + s.len > data + size))
            abort();
        if (r.pos > r.len)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk_primitives(data, size);
    size_t off = 0;
    while (off < size) {
        struct proto_frame f;
        size_t need = 0;
        int rc = proto_frame_read(data + off, size - off, 1 << 20, &f, &need);
        if (rc == -EAGAIN && need == 0)
            abort(); /* "need more" must say how much */
        if (rc < 0)
            break;
        if (f.span == 0 || f.span > size - off)
            abort();
        uint8_t *joined = malloc(f.payload_len + 1);
        if (proto_frame_gather(data + off, &f, joined, f.payload_len) != 0)
            abort();
        free(joined);
        off += f.span;
    }
    return 0;
}
