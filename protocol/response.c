/* response: OK / ERR / EOF and result-set opening packets (see response.h). */
#include "protocol/response.h"

#include <errno.h>
#include <string.h>

#include "protocol/constants.h"

/* Every parser ends with this: bytes left over mean the packet is not what it claims. */
static int rd_done(const struct proto_rd *r)
{
    return proto_rd_left(r) == 0 ? 0 : -EPROTO;
}

static int check_session_state(struct proto_bytes block)
{
    struct proto_rd r = proto_rd_init(block.ptr, block.len);
    uint8_t type;
    struct proto_bytes data;
    int rc;
    while ((rc = proto_session_state_next(&r, &type, &data)) > 0) {
    }
    return rc;
}

/* The session-state block that ends an OK. After a USE of a database whose character set is
 * ucs2, utf16 or utf32, MariaDB puts the (empty) info string in that character set's width:
 * 1 or 3 more zero bytes before the block. They are skipped where the block then ends the
 * packet exactly, as libmariadb reads it. */
static int read_session_state(struct proto_rd *r, struct proto_ok *ok)
{
    enum { MAX_PAD = 3 };
    int rc = -EPROTO;
    for (size_t pad = 0; pad <= MAX_PAD && pad < proto_rd_left(r); pad++) {
        if (pad > 0 && r->buf[r->pos + pad - 1] != 0)
            break;
        struct proto_rd at = *r;
        at.pos += pad;
        if ((rc = proto_rd_lenenc_str(&at, &ok->session_state)) == 0 && (rc = rd_done(&at)) == 0 &&
            (rc = check_session_state(ok->session_state)) == 0) {
            *r = at;
            return 0;
        }
    }
    return rc;
}

int proto_ok_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_ok *ok)
{
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t hdr;
    int rc;
    memset(ok, 0, sizeof *ok);
    if ((rc = proto_rd_u8(&r, &hdr)) < 0)
        return rc;
    if (hdr != PROTO_HDR_OK && !(hdr == PROTO_HDR_EOF && (caps & PROTO_CLIENT_DEPRECATE_EOF)))
        return -EPROTO;
    if ((rc = proto_rd_lenenc(&r, &ok->affected_rows, NULL)) < 0 ||
        (rc = proto_rd_lenenc(&r, &ok->last_insert_id, NULL)) < 0)
        return rc;
    if (caps & (PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS)) {
        if ((rc = proto_rd_u16(&r, &ok->status)) < 0)
            return rc;
    }
    if (caps & PROTO_CLIENT_PROTOCOL_41) {
        if ((rc = proto_rd_u16(&r, &ok->warnings)) < 0)
            return rc;
    }
    if (!(caps & PROTO_CLIENT_SESSION_TRACK)) {
        proto_rd_eof_str(&r, &ok->info);
        return 0;
    }
    /* With session tracking the info string is length-encoded and may be left out
     * entirely when it is empty and no state block follows. */
    if (proto_rd_left(&r) > 0 && (rc = proto_rd_lenenc_str(&r, &ok->info)) < 0)
        return rc;
    if (ok->status & PROTO_SERVER_SESSION_STATE_CHANGED)
        return read_session_state(&r, ok);
    return rd_done(&r);
}

