/* OK / ERR / EOF and result-set opening packets (response.h): builders, parsers, and the
 * parsers' refusal of truncated and inconsistent input. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "protocol/constants.h"
#include "protocol/response.h"

static const uint64_t caps41 = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS;

static void test_ok_roundtrip(void)
{
    uint8_t buf[128];
    struct proto_ok ok = {.affected_rows = 300,
                          .last_insert_id = 70000,
                          .status = PROTO_SERVER_STATUS_IN_TRANS,
                          .warnings = 2,
                          .info = {(const uint8_t *)"Rows matched: 1", 15}};
    ssize_t n = proto_build_ok(buf, sizeof buf, 5, caps41, &ok);
    CHECK(n > 4);
    CHECK_UINT(buf[3], 5);
    CHECK_UINT(buf[0] | buf[1] << 8 | buf[2] << 16, (size_t)n - 4);
    struct proto_ok got;
    CHECK_INT(proto_ok_parse(buf + 4, (size_t)n - 4, caps41, &got), 0);
    CHECK_UINT(got.affected_rows, 300);
    CHECK_UINT(got.last_insert_id, 70000);
    CHECK_UINT(got.status, PROTO_SERVER_STATUS_IN_TRANS);
    CHECK_UINT(got.warnings, 2);
    CHECK_MEM(got.info.ptr, got.info.len, "Rows matched: 1", 15);
    CHECK_INT(proto_build_ok(buf, 10, 5, caps41, &ok), -ENOSPC);
}

/* With SESSION_TRACK the info is length-encoded and a state-change block may follow. */
static void test_ok_session_track(void)
{
    const uint64_t caps = caps41 | PROTO_CLIENT_SESSION_TRACK;
    static const uint8_t state[] = {0x01, 0x05, 0x04, 't', 'e', 's', 't'}; /* SCHEMA "test" */
    struct proto_ok ok = {.status = PROTO_SERVER_SESSION_STATE_CHANGED,
                          .session_state = {state, sizeof state}};
    uint8_t buf[128];
    ssize_t n = proto_build_ok(buf, sizeof buf, 1, caps, &ok);
    CHECK(n > 0);
    struct proto_ok got;
    CHECK_INT(proto_ok_parse(buf + 4, (size_t)n - 4, caps, &got), 0);
    CHECK_MEM(got.session_state.ptr, got.session_state.len, state, sizeof state);
    struct proto_rd r = proto_rd_init(got.session_state.ptr, got.session_state.len);
    uint8_t type;
    struct proto_bytes data;
    CHECK_INT(proto_session_state_next(&r, &type, &data), 1);
    CHECK_UINT(type, 1);
    CHECK_INT(proto_session_state_next(&r, &type, &data), 0);
    /* Every truncation of this OK is refused. */
    for (size_t cut = 1; cut < (size_t)n - 4; cut++)
        CHECK(proto_ok_parse(buf + 4, cut, caps, &got) < 0);
    /* A state block whose entry overruns it is inconsistent. */
    uint8_t bad[sizeof buf];
    memcpy(bad, buf, (size_t)n);
    bad[n - 6] = 0x09; /* the entry claims 9 bytes of its 5 */
    CHECK(proto_ok_parse(bad + 4, (size_t)n - 4, caps, &got) < 0);
    /* Bytes after the block are refused too. */
    CHECK_INT(proto_ok_parse(buf + 4, sizeof buf - 4, caps, &got), -EPROTO);
}

/* An OK of status 0x4000 | extra with block as its session state (info "ok"), its payload in
 * buf; returns its length. */
static size_t ok_with_state(uint8_t *buf, size_t cap, uint64_t caps, uint16_t extra,
                            const uint8_t *block, size_t block_len)
{
    struct proto_ok ok = {.status = (uint16_t)(PROTO_SERVER_SESSION_STATE_CHANGED | extra),
                          .info = {(const uint8_t *)"ok", 2},
                          .session_state = {block, block_len}};
    ssize_t n = proto_build_ok(buf, cap, 1, caps, &ok);
    CHECK(n > 4);
    memmove(buf, buf + 4, (size_t)n - 4);
    return (size_t)n - 4;
}

/* session_track_state_change's entry is dropped for a client that did not ask for it; the
 * other entries stay, and the flag goes only with the last of them. */
