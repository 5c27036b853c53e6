/* libFuzzer target: a response rewritten into another layout (protocol/xlat.h), as a session
 * does it: tracker, xlat and the prepared statements' definitions (core/stmt_meta). Input:
 * the backend's and the client's capabilities (8 bytes each), a piece size (1 byte), a command
 * (one physical packet), then the server's byte stream, fed piece bytes at a time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn/stmt_meta.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/tracker.h"
#include "protocol/xlat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { STASH_CAP = 512, OUT_CAP = 4096 + 64 * 1024 / 3 * 4 };

struct state {
    struct proto_tracker t;
    struct stmt_meta_cache meta;
    uint64_t from, to;
    uint32_t exec_stmt;
};

struct put_ctx {
    struct proto_xlat *x;
    struct proto_xlat_io *io;
};

static int put_def(void *ctx, const uint8_t *p, size_t len)
{
    struct put_ctx *c = ctx;
    return proto_xlat_put(c->x, c->io, p, len);
}

static int on_packet(void *ctx, struct proto_xlat *x, struct proto_xlat_io *io,
                     const uint8_t *p, size_t len, bool whole)
{
    struct state *st = ctx;
    int v = proto_tracker_feed(&st->t, p, len);
    if (v < 0)
        return v;
    if (!whole)
        return v == PROTO_TRACK_MORE && st->t.kind == PROTO_PKT_OTHER ? 0 : -1;
    bool skipped;
    struct proto_bytes sent;
    int rc = proto_xlat_forward(x, io, st->t.kind, p, len, st->from, st->to, &skipped, &sent);
    if (rc == 0)
        rc = stmt_meta_observe(&st->meta, &st->t, st->exec_stmt, sent.ptr, sent.len, skipped,
                               v != PROTO_TRACK_MORE, put_def, &(struct put_ctx){x, io});
    if (rc < 0)
        return rc;
    return v == PROTO_TRACK_MORE ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 17)
        return 0;
    static struct state st;
    static uint8_t stash[STASH_CAP], out[OUT_CAP];
    memset(&st, 0, sizeof st);
    memcpy(&st.from, data, 8);
    memcpy(&st.to, data + 8, 8);
    if (proto_xlat_supported(st.from, st.to) < 0)
        return 0;
    size_t piece = (size_t)data[16] + 1, off = 17;
    struct proto_phys ph;
    if (proto_phys_read(data + off, size - off, &ph, NULL) < 0 || ph.payload_len == 0)
        return 0;
    const uint8_t *cmd = data + off + PROTO_HEADER_LEN;
    proto_tracker_init(&st.t, PROTO_SERVER_STATUS_AUTOCOMMIT);
    if (proto_tracker_begin_packet(&st.t, cmd, ph.payload_len, st.from) != PROTO_TRACK_MORE)
        return 0;
    if (ph.payload_len >= 5)
        memcpy(&st.exec_stmt, cmd + 1, 4);
    off += ph.span;
    struct proto_xlat x = {.stash = stash, .stash_cap = STASH_CAP, .reserve = 0};
    proto_xlat_begin(&x, 1);
    struct proto_xlat_io io = {.out = out, .out_cap = OUT_CAP};
    while (off < size) {
        size_t k = size - off < piece ? size - off : piece;
        io.in = data + off;
        io.in_len = k;
        io.in_used = 0;
        int rc = proto_xlat_walk(&x, &io, on_packet, &st);
        if (io.in_used > k || io.out_len > io.out_cap)
            abort();
        off += io.in_used;
        if (rc == PROTO_XLAT_FULL)
            io.out_len = 0; /* sent */
        else if (rc != PROTO_XLAT_NEED_INPUT)
            break;
    }
    stmt_meta_clear(&st.meta);
    return 0;
}
