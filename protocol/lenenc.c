/* lenenc: primitive readers and writers (see lenenc.h). */
#include "protocol/lenenc.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"

int proto_rd_fixed(struct proto_rd *r, unsigned width, uint64_t *out)
{
    if (width == 0 || width > 8)
        return -EINVAL;
    if (proto_rd_left(r) < width)
        return -EBADMSG;
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
    r->pos += width;
    *out = v;
    return 0;
}

int proto_rd_u8(struct proto_rd *r, uint8_t *out)
{
    if (proto_rd_left(r) < 1)
        return -EBADMSG;
    *out = r->buf[r->pos++];
    return 0;
}

int proto_rd_u16(struct proto_rd *r, uint16_t *out)
{
    uint64_t v;
    int rc = proto_rd_fixed(r, 2, &v);
    if (rc == 0)
        *out = (uint16_t)v;
    return rc;
}

int proto_rd_u32(struct proto_rd *r, uint32_t *out)
{
    uint64_t v;
    int rc = proto_rd_fixed(r, 4, &v);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int proto_rd_skip(struct proto_rd *r, size_t n)
{
    if (proto_rd_left(r) < n)
        return -EBADMSG;
    r->pos += n;
    return 0;
}

int proto_rd_bytes(struct proto_rd *r, size_t n, struct proto_bytes *out)
{
    if (proto_rd_left(r) < n)
        return -EBADMSG;
    out->ptr = r->buf + r->pos;
    out->len = n;
    r->pos += n;
    return 0;
}

int proto_rd_lenenc(struct proto_rd *r, uint64_t *out, bool *is_null)
{
    uint8_t first;
    int rc = proto_rd_u8(r, &first);
    if (rc < 0)
        return rc;
    if (is_null)
        *is_null = false;
    if (first < 0xfb) {
        *out = first;
        return 0;
    }
    unsigned width;
    switch (first) {
    case 0xfb:
        if (!is_null)
            goto reject;
        *is_null = true;
        *out = 0;
        return 0;
    case 0xfc:
        width = 2;
        break;
    case 0xfd:
        width = 3;
        break;
    case 0xfe:
        width = 8;
        break;
    default: /* 0xff: an ERR packet's marker, never an integer */
        goto reject;
    }
    rc = proto_rd_fixed(r, width, out);
    if (rc < 0)
        r->pos--; /* leave the reader where it was on failure */
    return rc;
reject:
    r->pos--;
    return -EPROTO;
}

int proto_rd_lenenc_str(struct proto_rd *r, struct proto_bytes *out)
{
    size_t start = r->pos;
    uint64_t n;
    int rc = proto_rd_lenenc(r, &n, NULL);
    if (rc < 0)
        return rc;
    /* Compare as uint64_t before narrowing: n comes off the wire. */
    if (n > (uint64_t)proto_rd_left(r)) {
        r->pos = start;
        return -EBADMSG;
    }
    return proto_rd_bytes(r, (size_t)n, out);
}

int proto_rd_nul_str(struct proto_rd *r, struct proto_bytes *out)
{
    const uint8_t *p = proto_rd_ptr(r);
    const uint8_t *nul = memchr(p, 0, proto_rd_left(r));
    if (!nul)
        return -EBADMSG;
    out->ptr = p;
    out->len = (size_t)(nul - p);
    r->pos += out->len + 1;
    return 0;
}

void proto_rd_eof_str(struct proto_rd *r, struct proto_bytes *out)
{
    out->ptr = proto_rd_ptr(r);
    out->len = proto_rd_left(r);
    r->pos = r->len;
}

size_t proto_lenenc_size(uint64_t v)
{
    if (v < 0xfb)
        return 1;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffff)
        return 4;
    return 9;
}

/* True when n more bytes fit; otherwise marks the writer overflowed. */
static bool wr_room(struct proto_wr *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return false;
    }
    return true;
}

void proto_wr_fixed(struct proto_wr *w, unsigned width, uint64_t v)
{
    if (width > 8 || !wr_room(w, width))
        return;
    for (unsigned i = 0; i < width; i++)
        w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

void proto_wr_u8(struct proto_wr *w, uint8_t v)
{
    proto_wr_fixed(w, 1, v);
}

void proto_wr_u16(struct proto_wr *w, uint16_t v)
{
    proto_wr_fixed(w, 2, v);
}

void proto_wr_u32(struct proto_wr *w, uint32_t v)
{
    proto_wr_fixed(w, 4, v);
}

void proto_wr_zeros(struct proto_wr *w, size_t n)
{
    if (!wr_room(w, n))
        return;
    memset(w->buf + w->len, 0, n);
    w->len += n;
}

void proto_wr_mem(struct proto_wr *w, const void *p, size_t n)
{
    if (n == 0 || !wr_room(w, n))
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void proto_wr_lenenc(struct proto_wr *w, uint64_t v)
{
    if (v < 0xfb) {
        proto_wr_u8(w, (uint8_t)v);
    } else if (v <= 0xffff) {
        proto_wr_u8(w, 0xfc);
        proto_wr_fixed(w, 2, v);
    } else if (v <= 0xffffff) {
        proto_wr_u8(w, 0xfd);
        proto_wr_fixed(w, 3, v);
    } else {
        proto_wr_u8(w, 0xfe);
        proto_wr_fixed(w, 8, v);
    }
}

void proto_wr_lenenc_str(struct proto_wr *w, const void *p, size_t n)
{
    proto_wr_lenenc(w, n);
    proto_wr_mem(w, p, n);
}

void proto_wr_nul_str(struct proto_wr *w, const void *p, size_t n)
{
    proto_wr_mem(w, p, n);
    proto_wr_u8(w, 0);
}

size_t proto_wr_packet_begin(struct proto_wr *w)
{
    size_t start = w->len;
    proto_wr_zeros(w, PROTO_HEADER_LEN);
    return start;
}

ssize_t proto_wr_packet_end(struct proto_wr *w, size_t start, uint8_t seq)
{
    if (w->overflow)
        return -ENOSPC;
    size_t payload = w->len - start - PROTO_HEADER_LEN;
    if (payload >= PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    w->buf[start] = (uint8_t)payload;
    w->buf[start + 1] = (uint8_t)(payload >> 8);
    w->buf[start + 2] = (uint8_t)(payload >> 16);
    w->buf[start + 3] = seq;
    return (ssize_t)(w->len - start);
}
