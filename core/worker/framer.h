/* framer: cuts a byte stream of MySQL packets, as it arrives in receive buffers, into logical
 * packets (16 MiB - 1 fragments joined), keeping the first bytes of each (its head) for whoever
 * decides what to do with it. It copies no payload except into the head; the bytes stay in
 * the buffer, to be forwarded from there. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A received buffer from the provided-buffer ring, on its way to the other side. */
struct rbuf {
    uint8_t *p;
    uint32_t len;  /* bytes received */
    uint32_t scan; /* bytes the framer has looked at */
    uint32_t sent; /* bytes already forwarded (or dropped) */
    uint16_t bid;
    bool held;
};

/* Where a stream of packets is: the physical packet being read and the logical packet
 * (several physical ones when 16 MiB - 1 long) it belongs to. */
struct framer {
    uint8_t hdr[4];
    uint8_t hdr_len; /* header bytes seen of the current physical packet */
    uint32_t left;   /* payload bytes of the current physical packet still to come */
    bool cont;       /* the current logical packet goes on in the next physical one */
    bool in_logical; /* inside a logical packet (some fragment seen) */
    uint8_t seq0;    /* the sequence id of its first fragment */
    /* The compressed protocol: a client numbers every packet 0 inside its compressed ones
     * (libmariadb, as the server ignores those ids then); the framer writes next_seq, then
     * next_seq + 1..., into each physical packet's header, in the buffer, for a backend that
     * reads them uncompressed. The session sets next_seq where a numbering starts. */
    bool renumber;
    uint8_t next_seq;
    uint64_t logical_len;
    uint8_t *head; /* first bytes of the current logical packet */
    uint32_t head_cap;
    uint32_t head_len;
    /* Set where whole packets are wanted (a login): a packet that lies whole in the receive
     * buffer is handed over whole, and grow(fr, need) is called before the head would
     * overflow; it may give the framer a head of at least need bytes, or leave it. */
    void (*grow)(struct framer *fr, uint32_t need);
};

/* Walks the packets in rb from rb->scan. For each complete logical packet calls fn with its
 * head (at most head_cap bytes, the full payload when it fits) and logical length; fn
 * returns 0 to go on, 1 to stop after this packet (rb->scan then points just past it), or
 * a negative errno. Returns 0 when rb is exhausted, 1 when fn stopped, or fn's error. */
typedef int framer_fn(void *ctx, const uint8_t *head, size_t head_len, uint64_t logical_len,
                      uint8_t seq);
int framer_walk(struct framer *fr, struct rbuf *rb, framer_fn *fn, void *ctx);
void framer_reset(struct framer *fr);

/* True between packets: no byte of the next one seen yet. */
static inline bool framer_between_packets(const struct framer *fr)
{
    return !fr->in_logical && fr->hdr_len == 0;
}
