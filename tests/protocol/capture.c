/* capture: records real MariaDB responses as fixtures for the tracker tests.
 *
 *   capture HOST PORT OUTDIR [SCENARIO]   (user ringsql_test / test_pass, database ringsql_test)
 *
 * For each scenario below and each capability variant it logs in over a plain socket (with
 * protocol/'s own handshake code), runs the steps and writes OUTDIR/<scenario>.<variant>.fix:
 *
 *   # comment
 *   caps <hex>          negotiated capabilities
 *   cmd <hex>           a command payload (sent with sequence id 0)
 *   S <hex>             a physical packet from the server, header included
 *   C <hex>             a physical packet the client sent in the middle (LOCAL INFILE data,
 *                       auth switch answer)
 *
 * Where a response ends is decided without protocol/'s tracker: the server goes quiet, and
 * a COM_PING sent after it must be answered by exactly one OK. So the fixtures are the
 * server's word, and the tracker is tested against them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/netio.h"
#include "protocol/auth.h"
#include "protocol/lenenc.h"
#include "protocol/packet.h"
#include "protocol/response.h"

enum step_kind {
    SETUP,      /* COM_QUERY, not recorded */
    QUERY,      /* COM_QUERY */
    INFILE,     /* COM_QUERY that asks for LOCAL INFILE; the file is `arg` */
    PREPARE,    /* COM_STMT_PREPARE; remembers the statement id */
    EXECUTE,    /* COM_STMT_EXECUTE of the last statement; params: arg split on '|' */
    EXEC_CURSOR,/* the same with a read-only cursor */
    FETCH,      /* COM_STMT_FETCH of n rows */
    STMT_CLOSE,
    STMT_RESET,
    LONG_DATA,  /* COM_STMT_SEND_LONG_DATA for parameter 0 */
    RAW,        /* a command given in hex */
    CHANGE_USER,
};

struct step {
    enum step_kind kind;
    const char *arg;
    unsigned n;
};

enum variant {
    V_EOF = 1,       /* classic EOF packets */
    V_DEOF = 2,      /* CLIENT_DEPRECATE_EOF */
    V_TRACK = 4,     /* DEPRECATE_EOF + SESSION_TRACK */
    V_CACHE = 8,     /* DEPRECATE_EOF + MariaDB CACHE_METADATA + EXTENDED_METADATA */
    V_CACHE_EOF = 16,/* MariaDB CACHE_METADATA with classic EOF packets */
    V_LAST = V_CACHE_EOF,
};

struct scenario {
    const char *name;
    const char *what;
    unsigned variants;
    struct step steps[12];
};

#define ALL (V_EOF | V_DEOF)

