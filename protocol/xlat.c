/* xlat: a backend's responses rewritten into the layout the client negotiated (see xlat.h). */
#include "protocol/xlat.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "protocol/tracker.h"

/* The first bytes of a large packet the callback classifies it by: enough to tell a row from
 * an EOF (shorter than 9 bytes) or an ERR. */
enum { BIG_HEAD = 64 };

int proto_xlat_supported(uint64_t from, uint64_t to)
{
    uint64_t diff = (from ^ to) & PROTO_XLAT_LAYOUT;
    if ((diff & from & ~(uint64_t)PROTO_XLAT_DOWN) || (diff & to & ~(uint64_t)PROTO_XLAT_UP))
        return -ENOTSUP;
    return 0;
}

/* An OK for the client: header 0x00 (or 0xfe where it ends rows), its layout. */
static int write_ok(uint8_t header, const struct proto_ok *ok, uint64_t to, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    struct proto_ok o = *ok;
    struct proto_wr w = proto_wr_init(out, cap);
    if (to & PROTO_CLIENT_SESSION_TRACK) {
        proto_ok_payload(&w, header, to, &o);
    } else {
        /* As MariaDB writes it for such a client: the info, when there is one, still
         * length-encoded; no session state. */
        o.status &= (uint16_t)~PROTO_SERVER_SESSION_STATE_CHANGED;
        o.info.len = 0;
        proto_ok_payload(&w, header, to, &o);
        if (ok->info.len > 0)
            proto_wr_lenenc_str(&w, ok->info.ptr, ok->info.len);
    }
    if (w.overflow)
        return -ENOSPC;
    *out_len = w.len;
    return PROTO_XLAT_REWRITE;
}

static int rewrite_ok(const uint8_t *p, size_t len, uint64_t from, uint64_t to, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    if (!((from & ~to) & PROTO_CLIENT_SESSION_TRACK))
        return PROTO_XLAT_KEEP;
    struct proto_ok ok;
    int rc = proto_ok_parse(p, len, from, &ok);
    return rc < 0 ? rc : write_ok(PROTO_HDR_OK, &ok, to, out, cap, out_len);
}

/* An EOF the client (DEPRECATE_EOF) reads as an OK with the 0xfe header. */
static int eof_to_ok(const uint8_t *p, size_t len, uint64_t from, uint64_t to, uint8_t *out,
                     size_t cap, size_t *out_len)
{
    struct proto_eof eof;
    int rc = proto_eof_parse(p, len, from, &eof);
    if (rc < 0)
        return rc;
    struct proto_ok ok = {.status = eof.status, .warnings = eof.warnings};
    ok.status &= (uint16_t)~PROTO_SERVER_SESSION_STATE_CHANGED; /* an EOF carries no state */
    return write_ok(PROTO_HDR_EOF, &ok, to, out, cap, out_len);
}

/* A column definition without MariaDB's extended type field. */
static int strip_extended(const uint8_t *p, size_t len, uint64_t from, uint64_t to, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    if (!((from & ~to) & PROTO_MARIADB_CLIENT_EXTENDED_METADATA))
        return PROTO_XLAT_KEEP;
    struct proto_coldef c;
    int rc = proto_coldef_parse(p, len, from, &c);
    if (rc < 0)
        return rc;
    /* The extended field sits right after org_name: cut [its length byte(s), its end). */
    size_t start = (size_t)(c.org_name.ptr + c.org_name.len - p);
    size_t end = (size_t)(c.extended.ptr + c.extended.len - p);
    if (c.extended.ptr == NULL)
        end = start + 1; /* an empty string: its one length byte */
    if (end > len || start > end || len - (end - start) > cap)
        return -ENOSPC;
    memcpy(out, p, start);
    memcpy(out + start, p + end, len - end);
    *out_len = len - (end - start);
    return PROTO_XLAT_REWRITE;
}

/* A column count without the "metadata follows" byte. */
static int strip_meta_flag(const uint8_t *p, size_t len, uint64_t from, uint64_t to,
                           uint8_t *out, size_t cap, size_t *out_len, bool *meta_skipped)
{
    uint64_t count;
    bool follows;
    int rc = proto_column_count_parse(p, len, from, &count, &follows);
    if (rc < 0)
        return rc;
    if (!((from & ~to) & PROTO_MARIADB_CLIENT_CACHE_METADATA))
        return PROTO_XLAT_KEEP;
    *meta_skipped = !follows;
    if (len - 1 > cap)
        return -ENOSPC;
    memcpy(out, p, len - 1);
    *out_len = len - 1;
    return PROTO_XLAT_REWRITE;
}

