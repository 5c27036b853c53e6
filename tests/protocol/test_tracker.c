/* The response tracker against every captured fixture: its verdict for each packet must match
 * where the real server's response ended (see capture.c), and the state it reports must match
 * what the statements did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "protocol/constants.h"
#include "protocol/tracker.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/protocol/fixtures"
#endif

enum { MAX_EXCHANGES = 32 };

/* The tracker as it was when each exchange of a fixture ended. */
struct replay {
    size_t n;
    struct proto_tracker after[MAX_EXCHANGES];
    bool waited_on_client[MAX_EXCHANGES]; /* the tracker handed the turn to the client */
};

/* What the tracker must say for packet i: the server's last packet of an exchange ends it;
 * a server packet followed by client packets hands the turn over; the last of those hands
 * it back. */
static bool next_is(const struct fixture *f, size_t i, enum fixture_dir dir)
{
    return i + 1 < f->npkts && f->pkts[i + 1].dir == dir;
}

static bool replay_fixture(const struct fixture *f, struct replay *out)
{
    struct proto_tracker t;
    proto_tracker_init(&t, PROTO_SERVER_STATUS_AUTOCOMMIT);
    memset(out, 0, sizeof *out);
    int handover = 0;
    for (size_t i = 0; i < f->npkts; i++) {
        const struct fixture_pkt *p = &f->pkts[i];
        int got, want;
        switch (p->dir) {
        case FIX_CMD:
            if (out->n == MAX_EXCHANGES)
                return false;
            got = proto_tracker_begin_packet(&t, p->data, p->len, f->caps);
            want = next_is(f, i, FIX_SERVER) ? PROTO_TRACK_MORE : PROTO_TRACK_DONE;
            if (want == PROTO_TRACK_DONE)
                out->after[out->n++] = t;
            break;
        case FIX_SERVER:
            got = proto_tracker_feed_packet(&t, p->data, p->len);
            if (next_is(f, i, FIX_CLIENT)) {
                want = got == PROTO_TRACK_INFILE || got == PROTO_TRACK_AUTH ? got : -1;
                handover = got;
                out->waited_on_client[out->n] = true;
            } else if (next_is(f, i, FIX_SERVER)) {
                want = PROTO_TRACK_MORE;
            } else {
                want = PROTO_TRACK_DONE;
                out->after[out->n++] = t;
            }
            break;
        case FIX_CLIENT:
            got = proto_tracker_feed_client_packet(&t, p->data, p->len);
            want = next_is(f, i, FIX_CLIENT) ? handover : PROTO_TRACK_MORE;
            break;
        default:
            return false;
        }
        if (got != want) {
            fprintf(stderr, "# %s: packet %zu (exchange %zu): tracker said %d, server meant %d\n",
                    f->name, i, out->n, got, want);
            return false;
        }
    }
    return true;
}

static bool load_and_replay(const char *name, struct fixture *f, struct replay *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, name);
    if (!CHECK(fixture_load(path, f)))
        return false;
    bool ok = replay_fixture(f, r);
    CHECK(ok);
    return ok;
}

/* Every fixture, every packet. */
static void test_all_fixtures(void)
{
    char **names;
    int n = fixture_list(FIXTURE_DIR, &names);
    CHECK(n >= 20);
    for (int i = 0; i < n; i++) {
        struct fixture f;
        struct replay r;
        if (load_and_replay(names[i], &f, &r))
            CHECK(r.n > 0);
        fixture_free(&f);
        free(names[i]);
    }
    free(names);
}

/* Each variant's file of one scenario, in turn. */
static const char *const variants[] = {"eof", "deof", "track", "cache", "cache_eof"};

typedef void (*scenario_check)(const struct fixture *f, const struct replay *r);

