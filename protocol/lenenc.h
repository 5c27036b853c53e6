/* lenenc: bounds-checked readers and writers for the protocol's primitive types — fixed
 * little-endian integers, length-encoded integers and strings, NUL-terminated strings and
 * "rest of packet" strings.
 *
 * A reader (struct proto_rd) walks one payload without copying; every read checks what is
 * left first. A writer (struct proto_wr) fills a caller buffer; once a write would not fit
 * it sets `overflow` and writes nothing more, so builders check once at the end.
 *
 * Error codes used throughout protocol/:
 *   -EBADMSG   the input ends before the field does (truncated)
 *   -EPROTO    the bytes are there but say something impossible (inconsistent)
 *   -EMSGSIZE  a length is larger than the caller's or the protocol's limit (oversized)
 *   -ENOSPC    a builder's output buffer is too small
 *   -ENOTSUP   valid protocol that ringsql does not handle */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A byte range inside a packet: not NUL-terminated, valid as long as the packet is. */
struct proto_bytes {
    const uint8_t *ptr;
    size_t len;
};

struct proto_rd {
    const uint8_t *buf;
    size_t len;
    size_t pos;
};

struct proto_wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static inline struct proto_rd proto_rd_init(const uint8_t *buf, size_t len)
{
    return (struct proto_rd){.buf = buf, .len = len, .pos = 0};
}

static inline size_t proto_rd_left(const struct proto_rd *r)
{
    return r->len - r->pos;
}

static inline const uint8_t *proto_rd_ptr(const struct proto_rd *r)
{
    return r->buf + r->pos;
}

/* Fixed-width little-endian integers of 1, 2, 3, 4, 6 or 8 bytes (width in bytes). */
int proto_rd_fixed(struct proto_rd *r, unsigned width, uint64_t *out);
int proto_rd_u8(struct proto_rd *r, uint8_t *out);
int proto_rd_u16(struct proto_rd *r, uint16_t *out);
int proto_rd_u32(struct proto_rd *r, uint32_t *out);
int proto_rd_skip(struct proto_rd *r, size_t n);
/* n raw bytes, as a range into the packet. */
int proto_rd_bytes(struct proto_rd *r, size_t n, struct proto_bytes *out);

/* Length-encoded integer. 0xfb is SQL NULL in a row: when is_null is given it is set and *out
 * is 0; when is_null is NULL a 0xfb is -EPROTO (NULL is not legal there). 0xff is never a
 * lenenc integer (it starts an ERR packet): -EPROTO. */
int proto_rd_lenenc(struct proto_rd *r, uint64_t *out, bool *is_null);
/* Length-encoded string: -EBADMSG when the declared length passes the end of the packet. */
int proto_rd_lenenc_str(struct proto_rd *r, struct proto_bytes *out);
/* NUL-terminated string (the range excludes the NUL, which is consumed): -EBADMSG without NUL. */
int proto_rd_nul_str(struct proto_rd *r, struct proto_bytes *out);
/* Everything left in the packet. */
void proto_rd_eof_str(struct proto_rd *r, struct proto_bytes *out);

/* Number of bytes proto_wr_lenenc() writes for v. */
size_t proto_lenenc_size(uint64_t v);

static inline struct proto_wr proto_wr_init(uint8_t *buf, size_t cap)
{
    return (struct proto_wr){.buf = buf, .cap = cap, .len = 0, .overflow = false};
}

void proto_wr_fixed(struct proto_wr *w, unsigned width, uint64_t v);
void proto_wr_u8(struct proto_wr *w, uint8_t v);
void proto_wr_u16(struct proto_wr *w, uint16_t v);
void proto_wr_u32(struct proto_wr *w, uint32_t v);
void proto_wr_zeros(struct proto_wr *w, size_t n);
void proto_wr_mem(struct proto_wr *w, const void *p, size_t n);
void proto_wr_lenenc(struct proto_wr *w, uint64_t v);
void proto_wr_lenenc_str(struct proto_wr *w, const void *p, size_t n);
/* Writes n bytes then a NUL; p must not itself contain a NUL (not checked). */
void proto_wr_nul_str(struct proto_wr *w, const void *p, size_t n);

/* Starts a packet: reserves its 4-byte header and returns where it begins. */
size_t proto_wr_packet_begin(struct proto_wr *w);
/* Fills the header of the packet begun at start with its length and seq. Returns the whole
 * packet's length (header included), -ENOSPC on overflow, -EMSGSIZE when the payload does not
 * fit one physical packet (ringsql only builds small packets). */
ssize_t proto_wr_packet_end(struct proto_wr *w, size_t start, uint8_t seq);