size_t proto_ok_strip_state_change(uint8_t *p, size_t len, uint64_t caps)
{
    enum { BLOCK_MAX = 4096 }; /* a longer block is left as it is */
    struct proto_ok ok;
    if (!(caps & PROTO_CLIENT_SESSION_TRACK) || proto_ok_parse(p, len, caps, &ok) < 0 ||
        !(ok.status & PROTO_SERVER_SESSION_STATE_CHANGED) || ok.session_state.len > BLOCK_MAX)
        return len;
    /* The block is the packet's tail, after its length (a minimal length-encoded integer). */
    size_t block_at = (size_t)(ok.session_state.ptr - p);
    size_t head = proto_lenenc_size(ok.session_state.len);
    if (block_at < head || block_at + ok.session_state.len != len)
        return len;
    uint8_t kept[BLOCK_MAX];
    size_t n = 0;
    struct proto_rd r = proto_rd_init(ok.session_state.ptr, ok.session_state.len);
    size_t start = 0;
    uint8_t type;
    struct proto_bytes data;
    while (proto_session_state_next(&r, &type, &data) == 1) {
        if (type != PROTO_SESSION_TRACK_STATE_CHANGE) {
            memcpy(kept + n, ok.session_state.ptr + start, r.pos - start);
            n += r.pos - start;
        }
        start = r.pos;
    }
    if (n == ok.session_state.len)
        return len;
    size_t at = block_at - head;
    if (n == 0) {
        /* Nothing left: no block (nor the padding a wide character set put before it), and
         * no flag saying there is one. The OK parsed, so these reads succeed. */
        struct proto_rd s = proto_rd_init(p, len);
        uint8_t hdr;
        uint64_t v;
        uint16_t word;
        struct proto_bytes info;
        (void)proto_rd_u8(&s, &hdr);
        (void)proto_rd_lenenc(&s, &v, NULL);
        (void)proto_rd_lenenc(&s, &v, NULL);
        size_t status_at = s.pos; /* a state block means a status (proto_ok_parse) */
        (void)proto_rd_u16(&s, &word);
        if (caps & PROTO_CLIENT_PROTOCOL_41)
            (void)proto_rd_u16(&s, &word);
        (void)proto_rd_lenenc_str(&s, &info);
        uint16_t status = (uint16_t)(ok.status & ~PROTO_SERVER_SESSION_STATE_CHANGED);
        p[status_at] = (uint8_t)status;
        p[status_at + 1] = (uint8_t)(status >> 8);
        return s.pos;
    }
    struct proto_wr w = proto_wr_init(p + at, len - at);
    proto_wr_lenenc(&w, n);
    proto_wr_mem(&w, kept, n);
    return at + w.len;
}

int proto_session_state_next(struct proto_rd *r, uint8_t *type, struct proto_bytes *data)
{
    if (proto_rd_left(r) == 0)
        return 0;
    size_t start = r->pos;
    int rc = proto_rd_u8(r, type);
    if (rc == 0)
        rc = proto_rd_lenenc_str(r, data);
    if (rc < 0) {
        r->pos = start;
        return -EBADMSG;
    }
    return 1;
}

int proto_err_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_err *err)
{
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t hdr;
    int rc;
    memset(err, 0, sizeof *err);
    if ((rc = proto_rd_u8(&r, &hdr)) < 0)
        return rc;
    if (hdr != PROTO_HDR_ERR)
        return -EPROTO;
    if ((rc = proto_rd_u16(&r, &err->code)) < 0)
        return rc;
    memcpy(err->sqlstate, "HY000", 6);
    /* The SQL state is optional even with PROTOCOL_41: servers leave it out of errors sent
     * before the handshake completes, so its '#' marker is what tells. Progress reports
     * carry no SQL state at all. */
    if (err->code != PROTO_ER_PROGRESS_REPORT && (caps & PROTO_CLIENT_PROTOCOL_41) &&
        proto_rd_left(&r) >= 6 && *proto_rd_ptr(&r) == '#') {
        const uint8_t *state = proto_rd_ptr(&r) + 1;
        /* SQLSTATE is five digits or capital letters; anything else (a NUL, say) would
         * corrupt the ERR packets ringsql builds from it. */
        for (size_t i = 0; i < 5; i++) {
            if (!((state[i] >= '0' && state[i] <= '9') || (state[i] >= 'A' && state[i] <= 'Z')))
                return -EPROTO;
        }
        memcpy(err->sqlstate, state, 5);
        r.pos += 6;
    }
    proto_rd_eof_str(&r, &err->message);
    return 0;
}