static void for_variants(const char *scenario, scenario_check fn)
{
    int found = 0;
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        char name[128], path[512];
        snprintf(name, sizeof name, "%s.%s.fix", scenario, variants[v]);
        snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, name);
        FILE *probe = fopen(path, "r");
        if (!probe)
            continue;
        fclose(probe);
        found++;
        struct fixture f;
        struct replay r;
        if (load_and_replay(name, &f, &r))
            fn(&f, &r);
        fixture_free(&f);
    }
    CHECK(found >= 2);
}

static void check_select(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 3);
    CHECK_UINT(r->after[0].rows, 2);
    CHECK_UINT(r->after[1].rows, 300);
    CHECK_UINT(r->after[2].rows, 0);
    CHECK(!r->after[0].error);
}

static void check_error(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 2);
    CHECK(r->after[0].error);
    CHECK_UINT(r->after[0].error_code, 1146); /* ER_NO_SUCH_TABLE */
    CHECK_UINT(r->after[1].error_code, 1064); /* ER_PARSE_ERROR */
}

static void check_error_mid_rows(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 1);
    CHECK(r->after[0].error);
    CHECK_UINT(r->after[0].error_code, 1242); /* ER_SUBQUERY_NO_1_ROW */
    CHECK_UINT(r->after[0].rows, 2);
}

static void check_multi(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 2);
    CHECK_UINT(r->after[0].results, 4);
    CHECK_UINT(r->after[0].rows, 3);
    CHECK_UINT(r->after[1].results, 3);
    CHECK(!(r->after[0].status & PROTO_SERVER_MORE_RESULTS_EXISTS));
}

static void check_multi_error(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 1);
    CHECK_UINT(r->after[0].results, 1);
    CHECK(r->after[0].error);
}

static void check_trans(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 6);
    CHECK(proto_tracker_in_trans(&r->after[0]));  /* BEGIN */
    CHECK(proto_tracker_in_trans(&r->after[1]));  /* SELECT 1 */
    CHECK(!proto_tracker_in_trans(&r->after[2])); /* COMMIT */
    CHECK(!(r->after[3].status & PROTO_SERVER_STATUS_AUTOCOMMIT));
    CHECK(proto_tracker_in_trans(&r->after[4])); /* autocommit off: the INSERT opens one */
    CHECK(!proto_tracker_in_trans(&r->after[5]));
}

static void check_call(const struct fixture *f, const struct replay *r)
{
    /* CALL: two result sets and the procedure's final OK, by text and by binary protocol. */
    CHECK_UINT(r->n, 4);
    CHECK_UINT(r->after[0].results, 3);
    CHECK_UINT(r->after[2].results, 3);
}

static void check_infile(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(r->waited_on_client[i]);
    CHECK_UINT(r->after[0].affected_rows, 3);
    CHECK_UINT(r->after[1].results, 2); /* the OK, then the SELECT's result set */
    CHECK_UINT(r->after[2].affected_rows, 0);
}

static void check_prepare(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 10);
    CHECK_UINT(r->after[0].prepare.num_params, 2);
    CHECK_UINT(r->after[0].prepare.num_columns, 2);
    CHECK_UINT(r->after[1].rows, 1);
    CHECK_UINT(r->after[6].prepare.num_params, 0);
    CHECK_UINT(r->after[6].prepare.num_columns, 2);
    CHECK_UINT(r->after[7].rows, 20);
    CHECK_UINT(r->after[8].rows, 20); /* metadata skipped with CACHE_METADATA */
}

static void check_prepare_dml(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 6);
    CHECK_UINT(r->after[0].prepare.num_params, 2);
    CHECK_UINT(r->after[0].prepare.num_columns, 0);
    CHECK_UINT(r->after[1].affected_rows, 1);
    CHECK(r->after[4].error);
}

static void check_cursor(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 5);
    CHECK(proto_tracker_cursor_open(&r->after[1])); /* execute: rows stay on the server */
    CHECK_UINT(r->after[1].rows, 0);
    CHECK_UINT(r->after[2].rows, 2);
    CHECK(proto_tracker_cursor_open(&r->after[2]));
    CHECK_UINT(r->after[3].rows, 3);
    CHECK(r->after[3].status & PROTO_SERVER_STATUS_LAST_ROW_SENT);
}