int proto_xlat_rewrite(uint8_t kind, const uint8_t *p, size_t len, uint64_t from, uint64_t to,
                       uint8_t *out, size_t cap, size_t *out_len, bool *meta_skipped)
{
    bool deprecate_eof = (to & ~from) & PROTO_CLIENT_DEPRECATE_EOF;
    *meta_skipped = false;
    switch ((enum proto_pkt_kind)kind) {
    case PROTO_PKT_OK:
        return rewrite_ok(p, len, from, to, out, cap, out_len);
    case PROTO_PKT_PROGRESS:
        return (to & PROTO_MARIADB_CLIENT_PROGRESS) ? PROTO_XLAT_KEEP : PROTO_XLAT_DROP;
    case PROTO_PKT_COLCOUNT:
        return strip_meta_flag(p, len, from, to, out, cap, out_len, meta_skipped);
    case PROTO_PKT_COLDEF:
    case PROTO_PKT_FIELD:
    case PROTO_PKT_PARAMDEF:
    case PROTO_PKT_PREP_COLDEF:
        return strip_extended(p, len, from, to, out, cap, out_len);
    case PROTO_PKT_EOF_MID:
        return deprecate_eof ? PROTO_XLAT_DROP : PROTO_XLAT_KEEP;
    case PROTO_PKT_EOF_CURSOR:
    case PROTO_PKT_EOF_END:
        return deprecate_eof ? eof_to_ok(p, len, from, to, out, cap, out_len) : PROTO_XLAT_KEEP;
    case PROTO_PKT_OTHER:
    case PROTO_PKT_ERR:
    case PROTO_PKT_PREPARE_OK:
        return PROTO_XLAT_KEEP;
    }
    return -EINVAL;
}

/* ---------- the stream ---------- */

void proto_xlat_begin(struct proto_xlat *x, uint8_t seq)
{
    x->seq = seq;
    x->hdr_len = 0;
    x->got = 0;
    x->big = x->big_seen = x->cont = x->cont_next = false;
}

static size_t room(const struct proto_xlat_io *io)
{
    return io->out_cap - io->out_len;
}

static void put_header(struct proto_xlat *x, struct proto_xlat_io *io, size_t len)
{
    uint8_t *h = io->out + io->out_len;
    h[0] = (uint8_t)len;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)(len >> 16);
    h[3] = x->seq++;
    io->out_len += PROTO_HEADER_LEN;
}

