/* Server-side prepared statements under pool.mode: transaction, end to end (real MariaDB, real
 * ringsql, libmariadb's mysql_stmt_* clients): a prepared statement no longer pins its client.
 * The statement ids a client sees are ringsql's own; each backend connection keeps the
 * statements prepared on it (at most pool.max_prepared_per_connection, least recently used
 * closed first), and an execute on a connection that lacks the statement prepares it there
 * first. Checked here: many clients' statements on few connections; a statement executed on
 * a connection other than the one it was prepared on; each client's own parameter types;
 * closed and unknown ids (ERR 1243, as from the server); long data and cursors, which pin;
 * each client's own insert id and affected rows; the bound per connection and per session
 * (16382 statements, then ERR 1461); session mode as before. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"

#define START_WAIT_MS 15000
#define WAIT_MS 5000
#define VALUE_LEN 128
#define MAX_COLUMNS 4
#define ER_UNKNOWN_STMT_HANDLER 1243
#define ER_MAX_PREPARED_STMT_COUNT_REACHED 1461
#define ER_CON_COUNT_ERROR 1040
#define SESSION_STATEMENT_LIMIT 16382 /* the server's default max_prepared_stmt_count */

static struct tdb_proxy proxy;

/* timeouts.pool_wait for the next start: long enough that a command never misses a connection
 * that is on its way back, short enough that a wrongly held one fails the case soon. A case
 * that expects ERR 1040 (a pinned connection) sets a shorter one. */
static const char *pool_wait = "2s";

/* workers 1, a pool of pool_size connections in mode; pool_extra: more lines of the pool
 * block (each "  key: value\n"), or NULL. */
static bool start_proxy(const char *mode, unsigned pool_size, const char *pool_extra)
{
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: 1\n" TDB_YAML_PRIMARY_AND_APP "pool:\n"
             "  size: %u\n"
             "  mode: %s\n"
             "%s"
             "timeouts:\n"
             "  pool_wait: %s\n"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n"
             "log:\n"
             "  level: debug\n",
             port, tdb_server_host(), tdb_server_port(), pool_size, mode,
             pool_extra ? pool_extra : "", pool_wait, admin);
    pool_wait = "2s";
    return CHECK(tdb_proxy_start(&proxy, port, yaml, START_WAIT_MS));
}

static bool start_txn_proxy(unsigned pool_size, const char *pool_extra)
{
    return start_proxy("transaction", pool_size, pool_extra);
}

static void stop_proxy(void)
{
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

static MYSQL *client(const char *db)
{
    return tdb_connect_app(proxy.port, db, WAIT_MS);
}

static void close_stmts(MYSQL_STMT **st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (st[i])
            mysql_stmt_close(st[i]);
}

/* Runs sql (which may hold several statements) on a direct connection to the server. */
static bool server_exec(const char *sql)
{
    MYSQL *d = tdb_connect_server();
    bool ok = CHECK(d != NULL) && CHECK(tdb_exec(d, sql));
    if (d)
        mysql_close(d);
    return ok;
}

/* tdb_query_value, retrying while the answer is 1040 (a connection on its way back from the
 * reset after its pinned client left), bounded. */
static bool query_value_retry(MYSQL *m, const char *sql, char *out, size_t outlen)
{
    for (uint64_t deadline = tdb_now_ms() + WAIT_MS; tdb_now_ms() < deadline;) {
        if (mysql_query(m, sql) != 0) {
            if (mysql_errno(m) == ER_CON_COUNT_ERROR)
                continue;
            break;
        }
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        snprintf(out, outlen, "%s", row && row[0] ? row[0] : "NULL");
        mysql_free_result(r);
        return row != NULL || check_failf(__FILE__, __LINE__, "\"%s\": no row", sql);
    }
    return check_failf(__FILE__, __LINE__, "\"%s\" failed: %u %s", sql, mysql_errno(m),
                       mysql_error(m));
}

/* --- prepared statements through libmariadb --- */

/* A statement prepared on m, or NULL (the failure reported). */
static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st) {
        check_failf(__FILE__, __LINE__, "mysql_stmt_init: %s", mysql_error(m));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) == 0)
        return st;
    check_failf(__FILE__, __LINE__, "prepare \"%s\": %u %s", sql, mysql_stmt_errno(st),
                mysql_stmt_error(st));
    mysql_stmt_close(st);
    return NULL;
}

static MYSQL_BIND longlong_param(long long *v)
{
    return (MYSQL_BIND){.buffer_type = MYSQL_TYPE_LONGLONG, .buffer = v};
}

static MYSQL_BIND string_param(const char *s)
{
    return (MYSQL_BIND){
        .buffer_type = MYSQL_TYPE_STRING, .buffer = (char *)s, .buffer_length = strlen(s)};
}

