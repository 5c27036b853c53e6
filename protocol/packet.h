/* packet: framing. Every MySQL packet is a 3-byte little-endian payload length, a 1-byte
 * sequence id and the payload. A payload of 16 MiB - 1 (PROTO_MAX_PAYLOAD) or more is sent
 * as several physical packets: each full one (exactly PROTO_MAX_PAYLOAD bytes) is continued
 * by the next, and the first shorter one (possibly empty) ends the logical packet.
 *
 * The readers look at a byte buffer (what has been received so far) and say whether a
 * complete packet is there, without copying and without consuming anything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/constants.h"

/* One physical packet at the start of a buffer. */
struct proto_phys {
    uint32_t payload_len; /* 0 .. PROTO_MAX_PAYLOAD */
    uint8_t seq;
    size_t span;          /* header + payload: where the next packet starts */
};

/* Reads the physical packet at buf[0]. Returns 0 when it is complete in buf; -EAGAIN when more
 * bytes are needed, with *need (if given) set to how many more at least (the header first,
 * then the rest of the payload). */
int proto_phys_read(const uint8_t *buf, size_t len, struct proto_phys *out, size_t *need);

/* A logical packet: one or more physical packets joined by continuation. */
struct proto_frame {
    size_t span;          /* bytes from buf[0] to the end of its last physical packet */
    uint64_t payload_len; /* sum of the fragments' payloads */
    uint8_t first_seq;
    uint8_t last_seq;     /* the next packet in this exchange must carry last_seq + 1 */
    uint32_t fragments;
};

/* Reads the logical packet at buf[0]. Returns 0 when all its fragments are in buf;
 * -EAGAIN (with *need as above) when more bytes are needed; -EMSGSIZE as soon as the payload
 * seen so far exceeds max_payload (0: no limit beyond memory); -EPROTO when a continuation's
 * sequence id does not follow the previous one. */
int proto_frame_read(const uint8_t *buf, size_t len, uint64_t max_payload,
                     struct proto_frame *out, size_t *need);

/* Copies the payload of a complete logical packet (as read by proto_frame_read) into dst,
 * dropping the headers between fragments. Returns 0 or -ENOSPC when dst_cap is too small. */
int proto_frame_gather(const uint8_t *buf, const struct proto_frame *f, uint8_t *dst,
                       size_t dst_cap);

/* Sequence ids wrap from 255 to 0. */
static inline uint8_t proto_seq_next(uint8_t seq)
{
    return (uint8_t)(seq + 1);
}

/* Checks a packet's sequence id against the one the exchange expects: -EPROTO if wrong. */
int proto_seq_check(uint8_t got, uint8_t expected);

/* Writes a 4-byte header for payload_len (< PROTO_MAX_PAYLOAD + 1) and seq into hdr. */
void proto_header_write(uint8_t hdr[PROTO_HEADER_LEN], uint32_t payload_len, uint8_t seq);