int proto_xlat_put(struct proto_xlat *x, struct proto_xlat_io *io, const uint8_t *payload,
                   size_t len)
{
    if (len >= PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (io->out_cap - io->out_len < len + PROTO_HEADER_LEN)
        return -ENOSPC;
    put_header(x, io, len);
    memcpy(io->out + io->out_len, payload, len);
    io->out_len += len;
    return 0;
}


int proto_xlat_forward(struct proto_xlat *x, struct proto_xlat_io *io, uint8_t kind,
                       const uint8_t *p, size_t len, uint64_t from, uint64_t to,
                       bool *meta_skipped, struct proto_bytes *as_sent)
{
    *as_sent = (struct proto_bytes){NULL, 0};
    if (len >= PROTO_MAX_PAYLOAD || room(io) < len + PROTO_XLAT_GROWTH + PROTO_HEADER_LEN)
        return -ENOSPC;
    /* The client's payload is written in place, behind the header it gets once its length
     * is known. */
    uint8_t *dst = io->out + io->out_len + PROTO_HEADER_LEN;
    size_t n = 0;
    int a = proto_xlat_rewrite(kind, p, len, from, to, dst, room(io) - PROTO_HEADER_LEN, &n,
                               meta_skipped);
    if (a < 0 || a == PROTO_XLAT_DROP)
        return a < 0 ? a : 0;
    if (a == PROTO_XLAT_KEEP) {
        memmove(dst, p, len);
        n = len;
    }
    put_header(x, io, n);
    io->out_len += n;
    *as_sent = (struct proto_bytes){dst, n};
    return 0;
}

static size_t avail(const struct proto_xlat_io *io)
{
    return io->in_len - io->in_used;
}

/* Collects up to want bytes of the current packet's payload into the stash. */
static bool stash_up_to(struct proto_xlat *x, struct proto_xlat_io *io, size_t want)
{
    size_t n = want - x->got;
    if (n > avail(io))
        n = avail(io);
    memcpy(x->stash + x->got, io->in + io->in_used, n);
    io->in_used += n;
    x->got += (uint32_t)n;
    return x->got == want;
}

/* A packet small enough to hold whole: handed to the callback once complete. */
static int walk_small(struct proto_xlat *x, struct proto_xlat_io *io, proto_xlat_fn *fn,
                      void *ctx)
{
    const uint8_t *payload = x->stash;
    bool direct = x->got == 0 && avail(io) >= x->plen;
    if (direct)
        payload = io->in + io->in_used;
    else if (!stash_up_to(x, io, x->plen))
        return PROTO_XLAT_NEED_INPUT;
    if (room(io) < (size_t)x->plen + PROTO_XLAT_GROWTH + 2 * PROTO_HEADER_LEN + x->reserve)
        return io->out_len == 0 ? -EMSGSIZE : PROTO_XLAT_FULL;
    int rc = fn(ctx, x, io, payload, x->plen, true);
    if (direct)
        io->in_used += x->plen;
    x->hdr_len = 0;
    x->got = 0;
    return rc;
}

/* A packet larger than the stash (a row): its first bytes to the callback, then passed on as
 * it arrives under its new sequence id. */
static int walk_big(struct proto_xlat *x, struct proto_xlat_io *io, proto_xlat_fn *fn, void *ctx)
{
    if (!x->big_seen) {
        size_t head = x->cont ? 0 : BIG_HEAD;
        if (head > 0 && !stash_up_to(x, io, head))
            return PROTO_XLAT_NEED_INPUT;
        if (room(io) < PROTO_HEADER_LEN + head)
            return io->out_len == 0 ? -EMSGSIZE : PROTO_XLAT_FULL;
        if (head > 0) {
            int rc = fn(ctx, x, io, x->stash, head, false);
            if (rc != 0)
                return rc < 0 ? rc : -EPROTO; /* nothing that large ends a response */
        }
        x->big_seen = true;
        put_header(x, io, x->plen);
        memcpy(io->out + io->out_len, x->stash, head);
        io->out_len += head;
    }
    size_t n = x->plen - x->got;
    if (n > avail(io))
        n = avail(io);
    if (n > room(io))
        n = room(io);
    memcpy(io->out + io->out_len, io->in + io->in_used, n);
    io->out_len += n;
    io->in_used += n;
    x->got += (uint32_t)n;
    if (x->got < x->plen)
        return avail(io) == 0 ? PROTO_XLAT_NEED_INPUT : PROTO_XLAT_FULL;
    x->hdr_len = 0;
    x->got = 0;
    return 0;
}

int proto_xlat_walk(struct proto_xlat *x, struct proto_xlat_io *io, proto_xlat_fn *fn, void *ctx)
{
    for (;;) {
        if (x->hdr_len < PROTO_HEADER_LEN) {
            size_t n = PROTO_HEADER_LEN - x->hdr_len;
            if (n > avail(io))
                n = avail(io);
            memcpy(x->hdr + x->hdr_len, io->in + io->in_used, n);
            io->in_used += n;
            x->hdr_len = (uint8_t)(x->hdr_len + n);
            if (x->hdr_len < PROTO_HEADER_LEN)
                return PROTO_XLAT_NEED_INPUT;
            x->plen = (uint32_t)x->hdr[0] | (uint32_t)x->hdr[1] << 8 | (uint32_t)x->hdr[2] << 16;
            x->got = 0;
            x->cont = x->cont_next;
            x->cont_next = x->plen == PROTO_MAX_PAYLOAD;
            x->big = x->cont || x->cont_next || x->plen > x->stash_cap;
            x->big_seen = false;
        }
        int rc = x->big ? walk_big(x, io, fn, ctx) : walk_small(x, io, fn, ctx);
        if (rc != 0)
            return rc;
    }
}