/* Steps leave out the fields they do not use. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const struct scenario scenarios[] = {
    {"ok", "statements without result set", ALL | V_TRACK,
     {{QUERY, "DO 1"}, {QUERY, "CREATE TEMPORARY TABLE tt (a INT)"},
      {QUERY, "INSERT INTO tt VALUES (1),(2),(3)"}}},
    {"select", "text result sets", ALL | V_CACHE | V_CACHE_EOF,
     {{QUERY, "SELECT 1 AS a, 'x' AS b, NULL AS c UNION ALL SELECT 2, 'yy', 3.5"},
      {QUERY, "SELECT * FROM seq_1_to_300"},
      {QUERY, "SELECT 1 FROM DUAL WHERE 1 = 0"}}},
    {"error", "errors", ALL,
     {{QUERY, "SELECT * FROM no_such_table"}, {QUERY, "SELEKT"}}},
    {"error_mid_rows", "an error after rows were sent", ALL,
     {{QUERY, "SELECT seq, IF(seq < 3, seq, (SELECT 1 UNION SELECT 2)) FROM seq_1_to_5"}}},
    {"multi", "multi-statement, multi-result", ALL | V_TRACK,
     {{QUERY, "SELECT 1; SELECT 2, 3; DO 4; SELECT 'a' AS x FROM seq_1_to_3"},
      {QUERY, "DO 1; SELECT 1 FROM DUAL WHERE 0; DO 2"}}},
    {"multi_error", "multi-statement stopped by an error", ALL,
     {{QUERY, "SELECT 1; SELECT * FROM no_such_table; SELECT 3"}}},
    {"trans", "transaction status flags", ALL | V_TRACK,
     {{SETUP, "CREATE OR REPLACE TABLE capture_trans (a INT) ENGINE=InnoDB"},
      {QUERY, "BEGIN"}, {QUERY, "SELECT 1"}, {QUERY, "COMMIT"},
      {QUERY, "SET autocommit = 0"}, {QUERY, "INSERT INTO capture_trans VALUES (1)"},
      {QUERY, "ROLLBACK"}}},
    {"call", "stored procedure with several results", ALL,
     {{SETUP, "CREATE OR REPLACE PROCEDURE capture_p() BEGIN SELECT 1 AS a; "
              "SELECT 2 AS b, 'two' AS c; END"},
      {QUERY, "CALL capture_p()"}, {PREPARE, "CALL capture_p()"}, {EXECUTE, ""},
      {STMT_CLOSE}}},
    {"infile", "LOAD DATA LOCAL INFILE", ALL,
     {{SETUP, "CREATE OR REPLACE TABLE capture_infile (a INT, b VARCHAR(10))"},
      {INFILE, "LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE capture_infile "
               "FIELDS TERMINATED BY ','", 0},
      {INFILE, "LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE capture_infile "
               "FIELDS TERMINATED BY ','; SELECT COUNT(*) FROM capture_infile", 0},
      {INFILE, "LOAD DATA LOCAL INFILE 'empty.csv' INTO TABLE capture_infile", 1}}},
    {"prepare", "prepared statements: params and columns, binary rows",
     ALL | V_CACHE | V_CACHE_EOF,
     {{PREPARE, "SELECT ? + 1 AS a, CONCAT(?, 'x') AS b"},
      {EXECUTE, "41|abc"},
      {EXECUTE, "1|"},
      {STMT_RESET},
      {LONG_DATA, "long"},
      {STMT_CLOSE},
      {PREPARE, "SELECT seq, seq * 2 FROM seq_1_to_20"},
      {EXECUTE, ""},
      {EXECUTE, ""},
      {STMT_CLOSE}}},
    {"prepare_dml", "prepared statements without result set", ALL,
     {{SETUP, "CREATE OR REPLACE TABLE capture_dml (a INT, b VARCHAR(10))"},
      {PREPARE, "INSERT INTO capture_dml VALUES (?, ?)"},
      {EXECUTE, "7|seven"},
      {PREPARE, "DO 1"},
      {EXECUTE, ""},
      {PREPARE, "SELECT * FROM no_such_table"},
      {STMT_CLOSE}}},
    {"cursor", "prepared statement with a cursor and COM_STMT_FETCH", ALL,
     {{PREPARE, "SELECT seq FROM seq_1_to_5"},
      {EXEC_CURSOR, ""},
      {FETCH, NULL, 2},
      {FETCH, NULL, 10},
      {STMT_CLOSE}}},
    {"commands", "utility commands", ALL | V_TRACK,
     {{RAW, "0e"},                 /* COM_PING */
      {RAW, "09"},                 /* COM_STATISTICS */
      {RAW, "0272696e6773716c5f74657374"}, /* COM_INIT_DB ringsql_test */
      {RAW, "026e6f5f737563685f6462"},     /* COM_INIT_DB no_such_db -> ERR */
      {RAW, "1b0000"},             /* COM_SET_OPTION MULTI_STATEMENTS_ON */
      {RAW, "1f"},                 /* COM_RESET_CONNECTION */
      {RAW, "1d"},                 /* COM_DAEMON: refused with ERR */
      {RAW, "0473657175656e63655f746573745f7400"}}}, /* COM_FIELD_LIST on a missing table */
    {"field_list", "COM_FIELD_LIST", ALL,
     {{SETUP, "CREATE OR REPLACE TABLE capture_fl (a INT DEFAULT 5, b VARCHAR(3))"},
      {RAW, "04636170747572655f666c00"},   /* COM_FIELD_LIST capture_fl */
      {RAW, "04636170747572655f666c0062"}}}, /* ... with wildcard "b" */
    {"change_user", "COM_CHANGE_USER", ALL, {{CHANGE_USER}}},
    /* The server pads the info string of a USE into a ucs2/utf16/utf32 database's OK. */
    {"wide_db", "USE of databases with wide character sets", ALL | V_TRACK,
     {{SETUP, "CREATE DATABASE IF NOT EXISTS capture_ucs2 CHARACTER SET ucs2"},
      {SETUP, "CREATE DATABASE IF NOT EXISTS capture_utf32 CHARACTER SET utf32"},
      {QUERY, "USE capture_ucs2"}, {QUERY, "USE capture_utf32"}, {QUERY, "USE ringsql_test"},
      {RAW, "02636170747572655f75637332"}}}, /* COM_INIT_DB capture_ucs2 */
};
#pragma GCC diagnostic pop

struct conn {
    int fd;
    uint64_t caps;
    uint8_t scramble[PROTO_SCRAMBLE_LEN];
    uint32_t stmt_id;
    uint16_t stmt_params;
    FILE *out;
};