static void check_commands(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 8);
    for (size_t i = 0; i < 8; i++)
        CHECK_INT(r->after[i].error, i == 3 || i == 6 || i == 7);
}

static void check_field_list(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 2);
    CHECK(!r->after[0].error);
}

static void check_change_user(const struct fixture *f, const struct replay *r)
{
    CHECK_UINT(r->n, 1);
    CHECK(!r->after[0].error);
}


/* Shapes the fixtures cannot hold: built by hand. */
static const uint64_t deof = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_DEPRECATE_EOF;

static void test_no_response_commands(void)
{
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_STMT_CLOSE, deof), PROTO_TRACK_DONE);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_STMT_SEND_LONG_DATA, deof), PROTO_TRACK_DONE);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_QUIT, deof), PROTO_TRACK_DONE);
    CHECK(proto_tracker_idle(&t));
    /* A server packet nobody asked for. */
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x00\x00\x00\x02\x00\x00\x00", 7),
              -EPROTO);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_BINLOG_DUMP, deof), -ENOTSUP);
    CHECK_INT(proto_tracker_begin_packet(&t, (const uint8_t *)"\x17\x01", 2, deof), -EBADMSG);
}

/* A row of 16 MiB - 1 bytes or more continues over several packets; a 0xfe-led row that big
 * is a row, not an EOF, and the continuation is not classified. */
static void test_large_row_continuation(void)
{
    static uint8_t big[PROTO_MAX_PAYLOAD];
    memset(big, 'x', sizeof big);
    big[0] = 0xfe;
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_QUERY, deof), PROTO_TRACK_MORE);
    static const uint8_t count[] = {0x01};
    static const uint8_t def[] = {0x03, 'd', 'e', 'f', 0, 0, 0, 1, 'a', 0, 0x0c, 0x3f, 0,
                                  1, 0, 0, 0, 8, 0x81, 0, 0, 0, 0};
    CHECK_INT(proto_tracker_feed(&t, count, 1), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, def, sizeof def), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, big, sizeof big), PROTO_TRACK_MORE);
    /* The tail starts with 0xff: still row data, not an ERR. */
    static const uint8_t tail[] = {0xff, 0xff, 0, 0};
    CHECK_INT(proto_tracker_feed(&t, tail, sizeof tail), PROTO_TRACK_MORE);
    static const uint8_t end[] = {0xfe, 0, 0, 0x02, 0, 0, 0};
    CHECK_INT(proto_tracker_feed(&t, end, sizeof end), PROTO_TRACK_DONE);
    CHECK_UINT(t.rows, 1);
    /* Only rows may be that large. */
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_QUERY, deof), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, big, sizeof big), -EPROTO);
}

static void test_progress_report_skipped(void)
{
    static const uint8_t progress[] = {0xff, 0xff, 0xff, 0x01, 0x01, 0x10, 0x00, 0x00, 0x00};
    static const uint8_t ok[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    proto_tracker_begin(&t, PROTO_COM_QUERY, deof | PROTO_MARIADB_CLIENT_PROGRESS);
    CHECK_INT(proto_tracker_feed(&t, progress, sizeof progress), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, ok, sizeof ok), PROTO_TRACK_DONE);
    CHECK(!t.error);
    /* Without the capability it is an error like any other. */
    proto_tracker_begin(&t, PROTO_COM_QUERY, deof);
    CHECK_INT(proto_tracker_feed(&t, progress, sizeof progress), PROTO_TRACK_DONE);
    CHECK(t.error);
}

/* COM_CHANGE_USER answered by caching_sha2_password: fast-auth success, then the OK. */
static void test_change_user_fast_auth(void)
{
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    proto_tracker_begin(&t, PROTO_COM_CHANGE_USER, deof);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x01\x03", 2), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x00\x00\x00\x02\x00\x00\x00", 7),
              PROTO_TRACK_DONE);
    /* Full authentication: the client must speak next. */
    proto_tracker_begin(&t, PROTO_COM_CHANGE_USER, deof);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x01\x04", 2), PROTO_TRACK_AUTH);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x00", 1), -EPROTO); /* out of turn */
}