/* Copies the row fetched into cols/lens/nulls into out, columns joined by ','. */
static void join_columns(char cols[][VALUE_LEN], const unsigned long *lens, const my_bool *nulls,
                         unsigned n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < n && used < outlen; i++) {
        int w = nulls[i] ? snprintf(out + used, outlen - used, "%sNULL", i ? "," : "")
                         : snprintf(out + used, outlen - used, "%s%.*s", i ? "," : "", (int)lens[i],
                                    cols[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* Executes st, binding params first when given (NULL executes with what was bound before,
 * and libmariadb then sends the values without their types), and copies its first row,
 * columns as strings joined by ',', into out ("" for a statement without a result set).
 * Returns 0, the error's code, or mysql_stmt_fetch's MYSQL_NO_DATA / MYSQL_DATA_TRUNCATED
 * when there was no whole row. Reports nothing. */
static unsigned try_execute(MYSQL_STMT *st, MYSQL_BIND *params, char *out, size_t outlen)
{
    out[0] = '\0';
    if ((params && mysql_stmt_bind_param(st, params) != 0) || mysql_stmt_execute(st) != 0)
        return mysql_stmt_errno(st);
    unsigned n = mysql_stmt_field_count(st);
    if (n == 0)
        return 0;
    if (n > MAX_COLUMNS) { /* more than this reads: drained, and said truncated */
        mysql_stmt_store_result(st);
        mysql_stmt_free_result(st);
        return MYSQL_DATA_TRUNCATED;
    }
    char cols[MAX_COLUMNS][VALUE_LEN];
    unsigned long lens[MAX_COLUMNS] = {0};
    my_bool nulls[MAX_COLUMNS] = {0};
    MYSQL_BIND r[MAX_COLUMNS];
    memset(r, 0, sizeof r);
    for (unsigned i = 0; i < n; i++)
        r[i] = (MYSQL_BIND){.buffer_type = MYSQL_TYPE_STRING,
                            .buffer = cols[i],
                            .buffer_length = VALUE_LEN,
                            .length = &lens[i],
                            .is_null = &nulls[i]};
    int rc = -1;
    unsigned result = 0;
    if (mysql_stmt_bind_result(st, r) == 0 && mysql_stmt_store_result(st) == 0 &&
        (rc = mysql_stmt_fetch(st)) == 0)
        join_columns(cols, lens, nulls, n, out, outlen);
    else
        result = mysql_stmt_errno(st) ? mysql_stmt_errno(st) : (unsigned)rc;
    mysql_stmt_free_result(st);
    return result;
}

/* try_execute, reporting a failure. */
static bool execute(MYSQL_STMT *st, MYSQL_BIND *params, char *out, size_t outlen)
{
    unsigned e = try_execute(st, params, out, outlen);
    return e == 0 || check_failf(__FILE__, __LINE__, "execute: %u %s", e,
                                 e == MYSQL_NO_DATA ? "(no row)" : mysql_stmt_error(st));
}

static bool stmt_value_is(MYSQL_STMT *st, MYSQL_BIND *params, const char *want)
{
    char v[VALUE_LEN * MAX_COLUMNS];
    return execute(st, params, v, sizeof v) && CHECK_STR(v, want);
}

/* stmt_value_is without binding, retrying while the answer is 1040 (a connection on its way
 * back from the reset after its pinned client left), bounded. */
static bool stmt_value_retry(MYSQL_STMT *st, const char *want)
{
    char v[VALUE_LEN * MAX_COLUMNS];
    unsigned e = ER_CON_COUNT_ERROR;
    for (uint64_t deadline = tdb_now_ms() + WAIT_MS;
         e == ER_CON_COUNT_ERROR && tdb_now_ms() < deadline;)
        e = try_execute(st, NULL, v, sizeof v);
    if (e != 0)
        return check_failf(__FILE__, __LINE__, "execute: %u %s", e, mysql_stmt_error(st));
    return CHECK_STR(v, want);
}

/* The type of st's first result column, as the last execute described it. */
static int column_type(MYSQL_STMT *st)
{
    MYSQL_RES *md = mysql_stmt_result_metadata(st);
    MYSQL_FIELD *f = md ? mysql_fetch_field_direct(md, 0) : NULL;
    int type = f ? (int)f->type : -1;
    mysql_free_result(md);
    return type;
}

/* --- commands written around libmariadb, on its own socket --- */

/* Writes one command packet (sequence 0) straight onto m's socket: libmariadb sends nothing
 * for a statement it closed. m must have no response pending. */
static bool raw_command(MYSQL *m, const uint8_t *payload, size_t len)
{
    uint8_t pkt[512];
    if (len + 4 > sizeof pkt)
        return false;
    pkt[0] = (uint8_t)len;
    pkt[1] = (uint8_t)(len >> 8);
    pkt[2] = (uint8_t)(len >> 16);
    pkt[3] = 0;
    memcpy(pkt + 4, payload, len);
    int fd = (int)mysql_get_socket(m);
    for (size_t done = 0; done < len + 4;) {
        ssize_t w = write(fd, pkt + done, len + 4 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

/* Reads exactly n bytes from fd, before deadline (tdb_now_ms). */
static bool read_full(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = tdb_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
            return false;
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* Reads the one packet that answers a raw command into payload. Returns its length, or -1
 * when none came whole within WAIT_MS. */
static int raw_read(MYSQL *m, uint8_t *payload, size_t cap)
{
    uint64_t deadline = tdb_now_ms() + WAIT_MS;
    int fd = (int)mysql_get_socket(m);
    uint8_t hdr[4];
    if (!read_full(fd, hdr, sizeof hdr, deadline))
        return -1;
    size_t len = hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16;
    if (len == 0 || len > cap || !read_full(fd, payload, len, deadline))
        return -1;
    return (int)len;
}

/* An ERR packet's code; 0 for any other packet; -1 for none. */
static int err_code(const uint8_t *payload, int len)
{
    if (len < 0)
        return -1;
    return len >= 3 && payload[0] == 0xff ? payload[1] | payload[2] << 8 : 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* COM_STMT_EXECUTE of id, no cursor, no parameters: the answer's ERR code (see err_code). */
static int raw_execute(MYSQL *m, uint32_t id)
{
    uint8_t cmd[10] = {0x17}, in[1024];
    put_le32(cmd + 1, id);
    cmd[5] = 0;           /* flags: no cursor */
    put_le32(cmd + 6, 1); /* iteration count */
    if (!raw_command(m, cmd, sizeof cmd))
        return -1;
    return err_code(in, raw_read(m, in, sizeof in));
}

/* COM_STMT_CLOSE of id: no answer, as from a server. */
static bool raw_close(MYSQL *m, uint32_t id)
{
    uint8_t cmd[5] = {0x19};
    put_le32(cmd + 1, id);
    return raw_command(m, cmd, sizeof cmd);
}

/* COM_STMT_PREPARE of sql, a statement with no parameters and no result columns (so that its
 * answer is one packet): 0 when prepared, else the ERR's code (or -1). Kept outside
 * libmariadb so that thousands of statements cost no client memory. */
static int raw_prepare(MYSQL *m, const char *sql)
{
    uint8_t cmd[256], in[1024];
    size_t len = strlen(sql);
    if (len + 1 > sizeof cmd)
        return -1;
    cmd[0] = 0x16;
    memcpy(cmd + 1, sql, len);
    if (!raw_command(m, cmd, len + 1))
        return -1;
    int n = raw_read(m, in, sizeof in);
    if (n >= 9 && in[0] == 0x00)
        return in[5] == 0 && in[6] == 0 && in[7] == 0 && in[8] == 0 ? 0 : -1;
    return n < 0 || in[0] != 0xff ? -1 : err_code(in, n);
}

/* --- the server, over a direct connection --- */

/* A global status variable's value, or -1. */
static long long global_status(MYSQL *d, const char *name)
{
    char sql[256], v[64];
    snprintf(sql, sizeof sql,
             "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
             "WHERE VARIABLE_NAME = '%s'",
             name);
    return tdb_query_value(d, sql, v, sizeof v) ? atoll(v) : -1;
}

/* The server connections of TDB_USER opened after d (d opened before ringsql started:
 * ringsql's), without d and without the maintenance thread's short-lived one that reads the
 * stored functions' names every 10 s. -1 on failure. */
static int backend_connections(MYSQL *d)
{
    char sql[512], v[32];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '" TDB_USER
             "' AND ID > %lu AND ID <> CONNECTION_ID() "
             "AND IFNULL(INFO, '') NOT LIKE '%%information_schema.ROUTINES%%'",
             mysql_thread_id(d));
    return tdb_query_value(d, sql, v, sizeof v) ? atoi(v) : -1;
}

/* True when ringsql holds at most max server connections. A count above max is looked at
 * again for up to a second: the maintenance thread's routine fetch connects and leaves again
 * in that time (before its query shows), while a pool connection too many stays. */
static bool at_most_backend_connections(MYSQL *d, int max)
{
    int n = backend_connections(d);
    for (uint64_t end = tdb_now_ms() + 1000; n > max && tdb_now_ms() < end;)
        n = backend_connections(d);
    if (n >= 0 && n <= max)
        return true;
    return check_failf(__FILE__, __LINE__, "ringsql holds %d server connections, want <= %d", n,
                       max);
}

/* Waits (bounded) until no connection of TDB_USER but d's is left on the server: an earlier
 * case's, whose prepared statements the server frees as it ends. One that stays (another
 * test's client the server has not let go yet) only makes the baseline count higher: the
 * bound is checked against the count read after this. */
static bool no_other_server_connections(MYSQL *d)
{
    static const char sql[] = "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                              "WHERE USER = '" TDB_USER "' AND ID <> CONNECTION_ID()";
    char v[32] = "";
    for (uint64_t end = tdb_now_ms() + WAIT_MS; tdb_now_ms() < end;)
        if (!tdb_query_value(d, sql, v, sizeof v) || strcmp(v, "0") == 0)
            break;
    if (strcmp(v, "0") != 0)
        printf("# %s other connections of " TDB_USER " still on the server\n", v);
    return true;
}

/* --- the cases --- */

/* 20 clients, 2 connections: each prepares two statements (all prepare first), then each
 * executes them in turn, 5 rounds; every result is right, no 1040, and the server sees no
 * more than ringsql's 2 connections. */
static void test_many_clients_few_connections(void)
{
    enum { CLIENTS = 20, ROUNDS = 5 };
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    char sql[1024];
    int n =
        snprintf(sql, sizeof sql,
                 "CREATE OR REPLACE TABLE " TDB_DATABASE ".txn_stmt_t (id INT PRIMARY KEY, v INT);"
                 "INSERT INTO " TDB_DATABASE ".txn_stmt_t VALUES (1, 10)");
    for (int i = 2; i <= CLIENTS && n > 0 && (size_t)n < sizeof sql; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", (%d, %d)", i, i * 10);
    if (!CHECK(tdb_exec(d, sql)) || !start_txn_proxy(2, NULL)) {
        mysql_close(d);
        return;
    }
    MYSQL *m[CLIENTS] = {0};
    MYSQL_STMT *plus[CLIENTS] = {0}, *row[CLIENTS] = {0};
    bool ok = true;
    for (int i = 0; i < CLIENTS && ok; i++) {
        ok = CHECK((m[i] = client(TDB_DATABASE)) != NULL) &&
             CHECK((plus[i] = prepare(m[i], "SELECT ? + 1")) != NULL) &&
             CHECK((row[i] = prepare(m[i], "SELECT v FROM txn_stmt_t WHERE id = ?")) != NULL);
        if (!ok)
            printf("# client %d of %d could not prepare\n", i + 1, CLIENTS);
    }
    ok = ok && at_most_backend_connections(d, 2);
    for (int r = 0; r < ROUNDS && ok; r++) {
        for (int i = 0; i < CLIENTS && ok; i++) {
            long long x = i * 100 + r, id = i + 1;
            char want_plus[32], want_v[32];
            snprintf(want_plus, sizeof want_plus, "%lld", x + 1);
            snprintf(want_v, sizeof want_v, "%lld", id * 10);
            MYSQL_BIND px = longlong_param(&x), pid = longlong_param(&id);
            ok = stmt_value_is(plus[i], &px, want_plus) && stmt_value_is(row[i], &pid, want_v);
            if (!ok)
                printf("# round %d, client %d\n", r, i + 1);
        }
        ok = ok && at_most_backend_connections(d, 2);
    }
    for (int i = 0; i < CLIENTS; i++)
        close_stmts((MYSQL_STMT *[]){plus[i], row[i]}, 2);
    tdb_close_all(m, CLIENTS);
    stop_proxy();
    CHECK(tdb_exec(d, "DROP TABLE " TDB_DATABASE ".txn_stmt_t"));
    mysql_close(d);
}

/* A statement prepared on one connection runs on the other while the first is held: ringsql
 * prepares it there first (the server counts one more COM_STMT_PREPARE). c holds one
 * connection in a transaction while a prepares on the other; b then takes that one, and c lets
 * its own go, so a's execute can only be served by the connection that never saw the
 * statement. Once both are free it runs again, the last time without binding again. */
static void test_executes_on_another_connection(void)
{
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    if (!start_txn_proxy(2, NULL)) {
        mysql_close(d);
        return;
    }
    MYSQL *a = client(NULL), *b = client(NULL), *c = client(NULL);
    MYSQL_STMT *st = NULL;
    if (CHECK(a && b && c)) {
        char tb[32], tc[32];
        long long x = 21;
        MYSQL_BIND p = longlong_param(&x);
        CHECK(tdb_exec(c, "BEGIN"));
        CHECK(tdb_query_value(c, "SELECT @@pseudo_thread_id", tc, sizeof tc));
        st = prepare(a, "SELECT ? * 2"); /* on the connection c does not hold */
        if (CHECK(st != NULL) && CHECK(tdb_exec(b, "BEGIN")) &&
            CHECK(tdb_query_value(b, "SELECT @@pseudo_thread_id", tb, sizeof tb))) {
            CHECK(strcmp(tb, tc) != 0); /* b holds the one a prepared on */
            CHECK(tdb_exec(c, "COMMIT"));
            long long before = global_status(d, "COM_STMT_PREPARE");
            stmt_value_is(st, &p, "42");
            long long after = global_status(d, "COM_STMT_PREPARE");
            if (!CHECK(before >= 0 && after > before))
                printf("# Com_stmt_prepare %lld -> %lld: not prepared again\n", before, after);
            CHECK(tdb_exec(b, "COMMIT"));
            x = 50;
            stmt_value_is(st, &p, "100");
            x = 60;
            stmt_value_is(st, NULL, "120");
        }
    }
    close_stmts(&st, 1);
    tdb_close_all((MYSQL *[]){a, b, c}, 3);
    stop_proxy();
    mysql_close(d);
}

/* The same text "SELECT ?" for a (LONGLONG 7) and b (STRING "x"), executed in turn, the second
 * time without binding again (libmariadb then sends the value without its type): each gets
 * its own value back, with its own type. */
static void parameter_types_sequence(MYSQL *a, MYSQL *b)
{
    MYSQL_STMT *sa = prepare(a, "SELECT ?"), *sb = prepare(b, "SELECT ?");
    long long seven = 7;
    MYSQL_BIND pa = longlong_param(&seven), pb = string_param("x");
    if (CHECK(sa && sb)) {
        for (int round = 0; round < 2; round++) {
            if (stmt_value_is(sa, round ? NULL : &pa, "7"))
                CHECK_INT(column_type(sa), MYSQL_TYPE_LONGLONG);
            if (stmt_value_is(sb, round ? NULL : &pb, "x"))
                CHECK_INT(column_type(sb), MYSQL_TYPE_STRING);
        }
    }
    close_stmts((MYSQL_STMT *[]){sa, sb}, 2);
}

static void test_parameter_types_stay_each_clients_own(void)
{
    /* Directly first: what the sequence expects is what the server does. */
    MYSQL *da = tdb_connect_server(), *db = tdb_connect_server();
    if (CHECK(da && db))
        parameter_types_sequence(da, db);
    tdb_close_all((MYSQL *[]){da, db}, 2);
    if (!start_txn_proxy(1, NULL))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b))
        parameter_types_sequence(a, b);
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* A closed statement's id, and one never given, are unknown: ERR 1243 for an execute, as from
 * the server; closing an id again gets no answer; the session goes on. */
static void closed_ids_are_unknown(MYSQL *m)
{
    MYSQL_STMT *st = prepare(m, "SELECT 11");
    if (!CHECK(st != NULL))
        return;
    stmt_value_is(st, NULL, "11");
    uint32_t id = (uint32_t)st->stmt_id;
    mysql_stmt_close(st);
    CHECK_INT(raw_execute(m, id), ER_UNKNOWN_STMT_HANDLER);
    CHECK(raw_close(m, id)); /* a second close */
    CHECK_INT(raw_execute(m, 0x7ffffff0u), ER_UNKNOWN_STMT_HANDLER);
    CHECK(raw_close(m, 0x7ffffff1u)); /* a close of an id never given */
    char v[32];
    if (CHECK(tdb_query_value(m, "SELECT 5", v, sizeof v))) /* the next answer is its own */
        CHECK_STR(v, "5");
    st = prepare(m, "SELECT 12");
    if (CHECK(st != NULL))
        stmt_value_is(st, NULL, "12");
    close_stmts(&st, 1);
    CHECK_INT(raw_execute(m, id), ER_UNKNOWN_STMT_HANDLER);
    if (CHECK(tdb_query_value(m, "SELECT 6", v, sizeof v)))
        CHECK_STR(v, "6");
}

static void test_close_and_unknown(void)
{
    if (!start_txn_proxy(1, NULL))
        return;
    MYSQL *m = client(NULL);
    if (CHECK(m != NULL))
        closed_ids_are_unknown(m);
    tdb_close_all(&m, 1);
    stop_proxy();
}

enum { CHUNK = 20000 };

/* Sends CHUNK bytes of fill as long data for st's parameter 0. */
static bool send_chunk(MYSQL_STMT *st, char fill)
{
    static char chunk[CHUNK];
    memset(chunk, fill, sizeof chunk);
    if (mysql_stmt_send_long_data(st, 0, chunk, sizeof chunk) == 0)
        return true;
    return check_failf(__FILE__, __LINE__, "send_long_data: %u %s", mysql_stmt_errno(st),
                       mysql_stmt_error(st));
}

/* A statement prepared for long data: INSERT of one TEXT value, bound as a string. */
static MYSQL_STMT *long_data_insert(MYSQL *m)
{
    MYSQL_STMT *st = prepare(m, "INSERT INTO txn_stmt_ld (body) VALUES (?)");
    MYSQL_BIND p = {.buffer_type = MYSQL_TYPE_STRING};
    if (st && !CHECK(mysql_stmt_bind_param(st, &p) == 0)) {
        mysql_stmt_close(st);
        st = NULL;
    }
    return st;
}

/* Long data reaches the server whole, on the connection that executes it, which the client
 * keeps from then on (another client gets 1040 on the pool of one). Long data for a statement
 * closed unexecuted leaves nothing behind: the session and the connection go on. */
static void test_long_data(void)
{
    if (!server_exec("CREATE OR REPLACE TABLE " TDB_DATABASE
                     ".txn_stmt_ld (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)"))
        return;
    pool_wait = "300ms";
    if (!start_txn_proxy(1, NULL))
        return;
    MYSQL *a = client(TDB_DATABASE), *b = client(TDB_DATABASE), *c = NULL;
    MYSQL_STMT *st = NULL;
    char v[VALUE_LEN];
    if (!CHECK(a && b) || !CHECK((st = long_data_insert(a)) != NULL))
        goto out;
    if (CHECK(send_chunk(st, 'a') && send_chunk(st, 'b') && send_chunk(st, 'c')) &&
        execute(st, NULL, v, sizeof v))
        CHECK_INT(mysql_stmt_affected_rows(st), 1);
    CHECK(tdb_expect_error(b, "SELECT 1", ER_CON_COUNT_ERROR)); /* a keeps the connection */
    close_stmts(&st, 1);
    st = NULL;
    tdb_close_all(&a, 1);
    a = NULL;
    if (CHECK(query_value_retry(b,
                                "SELECT body = CONCAT(REPEAT('a', 20000), REPEAT('b', 20000), "
                                "REPEAT('c', 20000)) FROM txn_stmt_ld",
                                v, sizeof v)))
        CHECK_STR(v, "1");

    /* Long data, then close without execute. */
    if (!CHECK((c = client(TDB_DATABASE)) != NULL) || !CHECK((st = long_data_insert(c)) != NULL))
        goto out;
    CHECK(send_chunk(st, 'z'));
    close_stmts(&st, 1);
    st = NULL;
    if (CHECK(query_value_retry(c, "SELECT COUNT(*) FROM txn_stmt_ld", v, sizeof v)))
        CHECK_STR(v, "1");
    if (CHECK((st = prepare(c, "SELECT ? + 1")) != NULL)) {
        long long x = 8;
        MYSQL_BIND p = longlong_param(&x);
        stmt_value_is(st, &p, "9");
    }
    close_stmts(&st, 1);
    st = NULL;
    tdb_close_all(&c, 1);
    c = NULL;
    if (CHECK(query_value_retry(b, "SELECT COUNT(*) FROM txn_stmt_ld", v, sizeof v)))
        CHECK_STR(v, "1");
out:
    close_stmts(&st, 1);
    tdb_close_all((MYSQL *[]){a, b, c}, 3);
    stop_proxy();
    server_exec("DROP TABLE " TDB_DATABASE ".txn_stmt_ld");
}

/* A read-only cursor (5 rows per COM_STMT_FETCH) keeps its connection: the client fetches all
 * 50 rows in order while another client runs a transaction around each of its fetches, on the
 * pool's other connection. */
static void test_cursor(void)
{
    enum { ROWS = 50, PREFETCH = 5 };
    char sql[2048];
    int n = snprintf(sql, sizeof sql,
                     "CREATE OR REPLACE TABLE " TDB_DATABASE
                     ".txn_stmt_cur (id INT PRIMARY KEY, v VARCHAR(16));"
                     "INSERT INTO " TDB_DATABASE ".txn_stmt_cur VALUES (1, 'row1')");
    for (int i = 2; i <= ROWS && n > 0 && (size_t)n < sizeof sql; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", (%d, 'row%d')", i, i);
    if (!server_exec(sql) || !start_txn_proxy(2, NULL))
        return;
    MYSQL *a = client(TDB_DATABASE), *b = client(TDB_DATABASE);
    MYSQL_STMT *st = NULL;
    if (!CHECK(a && b) || !CHECK((st = mysql_stmt_init(a)) != NULL))
        goto out;
    unsigned long cursor = CURSOR_TYPE_READ_ONLY, prefetch = PREFETCH;
    static const char q[] = "SELECT id, v FROM txn_stmt_cur ORDER BY id";
    int id = 0;
    char v[16];
    unsigned long vlen = 0;
    MYSQL_BIND r[2] = {
        {.buffer_type = MYSQL_TYPE_LONG, .buffer = &id},
        {.buffer_type = MYSQL_TYPE_STRING,
         .buffer = v,
         .buffer_length = sizeof v - 1,
         .length = &vlen},
    };
    if (!CHECK(mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &cursor) == 0) ||
        !CHECK(mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch) == 0) ||
        !CHECK(mysql_stmt_prepare(st, q, sizeof q - 1) == 0) ||
        !CHECK(mysql_stmt_execute(st) == 0) || !CHECK(mysql_stmt_bind_result(st, r) == 0)) {
        printf("# cursor: %u %s\n", mysql_stmt_errno(st), mysql_stmt_error(st));
        goto out;
    }
    int got = 0, rc = 0;
    uint64_t deadline = tdb_now_ms() + 30000;
    while (got <= ROWS && tdb_now_ms() < deadline) {
        char other[32], want[16];
        bool b_ok = tdb_exec(b, "BEGIN") &&
                    tdb_query_value(b, "SELECT @@pseudo_thread_id", other, sizeof other);
        rc = mysql_stmt_fetch(st);
        b_ok = tdb_exec(b, "COMMIT") && b_ok;
        if (!CHECK(b_ok) || rc != 0)
            break;
        got++;
        v[vlen < sizeof v ? vlen : sizeof v - 1] = '\0';
        snprintf(want, sizeof want, "row%d", got);
        if (!CHECK_INT(id, got) || !CHECK_STR(v, want))
            break;
    }
    if (!CHECK_INT(rc, MYSQL_NO_DATA))
        printf("# fetch %d: %u %s\n", got + 1, mysql_stmt_errno(st), mysql_stmt_error(st));
    CHECK_INT(got, ROWS);
out:
    close_stmts(&st, 1);
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
    server_exec("DROP TABLE " TDB_DATABASE ".txn_stmt_cur");
}

/* a inserts one row, b two, each with a prepared INSERT: each OK says its own insert id and
 * affected rows. Then a reads LAST_INSERT_ID() with a prepared SELECT and gets its own id, not
 * b's. That text pins (docs/config.md), so a leaves before b reads its own, on the connection
 * a's reset gave back. ROW_COUNT() is not checked: it pins too, and no statement can give it
 * back to a connection. */
static void insert_ids_sequence(MYSQL **a, MYSQL *b)
{
    MYSQL_STMT *ia = prepare(*a, "INSERT INTO " TDB_DATABASE ".txn_stmt_ai () VALUES ()"),
               *ib = prepare(b, "INSERT INTO " TDB_DATABASE ".txn_stmt_ai () VALUES (), ()"),
               *la = prepare(*a, "SELECT LAST_INSERT_ID()"),
               *lb = prepare(b, "SELECT LAST_INSERT_ID()");
    char v[VALUE_LEN], want_a[32], want_b[32];
    if (CHECK(ia && ib && la && lb) && execute(ia, NULL, v, sizeof v) &&
        execute(ib, NULL, v, sizeof v)) {
        unsigned long long id_a = mysql_stmt_insert_id(ia), id_b = mysql_stmt_insert_id(ib);
        CHECK(id_a >= 1000);
        CHECK(id_b > id_a);
        CHECK_UINT(mysql_stmt_affected_rows(ia), 1);
        CHECK_UINT(mysql_stmt_affected_rows(ib), 2);
        snprintf(want_a, sizeof want_a, "%llu", id_a);
        snprintf(want_b, sizeof want_b, "%llu", id_b);
        if (!stmt_value_is(la, NULL, want_a))
            printf("# b's id is %s\n", want_b);
        close_stmts((MYSQL_STMT *[]){ia, la}, 2);
        ia = la = NULL;
        mysql_close(*a);
        *a = NULL;
        if (!stmt_value_retry(lb, want_b))
            printf("# a's id was %s\n", want_a);
    }
    close_stmts((MYSQL_STMT *[]){ia, ib, la, lb}, 4);
}

static void test_last_insert_id_is_its_own(void)
{
    static const char table[] =
        "CREATE OR REPLACE TABLE " TDB_DATABASE ".txn_stmt_ai (id INT AUTO_INCREMENT PRIMARY KEY) "
        "AUTO_INCREMENT = 1000";
    /* Directly first: what the sequence expects is what the server does. */
    MYSQL *da = tdb_connect_server(), *db = tdb_connect_server();
    if (CHECK(da && db) && server_exec(table))
        insert_ids_sequence(&da, db);
    tdb_close_all((MYSQL *[]){da, db}, 2);
    if (!server_exec(table) || !start_txn_proxy(1, NULL))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b))
        insert_ids_sequence(&a, b);
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
    server_exec("DROP TABLE " TDB_DATABASE ".txn_stmt_ai");
}

/* Distinct statements another client prepares and closes: 100 000 (issue 16's count) once,
 * in the normal build on io_uring; the sanitizer build and the epoll run, which repeat the
 * same paths, a fifth of them (CI's time). */
#ifdef __SANITIZE_ADDRESS__
static const bool sanitized = true;
#else
static const bool sanitized = false;
#endif

static int churn_statements(void)
{
    const char *io = getenv("RINGSQL_IO");
    return sanitized || (io && strcmp(io, "epoll") == 0) ? 20000 : 100000;
}

/* With pool.max_prepared_per_connection 8 on a pool of one: 300 statements prepared and kept
 * by one client leave at most 8 on the server; each still runs (prepared again). Then another
 * client prepares and closes churn_statements() statements: still bounded. The bound allows 8 + 1 more
 * than before the start: ringsql may prepare a new statement before it closes the least
 * recently used one, and that COM_STMT_CLOSE gets no answer, so it may still be on its way
 * when the server is asked (a round trip on the same connection first makes that unlikely,
 * but when ringsql sends the close is its own choice). */
static void test_bounded_statements(void)
{
    enum { KEPT = 300, CAP = 8, MARGIN = 1 };
    const int churn = churn_statements();
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    long long base = -1;
    if (!no_other_server_connections(d) ||
        !CHECK((base = global_status(d, "PREPARED_STMT_COUNT")) >= 0) ||
        !start_txn_proxy(1, "  max_prepared_per_connection: 8\n")) {
        mysql_close(d);
        return;
    }
    const long long limit = base + CAP + MARGIN;
    MYSQL *a = client(NULL), *b = client(NULL);
    MYSQL_STMT **st = calloc(KEPT, sizeof *st);
    char sql[64], want[32], v[VALUE_LEN];
    int prepared = 0;
    if (!CHECK(a && b && st))
        goto out;
    for (; prepared < KEPT; prepared++) {
        snprintf(sql, sizeof sql, "SELECT %d", prepared + 1);
        if (!(st[prepared] = prepare(a, sql)))
            break;
    }
    CHECK_INT(prepared, KEPT);
    CHECK(tdb_query_value(a, "SELECT 1", v, sizeof v)); /* a round trip on the connection */
    long long count = global_status(d, "PREPARED_STMT_COUNT");
    if (!CHECK(count >= 0 && count <= limit))
        printf("# Prepared_stmt_count %lld after %d prepares, want <= %lld\n", count, KEPT, limit);
    int ran = 0;
    for (; ran < prepared; ran++) {
        snprintf(want, sizeof want, "%d", ran + 1);
        if (!stmt_value_is(st[ran], NULL, want))
            break;
    }
    CHECK_INT(ran, prepared);
    count = global_status(d, "PREPARED_STMT_COUNT");
    CHECK(count >= 0 && count <= limit);

    int churned = 0;
    long long most = 0;
    uint64_t deadline = tdb_now_ms() + 90000;
    for (; churned < churn && tdb_now_ms() < deadline; churned++) {
        snprintf(sql, sizeof sql, "SELECT %d AS churn", churned);
        MYSQL_STMT *s = prepare(b, sql);
        if (!s)
            break;
        mysql_stmt_close(s);
        if (churned % 2000 == 0 && (count = global_status(d, "PREPARED_STMT_COUNT")) > most)
            most = count;
    }
    if (!CHECK_INT(churned, churn))
        printf("# %d of %d prepare+close within 90 s\n", churned, churn);
    CHECK(tdb_query_value(b, "SELECT 1", v, sizeof v));
    count = global_status(d, "PREPARED_STMT_COUNT");
    if (!CHECK(count >= 0 && count <= limit && most <= limit))
        printf("# Prepared_stmt_count %lld at the end, at most %lld on the way, want <= %lld\n",
               count, most, limit);
    if (CHECK(prepared > 0))
        stmt_value_is(st[0], NULL, "1");
out:
    if (st)
        close_stmts(st, KEPT);
    free(st);
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
    mysql_close(d);
}

/* A session holds at most 16382 statements (the server's max_prepared_stmt_count): the next
 * prepare gets ERR 1461, as from the server, and the session goes on; one closed makes room. */
static void test_session_statement_limit(void)
{
    MYSQL *d = tdb_connect_server();
    if (!CHECK(d != NULL))
        return;
    bool quiet = no_other_server_connections(d);
    mysql_close(d);
    if (!quiet || !start_txn_proxy(1, NULL))
        return;
    MYSQL *m = client(NULL);
    int held = 0, err = -1;
    char sql[64], v[32];
    if (!CHECK(m != NULL))
        goto out;
    uint64_t deadline = tdb_now_ms() + 60000;
    for (; held <= SESSION_STATEMENT_LIMIT && tdb_now_ms() < deadline; held++) {
        snprintf(sql, sizeof sql, "DO %d", held);
        if ((err = raw_prepare(m, sql)) != 0)
            break;
    }
    CHECK_INT(held, SESSION_STATEMENT_LIMIT);
    CHECK_INT(err, ER_MAX_PREPARED_STMT_COUNT_REACHED);
    if (CHECK(tdb_query_value(m, "SELECT 3", v, sizeof v)))
        CHECK_STR(v, "3");
    MYSQL_STMT *st = mysql_stmt_init(m); /* one more through libmariadb: refused too */
    if (CHECK(st != NULL)) {
        CHECK(mysql_stmt_prepare(st, "SELECT 4", 8) != 0);
        CHECK_UINT(mysql_stmt_errno(st), ER_MAX_PREPARED_STMT_COUNT_REACHED);
        mysql_stmt_close(st);
    }
out:
    tdb_close_all(&m, 1);
    stop_proxy();
}

/* Session mode: prepare, execute (with and without binding again), close, unknown ids and
 * each client's parameter types, as before. */
static void test_session_mode_unchanged(void)
{
    if (!start_proxy("session", 2, NULL))
        return;
    MYSQL *a = client(NULL), *b = client(NULL);
    if (CHECK(a && b)) {
        MYSQL_STMT *st = prepare(a, "SELECT ? + 1");
        long long x = 41;
        MYSQL_BIND p = longlong_param(&x);
        if (CHECK(st != NULL) && stmt_value_is(st, &p, "42")) {
            x = 99;
            stmt_value_is(st, NULL, "100");
        }
        close_stmts(&st, 1);
        closed_ids_are_unknown(a);
        parameter_types_sequence(a, b);
    }
    tdb_close_all((MYSQL *[]){a, b}, 2);
    stop_proxy();
}

/* COM_RESET_CONNECTION between transactions (answered by ringsql, no connection taken)
 * closes the session's statements, as a server's reset does: the old id is unknown. */
static void test_reset_forgets_statements(void)
{
    if (!start_txn_proxy(1, NULL))
        return;
    MYSQL *a = client(NULL);
    MYSQL_STMT *st = a ? prepare(a, "DO 1") : NULL; /* answered with one OK */
    if (CHECK(st != NULL)) {
        uint32_t id = (uint32_t)st->stmt_id;
        char v[VALUE_LEN];
        CHECK_INT(raw_execute(a, id), 0);
        CHECK_INT(mysql_reset_connection(a), 0);
        CHECK_INT(raw_execute(a, id), 1243);
        CHECK(tdb_query_value(a, "SELECT 7", v, sizeof v) && CHECK_STR(v, "7"));
    }
    if (st)
        mysql_stmt_close(st);
    tdb_close_all(&a, 1);
    stop_proxy();
}

/* A pinned session that changed its database: a statement of the old one that its connection
 * no longer holds (max_prepared_per_connection 1 evicted it) is not prepared again in the new
 * database, where its names would mean other tables: ERR 1243, and the session goes on. */
static void test_pinned_session_keeps_statements_in_their_database(void)
{
    if (!start_txn_proxy(1, "  max_prepared_per_connection: 1\n"))
        return;
    MYSQL *a = client(TDB_DATABASE);
    MYSQL_STMT *old = a ? prepare(a, "SELECT 11") : NULL, *evicts = a ? prepare(a, "SELECT 12") : NULL;
    char v[VALUE_LEN];
    if (CHECK(old && evicts) && stmt_value_is(evicts, NULL, "12") &&
        CHECK(tdb_exec(a, "USE information_schema"))) {
        CHECK_INT(raw_execute(a, (uint32_t)old->stmt_id), 1243);
        CHECK(stmt_value_is(evicts, NULL, "12"));
        CHECK(tdb_query_value(a, "SELECT DATABASE()", v, sizeof v) &&
              CHECK_STR(v, "information_schema"));
    }
    close_stmts((MYSQL_STMT *[]){old, evicts}, 2);
    tdb_close_all(&a, 1);
    stop_proxy();
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_many_clients_few_connections),
        CHECK_CASE(test_executes_on_another_connection),
        CHECK_CASE(test_parameter_types_stay_each_clients_own),
        CHECK_CASE(test_close_and_unknown),
        CHECK_CASE(test_long_data),
        CHECK_CASE(test_cursor),
        CHECK_CASE(test_last_insert_id_is_its_own),
        CHECK_CASE(test_bounded_statements),
        CHECK_CASE(test_session_statement_limit),
        CHECK_CASE(test_session_mode_unchanged),
        CHECK_CASE(test_reset_forgets_statements),
        CHECK_CASE(test_pinned_session_keeps_statements_in_their_database),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
