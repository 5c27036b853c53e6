/* Primitives (lenenc.h) and framing (packet.h). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "protocol/lenenc.h"
#include "protocol/packet.h"

static void test_fixed_ints(void)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    struct proto_rd r = proto_rd_init(b, sizeof b);
    uint64_t v;
    CHECK_INT(proto_rd_fixed(&r, 3, &v), 0);
    CHECK_UINT(v, 0x030201);
    CHECK_INT(proto_rd_fixed(&r, 6, &v), -EBADMSG); /* only 5 left */
    CHECK_UINT(r.pos, 3);
    uint32_t u32;
    CHECK_INT(proto_rd_u32(&r, &u32), 0);
    CHECK_UINT(u32, 0x07060504);
    uint16_t u16;
    CHECK_INT(proto_rd_u16(&r, &u16), -EBADMSG);
    CHECK_INT(proto_rd_fixed(&r, 9, &v), -EINVAL);
}

/* All four forms, on both sides of each boundary, round-tripped. */
static void test_lenenc_roundtrip(void)
{
    static const uint64_t values[] = {0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000,
                                      UINT64_MAX};
    static const size_t sizes[] = {1, 1, 3, 3, 4, 4, 9, 9};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t buf[16];
        struct proto_wr w = proto_wr_init(buf, sizeof buf);
        proto_wr_lenenc(&w, values[i]);
        CHECK_UINT(w.len, sizes[i]);
        CHECK_UINT(proto_lenenc_size(values[i]), sizes[i]);
        struct proto_rd r = proto_rd_init(buf, w.len);
        uint64_t v;
        bool null = true;
        CHECK_INT(proto_rd_lenenc(&r, &v, &null), 0);
        CHECK_UINT(v, values[i]);
        CHECK(!null);
        /* Every truncation is refused and leaves the reader where it was. */
        for (size_t cut = 0; cut < w.len; cut++) {
            struct proto_rd t = proto_rd_init(buf, cut);
            CHECK_INT(proto_rd_lenenc(&t, &v, NULL), -EBADMSG);
            CHECK_UINT(t.pos, 0);
        }
    }
}

static void test_lenenc_null_and_err(void)
{
    static const uint8_t fb[] = {0xfb}, ff[] = {0xff, 0, 0};
    uint64_t v = 7;
    bool null = false;
    struct proto_rd r = proto_rd_init(fb, 1);
    CHECK_INT(proto_rd_lenenc(&r, &v, &null), 0);
    CHECK(null);
    CHECK_UINT(v, 0);
    r = proto_rd_init(fb, 1);
    CHECK_INT(proto_rd_lenenc(&r, &v, NULL), -EPROTO); /* NULL where it is not allowed */
    CHECK_UINT(r.pos, 0);
    r = proto_rd_init(ff, sizeof ff);
    CHECK_INT(proto_rd_lenenc(&r, &v, &null), -EPROTO); /* 0xff: an ERR marker */
    CHECK_UINT(r.pos, 0);
}

static void test_strings(void)
{
    static const uint8_t b[] = {3, 'a', 'b', 'c', 'n', 'u', 'l', 0, 'r', 'e', 's', 't'};
    struct proto_rd r = proto_rd_init(b, sizeof b);
    struct proto_bytes s;
    CHECK_INT(proto_rd_lenenc_str(&r, &s), 0);
    CHECK_MEM(s.ptr, s.len, "abc", 3);
    CHECK_INT(proto_rd_nul_str(&r, &s), 0);
    CHECK_MEM(s.ptr, s.len, "nul", 3);
    struct proto_rd save = r;
    CHECK_INT(proto_rd_nul_str(&r, &s), -EBADMSG); /* no NUL before the end */
    CHECK_UINT(r.pos, save.pos);
    proto_rd_eof_str(&r, &s);
    CHECK_MEM(s.ptr, s.len, "rest", 4);
    CHECK_UINT(proto_rd_left(&r), 0);

    static const uint8_t too_long[] = {5, 'a', 'b'};
    r = proto_rd_init(too_long, sizeof too_long);
    CHECK_INT(proto_rd_lenenc_str(&r, &s), -EBADMSG);
    CHECK_UINT(r.pos, 0);
    /* An 8-byte length far beyond the packet must not wrap anything. */
    static const uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'};
    r = proto_rd_init(huge, sizeof huge);
    CHECK_INT(proto_rd_lenenc_str(&r, &s), -EBADMSG);
}

static void test_writer_overflow(void)
{
    uint8_t buf[8];
    struct proto_wr w = proto_wr_init(buf, sizeof buf);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_mem(&w, "abcd", 4);
    CHECK_INT(proto_wr_packet_end(&w, start, 3), 8);
    CHECK_MEM(buf, 8, "\x04\x00\x00\x03" "abcd", 8);
    proto_wr_u8(&w, 1);
    CHECK(w.overflow);
    CHECK_UINT(w.len, 8);
    CHECK_INT(proto_wr_packet_end(&w, start, 3), -ENOSPC);
}

