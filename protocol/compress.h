/* compress: the compressed protocol (CLIENT_COMPRESS), as bytes. After the login, every
 * packet in either direction travels inside compressed packets: a 7-byte header (the
 * compressed payload's length, 3 bytes; a sequence id of its own; the uncompressed length, 3
 * bytes, 0 when the payload is stored as it is) and a zlib stream. A compressed packet may
 * hold several MySQL packets or part of one. Pure functions over buffers. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    PROTO_ZHEADER_LEN = 7,
    PROTO_ZMAX_PAYLOAD = 0xffffff, /* either length field's largest value */
    PROTO_ZMIN_DEFLATE = 50,       /* shorter payloads are stored (as MariaDB does) */
};

/* The first compressed packet of in[0..len): its uncompressed length in *plain_len (what
 * proto_zpacket_decode will write) and its whole length (header included) in *span. 1 when it
 * is all there, 0 when more is needed, -EPROTO when the header is impossible. */
int proto_zpacket_peek(const uint8_t *in, size_t len, size_t *plain_len, size_t *span);

/* Decodes the compressed packet at in (whole: proto_zpacket_peek said 1) into out, which holds
 * at least its plain_len bytes; its sequence id in *seq. The number of bytes written, or
 * -EPROTO (zlib data that is not the length the header says). */
ssize_t proto_zpacket_decode(const uint8_t *in, size_t span, uint8_t *out, size_t plain_len,
                             uint8_t *seq);

/* The most bytes proto_zpacket_encode writes for len bytes (len <= PROTO_ZMAX_PAYLOAD). */
size_t proto_zpacket_bound(size_t len);

/* One compressed packet of seq holding in[0..len) (len <= PROTO_ZMAX_PAYLOAD): deflated when
 * that makes it shorter, else stored. Writes at most proto_zpacket_bound(len) bytes to out;
 * returns how many. */
size_t proto_zpacket_encode(const uint8_t *in, size_t len, uint8_t seq, uint8_t *out);
