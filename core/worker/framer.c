/* framer: logical packets out of receive buffers (see framer.h). */
#include "core/worker/framer.h"

#include <string.h>

#include "protocol/lenenc.h"
#include "protocol/packet.h"

void framer_reset(struct framer *fr)
{
    fr->hdr_len = 0;
    fr->left = 0;
    fr->cont = false;
    fr->in_logical = false;
    fr->logical_len = 0;
    fr->head_len = 0;
}

int framer_walk(struct framer *fr, struct rbuf *rb, framer_fn *fn, void *ctx)
{
    while (rb->scan < rb->len) {
        const uint8_t *direct = NULL; /* the whole logical packet lies in rb */
        if (fr->hdr_len < PROTO_HEADER_LEN) {
            uint32_t n = PROTO_HEADER_LEN - fr->hdr_len;
            if (n > rb->len - rb->scan)
                n = rb->len - rb->scan;
            memcpy(fr->hdr + fr->hdr_len, rb->p + rb->scan, n);
            fr->hdr_len = (uint8_t)(fr->hdr_len + n);
            rb->scan += n;
            if (fr->hdr_len < PROTO_HEADER_LEN)
                return 0;
            if (fr->renumber) /* the header's last byte is the one just taken from rb */
                fr->hdr[3] = rb->p[rb->scan - 1] = fr->next_seq++;
            struct proto_rd r = proto_rd_init(fr->hdr, PROTO_HEADER_LEN);
            uint64_t plen = 0;
            uint8_t seq = 0;
            proto_rd_fixed(&r, 3, &plen);
            proto_rd_u8(&r, &seq);
            fr->left = (uint32_t)plen;
            if (!fr->in_logical) {
                fr->in_logical = true;
                fr->logical_len = 0;
                fr->head_len = 0;
                fr->seq0 = seq;
                if (plen < PROTO_MAX_PAYLOAD && plen <= rb->len - rb->scan)
                    direct = rb->p + rb->scan;
            }
            fr->cont = plen == PROTO_MAX_PAYLOAD;
            fr->logical_len += plen;
            if (direct) {
                rb->scan += (uint32_t)plen;
                fr->left = 0;
                fr->hdr_len = 0;
                fr->in_logical = false;
                size_t hl = plen < fr->head_cap || fr->grow ? plen : fr->head_cap;
                int rc = fn(ctx, direct, hl, plen, seq);
                if (rc != 0)
                    return rc;
                continue;
            }
        }
        uint32_t n = fr->left;
        if (n > rb->len - rb->scan)
            n = rb->len - rb->scan;
        if (fr->grow && fr->head_len + n > fr->head_cap)
            fr->grow(fr, fr->head_len + n);
        if (fr->head_len < fr->head_cap) {
            uint32_t m = fr->head_cap - fr->head_len;
            if (m > n)
                m = n;
            memcpy(fr->head + fr->head_len, rb->p + rb->scan, m);
            fr->head_len += m;
        }
        rb->scan += n;
        fr->left -= n;
        if (fr->left > 0)
            return 0;
        fr->hdr_len = 0;
        if (fr->cont)
            continue;
        fr->in_logical = false;
        uint64_t len = fr->logical_len;
        size_t hl = fr->head_len;
        int rc = fn(ctx, fr->head, hl, len, fr->seq0);
        if (rc != 0)
            return rc;
    }
    return 0;
}