static uint8_t pkt[1 << 20];

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "capture: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void put_hex(FILE *f, const char *tag, const uint8_t *p, size_t n)
{
    fprintf(f, "%s ", tag);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
    fputc('\n', f);
}

static void send_cmd(struct conn *c, const uint8_t *payload, size_t n, bool record)
{
    uint8_t buf[4096];
    ssize_t w = proto_build_raw(buf, sizeof buf, 0, payload, n);
    if (w < 0 || net_write_all(c->fd, buf, (size_t)w) < 0)
        die("cannot send a command");
    if (record)
        put_hex(c->out, "cmd", payload, n);
}

/* Reads server packets until the server is quiet; returns the count, copies the last one. */
static unsigned drain(struct conn *c, bool record, uint8_t *last, size_t *last_len,
                      int first_ms)
{
    unsigned count = 0;
    size_t n;
    for (;;) {
        int rc = net_read_packet(c->fd, pkt, sizeof pkt, &n, count == 0 ? first_ms : 300);
        if (rc == -ETIMEDOUT)
            return count;
        if (rc < 0)
            die("connection failed while reading (%s)", strerror(-rc));
        if (record)
            put_hex(c->out, "S", pkt, n);
        memcpy(last, pkt, n < 4096 ? n : 4096);
        *last_len = n;
        count++;
    }
}

/* The server must answer a ping with exactly one OK: proof that the response before it was
 * read to its end. */
static void confirm_idle(struct conn *c)
{
    static const uint8_t ping = PROTO_COM_PING;
    uint8_t last[4096];
    size_t n = 0;
    send_cmd(c, &ping, 1, false);
    unsigned count = drain(c, false, last, &n, 3000);
    if (count != 1 || n < 5 || last[4] != PROTO_HDR_OK)
        die("server was not idle after a response");
}

static void run_and_record(struct conn *c, const uint8_t *payload, size_t n, bool expect_quiet)
{
    uint8_t last[4096];
    size_t ln = 0;
    send_cmd(c, payload, n, true);
    unsigned count = drain(c, true, last, &ln, expect_quiet ? 500 : 3000);
    if (expect_quiet != (count == 0))
        die("unexpected response count for a command");
    if (count > 0 && last[4] == PROTO_HDR_OK && n > 0 && payload[0] == PROTO_COM_STMT_PREPARE) {
        c->stmt_id = (uint32_t)last[5] | (uint32_t)last[6] << 8 | (uint32_t)last[7] << 16 |
                     (uint32_t)last[8] << 24;
    }
    confirm_idle(c);
}

static void query(struct conn *c, const char *sql, bool record)
{
    uint8_t buf[4096];
    size_t n = strlen(sql);
    buf[0] = PROTO_COM_QUERY;
    memcpy(buf + 1, sql, n);
    if (record) {
        run_and_record(c, buf, n + 1, false);
        return;
    }
    uint8_t last[4096];
    size_t ln;
    send_cmd(c, buf, n + 1, false);
    drain(c, false, last, &ln, 3000);
    if (ln > 4 && last[4] == PROTO_HDR_ERR)
        die("setup statement failed: %s", sql);
}

static void prepare(struct conn *c, const char *sql)
{
    uint8_t buf[4096], first[4096];
    size_t n = strlen(sql), ln = 0;
    buf[0] = PROTO_COM_STMT_PREPARE;
    memcpy(buf + 1, sql, n);
    send_cmd(c, buf, n + 1, true);
    /* Read the first packet separately to learn the statement id and parameter count. */
    int rc = net_read_packet(c->fd, first, sizeof first, &ln, 3000);
    if (rc < 0)
        die("no answer to a prepare");
    put_hex(c->out, "S", first, ln);
    struct proto_prepare_ok ok;
    if (first[4] == PROTO_HDR_OK &&
        proto_prepare_ok_parse(first + 4, ln - 4, c->caps, &ok) == 0) {
        c->stmt_id = ok.stmt_id;
        c->stmt_params = ok.num_params;
    }
    uint8_t last[4096];
    drain(c, true, last, &ln, 3000);
    confirm_idle(c);
}