int proto_eof_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_eof *eof)
{
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t hdr;
    int rc;
    memset(eof, 0, sizeof *eof);
    if ((rc = proto_rd_u8(&r, &hdr)) < 0)
        return rc;
    if (hdr != PROTO_HDR_EOF || len >= 9)
        return -EPROTO;
    if (caps & PROTO_CLIENT_PROTOCOL_41) {
        if ((rc = proto_rd_u16(&r, &eof->warnings)) < 0 ||
            (rc = proto_rd_u16(&r, &eof->status)) < 0)
            return rc;
    }
    return rd_done(&r);
}

bool proto_is_eof(const uint8_t *p, size_t len, uint64_t caps)
{
    if (len == 0 || p[0] != PROTO_HDR_EOF)
        return false;
    if (caps & PROTO_CLIENT_DEPRECATE_EOF)
        return len < PROTO_MAX_PAYLOAD;
    return len < 9;
}

int proto_column_count_parse(const uint8_t *p, size_t len, uint64_t caps, uint64_t *count,
                             bool *metadata_follows)
{
    struct proto_rd r = proto_rd_init(p, len);
    int rc = proto_rd_lenenc(&r, count, NULL);
    if (rc < 0)
        return rc;
    /* A result set has at least one column. There is no other limit: a SELECT list may be far
     * longer than a table (MariaDB's own test suite sends 68 001 columns), and a count only
     * counts the definitions that follow. */
    if (*count == 0)
        return -EPROTO;
    *metadata_follows = true;
    if (caps & PROTO_MARIADB_CLIENT_CACHE_METADATA) {
        uint8_t flag;
        if ((rc = proto_rd_u8(&r, &flag)) < 0)
            return rc;
        if (flag > 1)
            return -EPROTO;
        *metadata_follows = flag == 1;
    }
    return rd_done(&r);
}

int proto_coldef_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_coldef *c)
{
    struct proto_rd r = proto_rd_init(p, len);
    struct proto_bytes *strs[] = {&c->catalog,   &c->schema, &c->table,
                                  &c->org_table, &c->name,   &c->org_name};
    uint64_t fixed_len;
    int rc;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if ((rc = proto_rd_lenenc_str(&r, strs[i])) < 0)
            return rc;
    }
    if (caps & PROTO_MARIADB_CLIENT_EXTENDED_METADATA) {
        if ((rc = proto_rd_lenenc_str(&r, &c->extended)) < 0)
            return rc;
    }
    if ((rc = proto_rd_lenenc(&r, &fixed_len, NULL)) < 0)
        return rc;
    /* The fixed-length part is always 12 bytes: charset 2, length 4, type 1, flags 2,
     * decimals 1, filler 2. */
    if (fixed_len != 12)
        return -EPROTO;
    uint64_t v;
    if ((rc = proto_rd_u16(&r, &c->charset)) < 0 || (rc = proto_rd_u32(&r, &c->length)) < 0 ||
        (rc = proto_rd_u8(&r, &c->type)) < 0 || (rc = proto_rd_u16(&r, &c->flags)) < 0 ||
        (rc = proto_rd_u8(&r, &c->decimals)) < 0 || (rc = proto_rd_fixed(&r, 2, &v)) < 0)
        return rc;
    /* COM_FIELD_LIST appends the column default: a lenenc string, or 0xfb for NULL. */
    if (proto_rd_left(&r) > 0) {
        uint64_t def_len;
        bool null;
        if ((rc = proto_rd_lenenc(&r, &def_len, &null)) < 0)
            return rc;
        if (def_len > proto_rd_left(&r))
            return -EBADMSG;
        r.pos += (size_t)def_len;
    }
    return rd_done(&r);
}

