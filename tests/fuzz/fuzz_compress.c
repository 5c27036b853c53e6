/* libFuzzer target: protocol/compress.h over arbitrary bytes received as compressed packets.
 * Every packet peek says is whole decodes into at most the length it announced or is refused;
 * and any input, encoded as one packet, peeks whole and decodes back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    size_t off = 0;
    while (off < size) {
        size_t plain, span;
        int whole = proto_zpacket_peek(data + off, size - off, &plain, &span);
        if (whole <= 0)
            break;
        if (span > size - off)
            abort();
        /* Bounded by the header's own check: at most 1032 times the compressed length. */
        uint8_t *out = malloc(plain ? plain : 1), seq;
        if (!out)
            abort();
        ssize_t n = proto_zpacket_decode(data + off, span, out, plain, &seq);
        if (n >= 0 && (size_t)n != plain)
            abort();
        free(out);
        off += span;
    }
    uint8_t *enc = malloc(proto_zpacket_bound(size)), *back = malloc(size ? size : 1), seq;
    if (!enc || !back)
        abort();
    size_t n = proto_zpacket_encode(data, size, 7, enc), plain, span;
    if (n > proto_zpacket_bound(size) || proto_zpacket_peek(enc, n, &plain, &span) != 1 ||
        span != n || plain != size ||
        proto_zpacket_decode(enc, span, back, plain, &seq) != (ssize_t)size || seq != 7 ||
        (size && memcmp(back, data, size) != 0))
        abort();
    free(enc);
    free(back);
    return 0;
}