static void execute(struct conn *c, const char *params, bool cursor)
{
    uint8_t buf[4096];
    struct proto_wr w = proto_wr_init(buf, sizeof buf);
    proto_wr_u8(&w, PROTO_COM_STMT_EXECUTE);
    proto_wr_u32(&w, c->stmt_id);
    proto_wr_u8(&w, cursor ? PROTO_CURSOR_TYPE_READ_ONLY : PROTO_CURSOR_TYPE_NO_CURSOR);
    proto_wr_u32(&w, 1);
    if (c->stmt_params > 0) {
        proto_wr_zeros(&w, (c->stmt_params + 7u) / 8u); /* NULL bitmap: none */
        proto_wr_u8(&w, 1);                             /* types follow */
        for (unsigned i = 0; i < c->stmt_params; i++) {
            proto_wr_u8(&w, 0xfd); /* MYSQL_TYPE_VAR_STRING: the server converts */
            proto_wr_u8(&w, 0);
        }
        const char *p = params;
        for (unsigned i = 0; i < c->stmt_params; i++) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            proto_wr_lenenc_str(&w, p, n);
            p = bar ? bar + 1 : p + n;
        }
    }
    run_and_record(c, buf, w.len, false);
}

static void stmt_cmd(struct conn *c, uint8_t cmd, const uint8_t *extra, size_t n, bool quiet)
{
    uint8_t buf[64];
    struct proto_wr w = proto_wr_init(buf, sizeof buf);
    proto_wr_u8(&w, cmd);
    proto_wr_u32(&w, c->stmt_id);
    proto_wr_mem(&w, extra, n);
    run_and_record(c, buf, w.len, quiet);
}

static void raw(struct conn *c, const char *hex)
{
    uint8_t buf[256];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &buf[i]);
    run_and_record(c, buf, n, false);
}

/* Sends a file (or nothing) after the server's LOCAL INFILE request, then reads its reply. */
static void infile(struct conn *c, const char *sql, bool empty)
{
    static const char data[] = "1,one\n2,two\n3,three\n";
    uint8_t buf[4096], last[4096];
    size_t n = strlen(sql), ln = 0;
    buf[0] = PROTO_COM_QUERY;
    memcpy(buf + 1, sql, n);
    send_cmd(c, buf, n + 1, true);
    drain(c, true, last, &ln, 3000);
    if (ln < 5 || last[4] != PROTO_HDR_LOCAL_INFILE)
        die("no LOCAL INFILE request for: %s", sql);
    uint8_t seq = proto_seq_next(last[3]);
    ssize_t w;
    if (!empty) {
        w = proto_build_raw(buf, sizeof buf, seq++, data, sizeof data - 1);
        net_write_all(c->fd, buf, (size_t)w);
        put_hex(c->out, "C", buf, (size_t)w);
    }
    w = proto_build_raw(buf, sizeof buf, seq, NULL, 0);
    net_write_all(c->fd, buf, (size_t)w);
    put_hex(c->out, "C", buf, (size_t)w);
    drain(c, true, last, &ln, 3000);
    confirm_idle(c);
}

static void change_user(struct conn *c)
{
    uint8_t buf[512], last[4096];
    size_t ln = 0;
    uint8_t answer[PROTO_NATIVE_HASH_LEN];
    size_t alen = proto_native_scramble("test_pass", 9, c->scramble, answer);
    struct proto_wr w = proto_wr_init(buf, sizeof buf);
    proto_wr_u8(&w, PROTO_COM_CHANGE_USER);
    proto_wr_nul_str(&w, "ringsql_test", 12);
    proto_wr_u8(&w, (uint8_t)alen);
    proto_wr_mem(&w, answer, alen);
    proto_wr_nul_str(&w, "ringsql_test", 12);
    proto_wr_u16(&w, PROTO_CHARSET_UTF8MB4_GENERAL_CI);
    proto_wr_nul_str(&w, PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE));
    send_cmd(c, buf, w.len, true);
    drain(c, true, last, &ln, 3000);
    if (ln > 4 && last[4] == PROTO_HDR_EOF) {
        struct proto_login l = {.user = "ringsql_test", .password = "test_pass"};
        ssize_t n = proto_client_build_auth_switch_reply(buf, sizeof buf, proto_seq_next(last[3]),
                                                         &l, last + 4, ln - 4);
        if (n < 0)
            die("cannot answer the auth switch");
        net_write_all(c->fd, buf, (size_t)n);
        put_hex(c->out, "C", buf, (size_t)n);
        drain(c, true, last, &ln, 3000);
    }
    confirm_idle(c);
}