static void test_sequence_checked(void)
{
    static const uint8_t ok1[] = {7, 0, 0, 1, 0, 0, 0, 0x0a, 0, 0, 0};
    static const uint8_t ok3[] = {7, 0, 0, 3, 0, 0, 0, 0x02, 0, 0, 0};
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    proto_tracker_begin(&t, PROTO_COM_QUERY, deof);
    CHECK_INT(proto_tracker_feed_packet(&t, ok1, sizeof ok1), PROTO_TRACK_MORE); /* MORE_RESULTS */
    CHECK_INT(proto_tracker_feed_packet(&t, ok3, sizeof ok3), -EPROTO);
    CHECK_INT(proto_tracker_feed_packet(&t, ok1, sizeof ok1 - 1), -EBADMSG);
}

/* An empty packet after a full-size one only ends that packet, not the file. */
static void test_infile_full_packet(void)
{
    static uint8_t full[PROTO_MAX_PAYLOAD];
    struct proto_tracker t;
    proto_tracker_init(&t, 0);
    proto_tracker_begin(&t, PROTO_COM_QUERY, deof);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\xfbx.csv", 6), PROTO_TRACK_INFILE);
    CHECK_INT(proto_tracker_feed_client(&t, full, sizeof full), PROTO_TRACK_INFILE);
    CHECK_INT(proto_tracker_feed_client(&t, full, 0), PROTO_TRACK_INFILE);
    CHECK_INT(proto_tracker_feed_client(&t, full, 0), PROTO_TRACK_MORE);
    CHECK_INT(proto_tracker_feed(&t, (const uint8_t *)"\x00\x01\x00\x02\x00\x00\x00", 7),
              PROTO_TRACK_DONE);
    CHECK_UINT(t.affected_rows, 1);
}

static void test_select(void) { for_variants("select", check_select); }
static void test_error(void) { for_variants("error", check_error); }
static void test_error_mid_rows(void) { for_variants("error_mid_rows", check_error_mid_rows); }
static void test_multi(void) { for_variants("multi", check_multi); }
static void test_multi_error(void) { for_variants("multi_error", check_multi_error); }
static void test_trans(void) { for_variants("trans", check_trans); }
static void test_call(void) { for_variants("call", check_call); }
static void test_infile(void) { for_variants("infile", check_infile); }
static void test_prepare(void) { for_variants("prepare", check_prepare); }
static void test_prepare_dml(void) { for_variants("prepare_dml", check_prepare_dml); }
static void test_cursor(void) { for_variants("cursor", check_cursor); }
static void test_commands(void) { for_variants("commands", check_commands); }
static void test_field_list(void) { for_variants("field_list", check_field_list); }
static void test_change_user(void) { for_variants("change_user", check_change_user); }

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_all_fixtures), CHECK_CASE(test_select),
        CHECK_CASE(test_error),        CHECK_CASE(test_error_mid_rows),
        CHECK_CASE(test_multi),        CHECK_CASE(test_multi_error),
        CHECK_CASE(test_trans),        CHECK_CASE(test_call),
        CHECK_CASE(test_infile),       CHECK_CASE(test_prepare),
        CHECK_CASE(test_prepare_dml),  CHECK_CASE(test_cursor),
        CHECK_CASE(test_commands),     CHECK_CASE(test_field_list),
        CHECK_CASE(test_change_user),
        CHECK_CASE(test_no_response_commands), CHECK_CASE(test_large_row_continuation),
        CHECK_CASE(test_progress_report_skipped), CHECK_CASE(test_change_user_fast_auth),
        CHECK_CASE(test_sequence_checked), CHECK_CASE(test_infile_full_packet),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
