/* xlat against captured fixtures: the responses MariaDB sent a client with one set of
 * capabilities, rewritten by protocol/xlat (and core/stmt_meta for skipped definitions), must
 * be byte for byte what MariaDB sent, for the same statements, to a client with another set.
 * The stream is fed in pieces of several sizes so that packets cut across receives are
 * walked too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/conn/stmt_meta.h"
#include "fixture.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/tracker.h"
#include "protocol/xlat.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/protocol/fixtures"
#endif

enum { STASH_CAP = 16 * 1024, OUT_CAP = 256 * 1024 };

/* One walk: the tracker and the statement cache a session would have. */
struct walker {
    struct proto_tracker t;
    struct proto_xlat x;
    struct stmt_meta_cache meta;
    uint64_t from, to;
    uint32_t exec_stmt;
    uint8_t stash[STASH_CAP];
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
    struct walker *w = ctx;
    int v = proto_tracker_feed(&w->t, p, len);
    if (v < 0)
        return v;
    if (!whole)
        return v == PROTO_TRACK_MORE && w->t.kind == PROTO_PKT_OTHER ? 0 : -EPROTO;
    bool skipped;
    struct proto_bytes sent;
    int rc = proto_xlat_forward(x, io, w->t.kind, p, len, w->from, w->to, &skipped, &sent);
    if (rc == 0)
        rc = stmt_meta_observe(&w->meta, &w->t, w->exec_stmt, sent.ptr, sent.len, skipped,
                               v != PROTO_TRACK_MORE, put_def, &(struct put_ctx){x, io});
    if (rc < 0)
        return rc;
    return v == PROTO_TRACK_MORE ? 0 : 1;
}

/* Rewrites the stream in[0, n) fed piece bytes at a time; returns the output length or -1. */
static long walk(struct walker *w, const uint8_t *in, size_t n, size_t piece, uint8_t *out)
{
    struct proto_xlat_io io = {.out = out, .out_cap = OUT_CAP};
    for (size_t off = 0; off < n;) {
        size_t k = n - off < piece ? n - off : piece;
        io.in = in + off;
        io.in_len = k;
        io.in_used = 0;
        int rc = proto_xlat_walk(&w->x, &io, on_packet, w);
        if (rc < 0 || rc == PROTO_XLAT_FULL) {
            fprintf(stderr, "# walk failed: %d\n", rc);
            return -1;
        }
        off += io.in_used;
        if (rc == PROTO_XLAT_DONE)
            return off == n ? (long)io.out_len : -1;
    }
    return -1; /* the response never ended */
}

/* The server packets of exchange k (the k-th command), concatenated. */
static size_t exchange(const struct fixture *f, size_t k, uint8_t *buf, size_t cap,
                       const struct fixture_pkt **cmd, bool *client_too)
{
    size_t n = 0, seen = 0;
    *cmd = NULL;
    *client_too = false;
    for (size_t i = 0; i < f->npkts; i++) {
        const struct fixture_pkt *p = &f->pkts[i];
        if (p->dir == FIX_CMD) {
            if (seen++ == k)
                *cmd = p;
            else if (*cmd)
                break;
            continue;
        }
        if (!*cmd)
            continue;
        if (p->dir == FIX_CLIENT)
            *client_too = true;
        if (p->dir == FIX_SERVER && n + p->len <= cap) {
            memcpy(buf + n, p->data, p->len);
            n += p->len;
        }
    }
    return n;
}

static bool load(const char *name, struct fixture *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, name);
    return CHECK(fixture_load(path, f));
}

/* Every exchange of scenario.from rewritten for the capabilities of scenario.to. */
static void check_pair(const char *scenario, const char *from, const char *to)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s.%s.fix", scenario, from);
    snprintf(b, sizeof b, "%s.%s.fix", scenario, to);
    struct fixture fa, fb;
    if (!load(a, &fa))
        return;
    if (!load(b, &fb)) {
        fixture_free(&fa);
        return;
    }
    CHECK_INT(proto_xlat_supported(fa.caps, fb.caps), 0);
    static uint8_t in[OUT_CAP], want[OUT_CAP], got[OUT_CAP];
    static const size_t pieces[] = {1, 3, 7, 64, 1000, OUT_CAP};
    for (size_t pi = 0; pi < sizeof pieces / sizeof pieces[0]; pi++) {
        struct walker *w = calloc(1, sizeof *w);
        w->from = fa.caps;
        w->to = fb.caps;
        proto_tracker_init(&w->t, PROTO_SERVER_STATUS_AUTOCOMMIT);
        for (size_t k = 0;; k++) {
            const struct fixture_pkt *ca, *cb;
            bool client_a, client_b;
            size_t na = exchange(&fa, k, in, sizeof in, &ca, &client_a);
            size_t nb = exchange(&fb, k, want, sizeof want, &cb, &client_b);
            if (!ca || !cb)
                break;
            if (na == 0 || client_a || client_b)
                continue; /* no response, or one the client takes part in */
            proto_tracker_begin_packet(&w->t, ca->data, ca->len, fa.caps);
            w->exec_stmt = 0;
            if (ca->data[0] == PROTO_COM_STMT_EXECUTE && ca->len >= 5)
                memcpy(&w->exec_stmt, ca->data + 1, 4);
            w->x.stash = w->stash;
            w->x.stash_cap = STASH_CAP;
            w->x.reserve = 0;
            proto_xlat_begin(&w->x, 1);
            long n = walk(w, in, na, pieces[pi], got);
            /* Statement ids are the server's choice per connection: compare the rest. */
            if (ca->data[0] == PROTO_COM_STMT_PREPARE && n >= 9 && nb >= 9 && got[4] == 0)
                memcpy(want + 5, got + 5, 4);
            if (!check_mem_eq(got, n < 0 ? 0 : (size_t)n, want, nb, "rewritten response",
                              __FILE__, __LINE__))
                fprintf(stderr, "# %s -> %s, exchange %zu, pieces of %zu\n", a, b, k,
                        pieces[pi]);
        }
        stmt_meta_clear(&w->meta);
        free(w);
    }
    fixture_free(&fa);
    fixture_free(&fb);
}