static void test_ok_strip_state_change(void)
{
    const uint64_t caps = caps41 | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF;
    static const uint8_t only[] = {0x02, 0x01, '1'};
    static const uint8_t both[] = {0x01, 0x03, 0x02, 'd', 'b', 0x02, 0x01, '1'};
    static const uint8_t schema[] = {0x01, 0x03, 0x02, 'd', 'b'};
    uint8_t buf[128];
    struct proto_ok got;
    size_t n =
        ok_with_state(buf, sizeof buf, caps, PROTO_SERVER_STATUS_AUTOCOMMIT, only, sizeof only);
    size_t m = proto_ok_strip_state_change(buf, n, caps);
    CHECK(m < n);
    if (CHECK_INT(proto_ok_parse(buf, m, caps, &got), 0)) {
        CHECK_UINT(got.status, PROTO_SERVER_STATUS_AUTOCOMMIT);
        CHECK_UINT(got.session_state.len, 0);
        CHECK_MEM(got.info.ptr, got.info.len, "ok", 2);
    }
    n = ok_with_state(buf, sizeof buf, caps, 0, both, sizeof both);
    m = proto_ok_strip_state_change(buf, n, caps);
    CHECK_UINT(m, n - 3);
    if (CHECK_INT(proto_ok_parse(buf, m, caps, &got), 0)) {
        CHECK_UINT(got.status, PROTO_SERVER_SESSION_STATE_CHANGED);
        CHECK_MEM(got.session_state.ptr, got.session_state.len, schema, sizeof schema);
    }
    /* Nothing to drop: unchanged. */
    n = ok_with_state(buf, sizeof buf, caps, 0, schema, sizeof schema);
    CHECK_UINT(proto_ok_strip_state_change(buf, n, caps), n);
    /* The OK that stands for an EOF (0xfe) the same way. */
    n = ok_with_state(buf, sizeof buf, caps, 0, only, sizeof only);
    buf[0] = 0xfe;
    m = proto_ok_strip_state_change(buf, n, caps);
    CHECK(m < n && buf[0] == 0xfe && proto_ok_parse(buf, m, caps, &got) == 0);
    /* Without SESSION_TRACK, truncated, or not an OK: left as it is. */
    n = ok_with_state(buf, sizeof buf, caps, 0, only, sizeof only);
    CHECK_UINT(proto_ok_strip_state_change(buf, n, caps41), n);
    for (size_t cut = 1; cut < n; cut++)
        CHECK_UINT(proto_ok_strip_state_change(buf, cut, caps), cut);
    buf[0] = 0xff;
    CHECK_UINT(proto_ok_strip_state_change(buf, n, caps), n);
}

static void test_ok_header_rules(void)
{
    static const uint8_t fe_ok[] = {0xfe, 0, 0, 0x02, 0, 0, 0};
    struct proto_ok ok;
    CHECK_INT(proto_ok_parse(fe_ok, sizeof fe_ok, caps41, &ok), -EPROTO);
    CHECK_INT(proto_ok_parse(fe_ok, sizeof fe_ok, caps41 | PROTO_CLIENT_DEPRECATE_EOF, &ok), 0);
    CHECK_UINT(ok.status, 2);
    static const uint8_t bad_lenenc[] = {0x00, 0xff, 0, 0, 0, 0, 0};
    CHECK_INT(proto_ok_parse(bad_lenenc, sizeof bad_lenenc, caps41, &ok), -EPROTO);
    CHECK_INT(proto_ok_parse(fe_ok, 0, caps41, &ok), -EBADMSG);
}

static void test_err(void)
{
    uint8_t buf[128];
    ssize_t n = proto_build_err(buf, sizeof buf, 2, caps41, PROTO_ER_ACCESS_DENIED, "28000",
                                "Access denied", 13);
    CHECK(n > 0);
    struct proto_err e;
    CHECK_INT(proto_err_parse(buf + 4, (size_t)n - 4, caps41, &e), 0);
    CHECK_UINT(e.code, 1045);
    CHECK_STR(e.sqlstate, "28000");
    CHECK_MEM(e.message.ptr, e.message.len, "Access denied", 13);
    /* Without PROTOCOL_41 (or before the handshake) there is no SQL state. */
    n = proto_build_err(buf, sizeof buf, 0, 0, 1040, NULL, "Too many connections", 20);
    CHECK_INT(proto_err_parse(buf + 4, (size_t)n - 4, caps41, &e), 0);
    CHECK_STR(e.sqlstate, "HY000");
    CHECK_MEM(e.message.ptr, e.message.len, "Too many connections", 20);
    CHECK_INT(proto_err_parse(buf + 4, 2, caps41, &e), -EBADMSG);
    /* Found by fuzz_response: a NUL inside the SQL state. */
    static const uint8_t nul_state[] = {0xff, 0x17, 0x04, '#', '0', '8', 'S', 0x00, ' ', 'x'};
    CHECK_INT(proto_err_parse(nul_state, sizeof nul_state, caps41, &e), -EPROTO);
    CHECK_INT(proto_err_parse((const uint8_t *)"\x00\x01\x02", 3, caps41, &e), -EPROTO);
}