static void test_phys_read(void)
{
    static const uint8_t b[] = {0x03, 0x00, 0x00, 0x07, 'a', 'b', 'c', 0x00};
    struct proto_phys p;
    size_t need = 0;
    CHECK_INT(proto_phys_read(b, 2, &p, &need), -EAGAIN);
    CHECK_UINT(need, 2);
    CHECK_INT(proto_phys_read(b, 5, &p, &need), -EAGAIN);
    CHECK_UINT(need, 2);
    CHECK_INT(proto_phys_read(b, sizeof b, &p, &need), 0);
    CHECK_UINT(p.payload_len, 3);
    CHECK_UINT(p.seq, 7);
    CHECK_UINT(p.span, 7);
}

/* A 16 MiB - 1 payload continues; an empty packet after it ends the logical packet. */
static void test_frame_continuation(void)
{
    static uint8_t buf[2 * PROTO_HEADER_LEN + 2 * (size_t)PROTO_MAX_PAYLOAD + 16];
    proto_header_write(buf, PROTO_MAX_PAYLOAD, 1);
    memset(buf + PROTO_HEADER_LEN, 'x', PROTO_MAX_PAYLOAD);
    size_t off = PROTO_HEADER_LEN + PROTO_MAX_PAYLOAD;
    proto_header_write(buf + off, 5, 2);
    memcpy(buf + off + PROTO_HEADER_LEN, "tail!", 5);
    size_t total = off + PROTO_HEADER_LEN + 5;

    struct proto_frame f;
    size_t need;
    CHECK_INT(proto_frame_read(buf, total - 1, 0, &f, &need), -EAGAIN);
    CHECK_UINT(need, 1);
    CHECK_INT(proto_frame_read(buf, off + 2, 0, &f, &need), -EAGAIN);
    CHECK_UINT(need, 2);
    CHECK_INT(proto_frame_read(buf, total, 0, &f, &need), 0);
    CHECK_UINT(f.span, total);
    CHECK_UINT(f.payload_len, (uint64_t)PROTO_MAX_PAYLOAD + 5);
    CHECK_UINT(f.fragments, 2);
    CHECK_UINT(f.first_seq, 1);
    CHECK_UINT(f.last_seq, 2);
    CHECK_INT(proto_frame_read(buf, total, PROTO_MAX_PAYLOAD, &f, &need), -EMSGSIZE);

    static uint8_t joined[(size_t)PROTO_MAX_PAYLOAD + 5];
    CHECK_INT(proto_frame_gather(buf, &f, joined, sizeof joined - 1), -ENOSPC);
    CHECK_INT(proto_frame_gather(buf, &f, joined, sizeof joined), 0);
    CHECK_MEM(joined + PROTO_MAX_PAYLOAD, 5, "tail!", 5);

    /* Wrong sequence id on the continuation. */
    buf[off + 3] = 9;
    CHECK_INT(proto_frame_read(buf, total, 0, &f, &need), -EPROTO);

    /* Exactly 16 MiB - 1: needs an empty packet to end it. */
    proto_header_write(buf + off, 0, 2);
    CHECK_INT(proto_frame_read(buf, off, 0, &f, &need), -EAGAIN);
    CHECK_INT(proto_frame_read(buf, off + PROTO_HEADER_LEN, 0, &f, &need), 0);
    CHECK_UINT(f.payload_len, PROTO_MAX_PAYLOAD);
}

/* The size limit applies as soon as the header is seen, before the payload has arrived. */
static void test_frame_limit_early(void)
{
    uint8_t hdr[PROTO_HEADER_LEN];
    proto_header_write(hdr, 1000, 0);
    struct proto_frame f;
    size_t need;
    CHECK_INT(proto_frame_read(hdr, sizeof hdr, 999, &f, &need), -EMSGSIZE);
    CHECK_INT(proto_frame_read(hdr, sizeof hdr, 1000, &f, &need), -EAGAIN);
    CHECK_UINT(need, 1000);
}

static void test_seq(void)
{
    CHECK_UINT(proto_seq_next(255), 0);
    CHECK_INT(proto_seq_check(3, 3), 0);
    CHECK_INT(proto_seq_check(4, 3), -EPROTO);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_fixed_ints),       CHECK_CASE(test_lenenc_roundtrip),
        CHECK_CASE(test_lenenc_null_and_err), CHECK_CASE(test_strings),
        CHECK_CASE(test_writer_overflow),  CHECK_CASE(test_phys_read),
        CHECK_CASE(test_frame_continuation), CHECK_CASE(test_frame_limit_early),
        CHECK_CASE(test_seq),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