/* Session state dropped: OK packets (statements, transactions, multi-results). */
static void test_without_session_track(void)
{
    static const char *const scenarios[] = {"ok", "multi", "trans", "wide_db"};
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        check_pair(scenarios[i], "track", "deof");
}

/* DEPRECATE_EOF added: no EOF after definitions, the last one an OK (0xfe). */
static void test_deprecate_eof_added(void)
{
    static const char *const scenarios[] = {"ok",     "select",      "error",       "multi",
                                            "trans",  "call",        "prepare",     "cursor",
                                            "error_mid_rows", "multi_error", "prepare_dml",
                                            "field_list"};
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        check_pair(scenarios[i], "eof", "deof");
}

/* MariaDB's extended metadata and metadata caching dropped; definitions the server skipped
 * for an unchanged prepared statement put back. */
static void test_without_metadata_extensions(void)
{
    check_pair("select", "cache_eof", "eof");
    check_pair("select", "cache_eof", "deof");
    check_pair("select", "cache", "deof");
    check_pair("prepare", "cache_eof", "eof");
    check_pair("prepare", "cache_eof", "deof");
    check_pair("prepare", "cache", "deof");
}

/* A row larger than the stash is passed through in pieces, renumbered. */
static void test_large_row_passes_through(void)
{
    static uint8_t in[OUT_CAP], out[OUT_CAP];
    size_t n = 0;
    static const uint8_t head[] = {
        0x01, 0x00, 0x00, 0x01, 0x01,                                     /* 1 column */
        0x17, 0x00, 0x00, 0x02, 0x03, 'd',  'e',  'f',  0x00, 0x00, 0x00, /* coldef */
        0x01, 'a',  0x00, 0x0c, 0x21, 0x00, 0xff, 0xff, 0xff, 0x00, 0xfc, 0x90, 0x00, 0x00,
        0x00, 0x00, 0x05, 0x00, 0x00, 0x03, 0xfe, 0x00, 0x00, 0x02, 0x00}; /* EOF */
    memcpy(in, head, sizeof head);
    n = sizeof head;
    size_t row = 40000; /* one text value: 0xfc + 2-byte length */
    in[n++] = (uint8_t)(row + 3);
    in[n++] = (uint8_t)((row + 3) >> 8);
    in[n++] = 0;
    in[n++] = 4;
    in[n++] = 0xfc;
    in[n++] = (uint8_t)row;
    in[n++] = (uint8_t)(row >> 8);
    memset(in + n, 'x', row);
    n += row;
    static const uint8_t eof[] = {0x05, 0x00, 0x00, 0x05, 0xfe, 0x00, 0x00, 0x02, 0x00};
    memcpy(in + n, eof, sizeof eof);
    n += sizeof eof;
    struct walker *w = calloc(1, sizeof *w);
    w->from = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS;
    w->to = w->from | PROTO_CLIENT_DEPRECATE_EOF;
    proto_tracker_init(&w->t, PROTO_SERVER_STATUS_AUTOCOMMIT);
    proto_tracker_begin(&w->t, PROTO_COM_QUERY, w->from);
    w->x.stash = w->stash;
    w->x.stash_cap = 1024;
    proto_xlat_begin(&w->x, 1);
    long got = walk(w, in, n, 1500, out);
    /* The EOF after the definition is gone, the row follows as seq 3, the last EOF is an
     * OK (0xfe) as seq 4. */
    size_t want_len = 5 + 4 + 0x17 + 4 + row + 3 + 4 + 7;
    if (CHECK_INT(got, (long)want_len)) {
        CHECK_INT(out[5 + 4 + 0x17 + 3], 3);
        CHECK(memcmp(out + 5 + 4 + 0x17 + 4 + 3, in + sizeof head + 7, row) == 0);
        CHECK_INT(out[want_len - 7 - 1], 4);
        CHECK_INT(out[want_len - 7], 0xfe);
    }
    stmt_meta_clear(&w->meta);
    free(w);
}

/* Differences ringsql never offers are refused, not mangled. */
static void test_unsupported_differences(void)
{
    uint64_t base = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS;
    CHECK_INT(proto_xlat_supported(base | PROTO_CLIENT_DEPRECATE_EOF, base), -ENOTSUP);
    CHECK_INT(proto_xlat_supported(base, base | PROTO_CLIENT_SESSION_TRACK), -ENOTSUP);
    CHECK_INT(proto_xlat_supported(base, base | PROTO_MARIADB_CLIENT_CACHE_METADATA), -ENOTSUP);
    CHECK_INT(proto_xlat_supported(base | PROTO_CLIENT_SESSION_TRACK, base), 0);
    CHECK(!proto_xlat_needed(base | PROTO_CLIENT_LOCAL_FILES, base));
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_without_session_track),
        CHECK_CASE(test_deprecate_eof_added),
        CHECK_CASE(test_without_metadata_extensions),
        CHECK_CASE(test_large_row_passes_through),
        CHECK_CASE(test_unsupported_differences),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