static void test_eof(void)
{
    uint8_t buf[16];
    ssize_t n = proto_build_eof(buf, sizeof buf, 4, caps41, 1, 0x22);
    CHECK_INT(n, 9);
    struct proto_eof e;
    CHECK_INT(proto_eof_parse(buf + 4, 5, caps41, &e), 0);
    CHECK_UINT(e.warnings, 1);
    CHECK_UINT(e.status, 0x22);
    CHECK(proto_is_eof(buf + 4, 5, caps41));
    for (size_t cut = 0; cut < 5; cut++)
        CHECK(proto_eof_parse(buf + 4, cut, caps41, &e) < 0);
    /* A 0xfe row of 9 bytes or more is a row (its lenenc length needs 8 more bytes). */
    static const uint8_t row[9] = {0xfe};
    CHECK(!proto_is_eof(row, sizeof row, caps41));
    CHECK(proto_is_eof(row, sizeof row, caps41 | PROTO_CLIENT_DEPRECATE_EOF));
    CHECK(!proto_is_eof(row, PROTO_MAX_PAYLOAD, caps41 | PROTO_CLIENT_DEPRECATE_EOF));
}

static void test_column_count(void)
{
    uint64_t count;
    bool meta;
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x03", 1, caps41, &count, &meta), 0);
    CHECK_UINT(count, 3);
    CHECK(meta);
    const uint64_t cache = caps41 | PROTO_MARIADB_CLIENT_CACHE_METADATA;
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x02\x00", 2, cache, &count, &meta), 0);
    CHECK(!meta);
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x02", 1, cache, &count, &meta), -EBADMSG);
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x02\x07", 2, cache, &count, &meta),
              -EPROTO);
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x00", 1, caps41, &count, &meta), -EPROTO);
    CHECK_INT(
        proto_column_count_parse((const uint8_t *)"\xfd\x71\x0d\x01", 4, caps41, &count, &meta),
        0); /* 68 977 columns: a SELECT list may be that long */
    CHECK_UINT(count, 68977);
    CHECK_INT(proto_column_count_parse((const uint8_t *)"\x01\x01", 2, caps41, &count, &meta),
              -EPROTO); /* trailing byte */
}

/* A column definition captured from MariaDB (SELECT 1 AS a). */
static void test_coldef(void)
{
    static const uint8_t def[] = {0x03, 'd',  'e',  'f',  0x00, 0x00, 0x00, 0x01,
                                  'a',  0x00, 0x0c, 0x3f, 0x00, 0x01, 0x00, 0x00,
                                  0x00, 0x08, 0x81, 0x00, 0x00, 0x00, 0x00};
    struct proto_coldef c;
    CHECK_INT(proto_coldef_parse(def, sizeof def, caps41, &c), 0);
    CHECK_MEM(c.catalog.ptr, c.catalog.len, "def", 3);
    CHECK_MEM(c.name.ptr, c.name.len, "a", 1);
    CHECK_UINT(c.charset, 63);
    CHECK_UINT(c.length, 1);
    CHECK_UINT(c.type, 8);
    CHECK_UINT(c.flags, 0x81);
    for (size_t cut = 0; cut < sizeof def; cut++)
        CHECK(proto_coldef_parse(def, cut, caps41, &c) < 0);
    uint8_t bad[sizeof def];
    memcpy(bad, def, sizeof def);
    bad[10] = 0x0b; /* fixed-length part must be 12 */
    CHECK_INT(proto_coldef_parse(bad, sizeof bad, caps41, &c), -EPROTO);
}

static void test_prepare_ok(void)
{
    static const uint8_t p[] = {0x00, 0x04, 0, 0, 0, 0x02, 0x00, 0x03, 0x00, 0x00, 0x01, 0x00};
    struct proto_prepare_ok ok;
    CHECK_INT(proto_prepare_ok_parse(p, sizeof p, caps41, &ok), 0);
    CHECK_UINT(ok.stmt_id, 4);
    CHECK_UINT(ok.num_columns, 2);
    CHECK_UINT(ok.num_params, 3);
    CHECK_UINT(ok.warnings, 1);
    for (size_t cut = 0; cut < 10; cut++)
        CHECK(proto_prepare_ok_parse(p, cut, caps41, &ok) < 0);
    CHECK(proto_prepare_ok_parse(p, 11, caps41, &ok) < 0);
    CHECK_INT(proto_prepare_ok_parse(p, 10, caps41, &ok), 0); /* pre-warnings servers */
}

static void test_local_infile(void)
{
    struct proto_bytes name;
    CHECK_INT(proto_local_infile_parse((const uint8_t *)"\xfbrows.csv", 9, &name), 0);
    CHECK_MEM(name.ptr, name.len, "rows.csv", 8);
    CHECK_INT(proto_local_infile_parse((const uint8_t *)"", 0, &name), -EBADMSG);
    CHECK_INT(proto_local_infile_parse((const uint8_t *)"\x00", 1, &name), -EPROTO);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_ok_roundtrip),
        CHECK_CASE(test_ok_session_track),
        CHECK_CASE(test_ok_header_rules),
        CHECK_CASE(test_err),
        CHECK_CASE(test_eof),
        CHECK_CASE(test_column_count),
        CHECK_CASE(test_coldef),
        CHECK_CASE(test_prepare_ok),
        CHECK_CASE(test_local_infile),
        CHECK_CASE(test_ok_strip_state_change),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
