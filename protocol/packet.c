/* packet: framing (see packet.h). */
#include "protocol/packet.h"

#include <errno.h>
#include <string.h>

int proto_phys_read(const uint8_t *buf, size_t len, struct proto_phys *out, size_t *need)
{
    if (len < PROTO_HEADER_LEN) {
        if (need)
            *need = PROTO_HEADER_LEN - len;
        return -EAGAIN;
    }
    uint32_t plen = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16;
    size_t span = PROTO_HEADER_LEN + (size_t)plen;
    out->payload_len = plen;
    out->seq = buf[3];
    out->span = span;
    if (len < span) {
        if (need)
            *need = span - len;
        return -EAGAIN;
    }
    return 0;
}

int proto_frame_read(const uint8_t *buf, size_t len, uint64_t max_payload,
                     struct proto_frame *out, size_t *need)
{
    struct proto_frame f = {0};
    for (;;) {
        struct proto_phys p;
        /* The header alone tells the length: check limits and sequence before waiting for
         * the payload, so an oversized packet is refused without buffering it. */
        if (len - f.span >= PROTO_HEADER_LEN) {
            const uint8_t *h = buf + f.span;
            uint64_t plen = (uint64_t)h[0] | (uint64_t)h[1] << 8 | (uint64_t)h[2] << 16;
            if (f.fragments == 0)
                f.first_seq = h[3];
            else if (h[3] != proto_seq_next(f.last_seq))
                return -EPROTO;
            if (max_payload && f.payload_len + plen > max_payload)
                return -EMSGSIZE;
        }
        int rc = proto_phys_read(buf + f.span, len - f.span, &p, need);
        if (rc < 0)
            return rc;
        f.span += p.span;
        f.payload_len += p.payload_len;
        f.last_seq = p.seq;
        f.fragments++;
        if (p.payload_len < PROTO_MAX_PAYLOAD)
            break;
    }
    *out = f;
    return 0;
}

int proto_frame_gather(const uint8_t *buf, const struct proto_frame *f, uint8_t *dst,
                       size_t dst_cap)
{
    if (f->payload_len > dst_cap)
        return -ENOSPC;
    size_t off = 0, out = 0;
    for (uint32_t i = 0; i < f->fragments; i++) {
        size_t plen = (size_t)buf[off] | (size_t)buf[off + 1] << 8 | (size_t)buf[off + 2] << 16;
        memcpy(dst + out, buf + off + PROTO_HEADER_LEN, plen);
        out += plen;
        off += PROTO_HEADER_LEN + plen;
    }
    return 0;
}

int proto_seq_check(uint8_t got, uint8_t expected)
{
    return got == expected ? 0 : -EPROTO;
}

void proto_header_write(uint8_t hdr[PROTO_HEADER_LEN], uint32_t payload_len, uint8_t seq)
{
    hdr[0] = (uint8_t)payload_len;
    hdr[1] = (uint8_t)(payload_len >> 8);
    hdr[2] = (uint8_t)(payload_len >> 16);
    hdr[3] = seq;
}