int proto_prepare_ok_parse(const uint8_t *p, size_t len, uint64_t caps, struct proto_prepare_ok *ok)
{
    struct proto_rd r = proto_rd_init(p, len);
    uint8_t hdr, filler;
    int rc;
    memset(ok, 0, sizeof *ok);
    if ((rc = proto_rd_u8(&r, &hdr)) < 0)
        return rc;
    if (hdr != PROTO_HDR_OK)
        return -EPROTO;
    if ((rc = proto_rd_u32(&r, &ok->stmt_id)) < 0 ||
        (rc = proto_rd_u16(&r, &ok->num_columns)) < 0 ||
        (rc = proto_rd_u16(&r, &ok->num_params)) < 0 || (rc = proto_rd_u8(&r, &filler)) < 0)
        return rc;
    ok->metadata_follows = true;
    /* Old servers stop after the filler; the warning count is there from 4.1.x on. */
    if (proto_rd_left(&r) > 0 && (rc = proto_rd_u16(&r, &ok->warnings)) < 0)
        return rc;
    if ((caps & PROTO_CLIENT_OPTIONAL_RESULTSET_METADATA) && proto_rd_left(&r) > 0) {
        uint8_t flag;
        if ((rc = proto_rd_u8(&r, &flag)) < 0)
            return rc;
        ok->metadata_follows = flag != 0;
    }
    return rd_done(&r);
}

int proto_local_infile_parse(const uint8_t *p, size_t len, struct proto_bytes *filename)
{
    if (len == 0)
        return -EBADMSG;
    if (p[0] != PROTO_HDR_LOCAL_INFILE)
        return -EPROTO;
    filename->ptr = p + 1;
    filename->len = len - 1;
    return 0;
}

/* OK body shared by the 0x00 OK and anything else with the same layout. */
static void wr_ok_body(struct proto_wr *w, uint64_t caps, const struct proto_ok *ok)
{
    proto_wr_lenenc(w, ok->affected_rows);
    proto_wr_lenenc(w, ok->last_insert_id);
    if (caps & (PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS))
        proto_wr_u16(w, ok->status);
    if (caps & PROTO_CLIENT_PROTOCOL_41)
        proto_wr_u16(w, ok->warnings);
    if (caps & PROTO_CLIENT_SESSION_TRACK) {
        bool state = ok->status & PROTO_SERVER_SESSION_STATE_CHANGED;
        if (ok->info.len > 0 || state)
            proto_wr_lenenc_str(w, ok->info.ptr, ok->info.len);
        if (state)
            proto_wr_lenenc_str(w, ok->session_state.ptr, ok->session_state.len);
    } else {
        proto_wr_mem(w, ok->info.ptr, ok->info.len);
    }
}

void proto_ok_payload(struct proto_wr *w, uint8_t header, uint64_t caps, const struct proto_ok *ok)
{
    proto_wr_u8(w, header);
    wr_ok_body(w, caps, ok);
}

ssize_t proto_build_ok(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps,
                       const struct proto_ok *ok)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_HDR_OK);
    wr_ok_body(&w, caps, ok);
    return proto_wr_packet_end(&w, start, seq);
}

ssize_t proto_build_err(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps, uint16_t code,
                        const char *sqlstate, const char *msg, size_t msg_len)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_HDR_ERR);
    proto_wr_u16(&w, code);
    if (caps & PROTO_CLIENT_PROTOCOL_41) {
        proto_wr_u8(&w, '#');
        proto_wr_mem(&w, sqlstate ? sqlstate : "HY000", 5);
    }
    proto_wr_mem(&w, msg, msg_len);
    return proto_wr_packet_end(&w, start, seq);
}

ssize_t proto_build_eof(uint8_t *buf, size_t cap, uint8_t seq, uint64_t caps, uint16_t warnings,
                        uint16_t status)
{
    struct proto_wr w = proto_wr_init(buf, cap);
    size_t start = proto_wr_packet_begin(&w);
    proto_wr_u8(&w, PROTO_HDR_EOF);
    if (caps & PROTO_CLIENT_PROTOCOL_41) {
        proto_wr_u16(&w, warnings);
        proto_wr_u16(&w, status);
    }
    return proto_wr_packet_end(&w, start, seq);
}
