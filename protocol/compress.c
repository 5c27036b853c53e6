/* compress: compressed packets to and from bytes (see compress.h), with zlib. */
#include "protocol/compress.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

static size_t le24(const uint8_t *p)
{
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16;
}

static void put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
}

int proto_zpacket_peek(const uint8_t *in, size_t len, size_t *plain_len, size_t *span)
{
    if (len < PROTO_ZHEADER_LEN)
        return 0;
    size_t zlen = le24(in), ulen = le24(in + 4);
    /* Stored: the payload is the plain bytes. Deflated: zlib expands at most 1032:1. */
    if (ulen != 0 && (zlen == 0 || ulen / 1032 > zlen))
        return -EPROTO;
    *plain_len = ulen ? ulen : zlen;
    *span = PROTO_ZHEADER_LEN + zlen;
    return len >= *span ? 1 : 0;
}

ssize_t proto_zpacket_decode(const uint8_t *in, size_t span, uint8_t *out, size_t plain_len,
                             uint8_t *seq)
{
    size_t zlen = span - PROTO_ZHEADER_LEN;
    *seq = in[3];
    if (le24(in + 4) == 0) {
        if (plain_len < zlen)
            return -EPROTO;
        memcpy(out, in + PROTO_ZHEADER_LEN, zlen);
        return (ssize_t)zlen;
    }
    uLongf got = (uLongf)plain_len;
    if (uncompress(out, &got, in + PROTO_ZHEADER_LEN, (uLong)zlen) != Z_OK || got != plain_len)
        return -EPROTO;
    return (ssize_t)got;
}

size_t proto_zpacket_bound(size_t len)
{
    return PROTO_ZHEADER_LEN + (len < PROTO_ZMIN_DEFLATE ? len : compressBound((uLong)len));
}

size_t proto_zpacket_encode(const uint8_t *in, size_t len, uint8_t seq, uint8_t *out)
{
    out[3] = seq;
    if (len >= PROTO_ZMIN_DEFLATE) {
        uLongf zlen = compressBound((uLong)len);
        /* Level 1: a proxy's CPU is the scarce part; a result set deflates well even so. */
        if (compress2(out + PROTO_ZHEADER_LEN, &zlen, in, (uLong)len, 1) == Z_OK && zlen < len) {
            put24(out, zlen);
            put24(out + 4, len);
            return PROTO_ZHEADER_LEN + zlen;
        }
    }
    put24(out, len);
    put24(out + 4, 0);
    memcpy(out + PROTO_ZHEADER_LEN, in, len);
    return PROTO_ZHEADER_LEN + len;
}