static void run_step(struct conn *c, const struct step *s)
{
    uint8_t fetch[4];
    switch (s->kind) {
    case SETUP:
        query(c, s->arg, false);
        break;
    case QUERY:
        query(c, s->arg, true);
        break;
    case INFILE:
        infile(c, s->arg, s->n == 1);
        break;
    case PREPARE:
        prepare(c, s->arg);
        break;
    case EXECUTE:
    case EXEC_CURSOR:
        execute(c, s->arg, s->kind == EXEC_CURSOR);
        break;
    case FETCH:
        fetch[0] = (uint8_t)s->n, fetch[1] = fetch[2] = fetch[3] = 0;
        stmt_cmd(c, PROTO_COM_STMT_FETCH, fetch, 4, false);
        break;
    case STMT_CLOSE:
        stmt_cmd(c, PROTO_COM_STMT_CLOSE, NULL, 0, true);
        break;
    case STMT_RESET:
        stmt_cmd(c, PROTO_COM_STMT_RESET, NULL, 0, false);
        break;
    case LONG_DATA: {
        uint8_t extra[64] = {0, 0}; /* parameter 0 */
        size_t n = strlen(s->arg);
        memcpy(extra + 2, s->arg, n);
        stmt_cmd(c, PROTO_COM_STMT_SEND_LONG_DATA, extra, n + 2, true);
        break;
    }
    case RAW:
        raw(c, s->arg);
        break;
    case CHANGE_USER:
        change_user(c);
        break;
    }
}

static const char *variant_name(unsigned v)
{
    switch (v) {
    case V_EOF:
        return "eof";
    case V_DEOF:
        return "deof";
    case V_TRACK:
        return "track";
    case V_CACHE:
        return "cache";
    default:
        return "cache_eof";
    }
}

static uint64_t variant_caps(unsigned v)
{
    uint64_t caps = PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_LOCAL_FILES |
                    PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_MULTI_STATEMENTS |
                    PROTO_CLIENT_MULTI_RESULTS | PROTO_CLIENT_PS_MULTI_RESULTS |
                    PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA;
    if (v != V_EOF && v != V_CACHE_EOF)
        caps |= PROTO_CLIENT_DEPRECATE_EOF;
    if (v == V_TRACK)
        caps |= PROTO_CLIENT_SESSION_TRACK;
    if (v == V_CACHE || v == V_CACHE_EOF)
        caps |= PROTO_MARIADB_CLIENT_CACHE_METADATA | PROTO_MARIADB_CLIENT_EXTENDED_METADATA;
    return caps;
}

/* Logs in, remembering the scramble (COM_CHANGE_USER answers it again). */
static void login(struct conn *c, const char *host, unsigned port, unsigned v)
{
    char err[256];
    uint16_t status;
    struct proto_login l = {
        .user = "ringsql_test", .password = "test_pass", .database = "ringsql_test",
        .caps = variant_caps(v), .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
        .max_packet = 1 << 24,
    };
    c->fd = net_connect(host, port);
    if (c->fd < 0)
        die("cannot connect to %s", host);
    /* Peek at the handshake for the scramble, then log in with it. */
    size_t n;
    if (net_read_packet(c->fd, pkt, sizeof pkt, &n, 5000) < 0)
        die("no handshake");
    struct proto_handshake hs;
    if (proto_handshake_parse(pkt + 4, n - 4, &hs) < 0)
        die("bad handshake");
    memcpy(c->scramble, hs.scramble, sizeof c->scramble);
    uint8_t out[512];
    ssize_t w = proto_client_build_login(out, sizeof out, &l, &hs);
    c->caps = proto_client_caps(&l, &hs);
    if (w < 0 || net_write_all(c->fd, out, (size_t)w) < 0)
        die("cannot send login");
    if (net_read_packet(c->fd, pkt, sizeof pkt, &n, 5000) < 0 || pkt[4] != PROTO_HDR_OK)
        die("login refused");
    (void)err, (void)status;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: capture HOST PORT OUTDIR [SCENARIO]\n");
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[2]);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *sc = &scenarios[i];
        if (argc == 5 && strcmp(argv[4], sc->name) != 0)
            continue;
        for (unsigned v = 1; v <= V_LAST; v <<= 1) {
            if (!(sc->variants & v))
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s.%s.fix", argv[3], sc->name, variant_name(v));
            struct conn c = {0};
            c.out = fopen(path, "w");
            if (!c.out)
                die("cannot write %s", path);
            login(&c, argv[1], port, v);
            fprintf(c.out, "# %s (%s), captured from MariaDB by tests/protocol/capture\n",
                    sc->what, variant_name(v));
            fprintf(c.out, "caps %llx\n", (unsigned long long)c.caps);
            for (size_t s = 0; s < sizeof sc->steps / sizeof sc->steps[0]; s++) {
                if (sc->steps[s].kind == SETUP && !sc->steps[s].arg)
                    break;
                run_step(&c, &sc->steps[s]);
            }
            fclose(c.out);
            close(c.fd);
            printf("wrote %s\n", path);
        }
    }
    return 0;
}
