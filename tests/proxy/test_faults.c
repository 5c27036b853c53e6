/* Faults an adversarial test found (real MariaDB, real ringsql, libmariadb and protocol-level
 * clients): each case fails on the build that had the fault and passes once it is fixed.
 *   - a login longer than the session's 512-byte head (connect attributes) was dropped with
 *     no ERR; a COM_CHANGE_USER as long closed the session
 *   - the HandshakeResponse's sequence id was not checked
 *   - a query pipelined behind a COM_CHANGE_USER was dropped
 *   - a command over the server's max_allowed_packet got no error and held its buffer
 *   - KILL with ringsql's thread id reached the server as one of its own thread ids
 *   - a command out of sequence reached the server, whose ERR went to the next client */
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/netio.h"
#include "check.h"
#include "protocol/auth.h"
#include "protocol/change_user.h"
#include "protocol/handshake.h"
#include "protocol/lenenc.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "testdb.h"

#define START_WAIT_MS 15000
#define READ_WAIT_MS 5000

static struct tdb_proxy proxy;

/* workers workers, a pool of pool_size per worker and user; users app/secret and
 * other/pw2, both logging in to the server as TDB_USER. */
static bool start_proxy_with(const char *mode, unsigned workers, unsigned pool_size)
{
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: %u\n" TDB_YAML_PRIMARY_AND_APP "  - name: other\n"
             "    password: \"pw2\"\n"
             "    backend_user: " TDB_USER "\n"
             "    backend_password: " TDB_PASSWORD "\n"
             "    share_backend_user: true\n"
             "pool:\n"
             "  size: %u\n"
             "  mode: %s\n"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n",
             port, workers, tdb_server_host(), tdb_server_port(), pool_size, mode, admin);
    return CHECK(tdb_proxy_start(&proxy, port, yaml, START_WAIT_MS));
}

static bool start_proxy_mode(const char *mode)
{
    return start_proxy_with(mode, 1, 2);
}

static bool start_proxy(void)
{
    return start_proxy_mode("session");
}

static void stop_proxy(void)
{
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

/* A connect-attribute block of one key whose value makes it len bytes long. */
static uint8_t *attrs_of(size_t len)
{
    uint8_t *a = malloc(len);
    if (!a)
        return NULL;
    size_t value = len - 2; /* "k" */
    while (2 + proto_lenenc_size(value) + value > len)
        value--;
    struct proto_wr w = proto_wr_init(a, len);
    proto_wr_lenenc_str(&w, "k", 1);
    proto_wr_lenenc(&w, value);
    memset(a + w.len, 'v', value);
    return a;
}

/* A protocol-level client: its socket, the greeting it got and the capabilities it
 * negotiated. */
struct raw {
    int fd;
    uint8_t greeting[4096];
    struct proto_handshake hs;
    uint64_t caps;
};

/* Reads one packet's payload into buf: its first byte, or -1. */
static int raw_read(struct raw *r, uint8_t *buf, size_t cap, size_t *len)
{
    size_t n;
    if (net_read_packet(r->fd, buf, cap, &n, READ_WAIT_MS) < 0 || n <= PROTO_HEADER_LEN)
        return -1;
    *len = n - PROTO_HEADER_LEN;
    memmove(buf, buf + PROTO_HEADER_LEN, *len);
    return buf[0];
}

/* Connects and logs in as app with an attribute block of attrs_len bytes (none when 0), the
 * HandshakeResponse sent with sequence id seq. Returns the answer's first byte (0x00 OK,
 * 0xff ERR) or -1, and the ERR's code in *code; r->fd stays open (-1 when it never was). */
static int raw_open(struct raw *r, size_t attrs_len, uint8_t seq, unsigned *code)
{
    *code = 0;
    r->fd = net_connect("127.0.0.1", proxy.port);
    size_t n;
    int result = -1;
    uint8_t *attrs = attrs_len ? attrs_of(attrs_len) : NULL;
    size_t cap = attrs_len + 1024;
    uint8_t *out = malloc(cap);
    if (r->fd < 0 || (attrs_len && !attrs) || !out ||
        raw_read(r, r->greeting, sizeof r->greeting, &n) < 0 ||
        proto_handshake_parse(r->greeting, n, &r->hs) < 0)
        goto out;
    struct proto_login l = {.user = "app",
                            .password = "secret",
                            .caps = PROTO_CLIENT_LONG_FLAG,
                            .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
                            .max_packet = 1 << 24,
                            .attrs = attrs,
                            .attrs_len = attrs_len};
    r->caps = proto_client_caps(&l, &r->hs);
    ssize_t len = proto_client_build_login(out, cap, &l, &r->hs);
    if (len < 0)
        goto out;
    out[3] = seq;
    uint8_t in[1024];
    if (net_write_all(r->fd, out, (size_t)len) < 0 || (result = raw_read(r, in, sizeof in, &n)) < 0)
        goto out;
    struct proto_err e;
    if (result == PROTO_HDR_ERR && proto_err_parse(in, n, PROTO_CLIENT_PROTOCOL_41, &e) == 0)
        *code = e.code;
out:
    free(attrs);
    free(out);
    return result;
}

static int raw_login(size_t attrs_len, uint8_t seq, unsigned *code)
{
    struct raw r;
    int result = raw_open(&r, attrs_len, seq, code);
    if (r.fd >= 0)
        close(r.fd);
    return result;
}

/* Connect attributes as Java and Node drivers send them (hundreds of bytes), and up to 100 KB
 * (more than one receive buffer): the login gets in; past ringsql's 128 KiB it gets ERR 1153.
 * A COM_CHANGE_USER carrying the same attributes works too. */
static void test_long_logins_get_in(void)
{
    if (!start_proxy())
        return;
    MYSQL *m = mysql_init(NULL);
    char key[16], value[101];
    memset(value, 'x', 100);
    value[100] = '\0';
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "attr_%d", i);
        mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, key, value);
    }
    if (CHECK(mysql_real_connect(m, "127.0.0.1", "app", "secret", NULL, proxy.port, NULL, 0))) {
        char v[16];
        if (CHECK(tdb_query_value(m, "SELECT 1", v, sizeof v)))
            CHECK_STR(v, "1");
        if (!CHECK(mysql_change_user(m, "app", "secret", TDB_DATABASE) == 0))
            printf("# change user: %u %s\n", mysql_errno(m), mysql_error(m));
        else if (CHECK(tdb_query_value(m, "SELECT DATABASE()", v, sizeof v)))
            CHECK_STR(v, TDB_DATABASE);
    } else {
        printf("# login with 1 KB of attributes: %u %s\n", mysql_errno(m), mysql_error(m));
    }
    mysql_close(m);
    unsigned code;
    CHECK_INT(raw_login(100 << 10, 1, &code), PROTO_HDR_OK);
    CHECK_INT(raw_login(140 << 10, 1, &code), PROTO_HDR_ERR);
    CHECK_UINT(code, 1153);
    CHECK(tdb_proxy_log_contains(&proxy, "code=1153", READ_WAIT_MS));
    stop_proxy();
}

/* A HandshakeResponse must have sequence id 1 (the greeting's + 1): others get ERR 1156, as
 * from the server. */
static void test_login_sequence_is_checked(void)
{
    if (!start_proxy())
        return;
    static const uint8_t bad[] = {0, 2, 5, 255};
    unsigned code;
    for (size_t i = 0; i < sizeof bad; i++) {
        CHECK_INT(raw_login(16, bad[i], &code), PROTO_HDR_ERR);
        CHECK_UINT(code, 1156);
    }
    CHECK_INT(raw_login(16, 1, &code), PROTO_HDR_OK);
    stop_proxy();
}

/* A query written in the same send as a COM_CHANGE_USER is answered after the change's OK,
 * in both pool modes (it was dropped, and the client waited for ever). */
static void test_query_behind_change_user(void)
{
    static const char *const modes[] = {"session", "transaction"};
    for (size_t i = 0; i < 2; i++) {
        if (!start_proxy_mode(modes[i]))
            return;
        struct raw r;
        unsigned code;
        if (CHECK_INT(raw_open(&r, 0, 1, &code), PROTO_HDR_OK)) {
            uint8_t answer[PROTO_NATIVE_HASH_LEN], out[512], in[4096];
            struct proto_change_user cu = {
                .user = {(const uint8_t *)"app", 3},
                .auth_response = {answer,
                                  proto_native_scramble("secret", 6, r.hs.scramble, answer)},
                .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
                .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE)},
            };
            ssize_t n = proto_build_change_user(out, sizeof out, r.caps, &cu);
            ssize_t q =
                n < 0 ? n : proto_build_raw(out + n, sizeof out - (size_t)n, 0, "\x03SELECT 7", 9);
            size_t len = 0;
            if (CHECK(q > 0 && net_write_all(r.fd, out, (size_t)(n + q)) == 0)) {
                CHECK_INT(raw_read(&r, in, sizeof in, &len), PROTO_HDR_OK);
                /* Column count, definition, EOF, then the row: "7". */
                bool row = false;
                for (int k = 0; k < 4 && raw_read(&r, in, sizeof in, &len) >= 0; k++)
                    row = row || (len == 2 && in[0] == 1 && in[1] == '7');
                if (!CHECK(row))
                    printf("# %s: no row 7 after the change of user\n", modes[i]);
            }
        }
        if (r.fd >= 0)
            close(r.fd);
        stop_proxy();
    }
}

/* A client of app with read and write timeouts of bound_s; a login refused with 1040 (the
 * pool reopening connections the server closed) is retried for as long. */
static MYSQL *connect_retry(unsigned bound_s)
{
    uint64_t deadline = tdb_now_ms() + bound_s * 1000u;
    for (;;) {
        MYSQL *m = mysql_init(NULL);
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &bound_s);
        mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &bound_s);
        if (mysql_real_connect(m, "127.0.0.1", "app", "secret", NULL, proxy.port, NULL, 0))
            return m;
        unsigned err = mysql_errno(m);
        mysql_close(m);
        if (err != 1040 || tdb_now_ms() >= deadline)
            return NULL;
    }
}

/* Commands over the server's max_allowed_packet, more of them than a worker has receive
 * buffers (512): the server closes on each while ringsql still forwards it; each client gets
 * an error at once (it got none and waited for ever, its receive buffer held), and ringsql
 * serves the next client. */
static void test_oversized_commands_get_an_error(void)
{
    MYSQL *direct = tdb_connect_server();
    if (!CHECK(direct != NULL))
        return;
    CHECK(tdb_exec(direct, "SET GLOBAL max_allowed_packet = 1048576"));
    enum { ATTEMPTS = 600, LEN = (3 << 20) / 2, BOUND_S = 5 };
    char *sql = malloc(LEN + 16);
    if (CHECK(sql && start_proxy())) {
        memcpy(sql, "SELECT '", 8);
        memset(sql + 8, 'x', LEN);
        memcpy(sql + 8 + LEN, "'", 2);
        int answered = 0;
        for (int i = 0; i < ATTEMPTS; i++) {
            MYSQL *m = connect_retry(BOUND_S);
            bool in = m != NULL;
            uint64_t t0 = tdb_now_ms();
            bool failed = in && mysql_real_query(m, sql, strlen(sql)) != 0;
            uint64_t took = tdb_now_ms() - t0;
            if (!in || !failed || took >= BOUND_S * 1000u) {
                printf("# attempt %d: login %s, query %s after %llu ms: %u %s\n", i,
                       in ? "ok" : "failed", failed ? "failed" : "succeeded",
                       (unsigned long long)took, in ? mysql_errno(m) : 0, in ? mysql_error(m) : "");
                if (m)
                    mysql_close(m);
                break;
            }
            answered++;
            mysql_close(m);
        }
        CHECK_INT(answered, ATTEMPTS);
        MYSQL *m = connect_retry(BOUND_S);
        char v[16];
        if (CHECK(m != NULL) && CHECK(tdb_query_value(m, "SELECT 1", v, sizeof v)))
            CHECK_STR(v, "1");
        if (m)
            mysql_close(m);
        stop_proxy();
    }
    free(sql);
    CHECK(tdb_exec(direct, "SET GLOBAL max_allowed_packet = 268435456"));
    mysql_close(direct);
}

/* The worker a session lives on: above bit 21 of its id (the greeting's thread id), + 1. */
static unsigned worker_of(MYSQL *m)
{
    return (unsigned)(mysql_thread_id(m) >> 21) - 1;
}

/* A client of user on the worker wanted (or on any other than it, when other is true):
 * bounded tries, since SO_REUSEPORT picks the worker. */
static MYSQL *client_on(const char *user, const char *pw, unsigned wanted, bool other)
{
    for (int i = 0; i < 64; i++) {
        MYSQL *m = tdb_connect("127.0.0.1", proxy.port, user, pw, NULL, NULL);
        if (!m)
            return NULL;
        if ((worker_of(m) == wanted) != other)
            return m;
        mysql_close(m);
    }
    return NULL;
}

/* KILL with ringsql's thread ids (what the CLI sends on Ctrl-C, and COM_PROCESS_KILL): the
 * victim's query is interrupted, from the victim's worker and from another; a bystander's
 * query runs to its end; another configured user gets 1095 (its KILL is not sent); KILL USER
 * is refused. Both pool modes. The server once got the session id as a thread id of its own:
 * another client's query was killed and the victim's ran on. */
static void test_kill_acts_on_ringsql_sessions(void)
{
    static const char *const modes[] = {"session", "transaction"};
    enum { LONG_S = 20, BOUND_MS = 10000 };
    for (size_t mi = 0; mi < 2; mi++) {
        if (!start_proxy_with(modes[mi], 2, 40))
            return;
        for (int cross = 0; cross < 2; cross++) {
            MYSQL *v = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, NULL);
            MYSQL *by = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, NULL);
            MYSQL *k = v ? client_on("app", "secret", worker_of(v), cross) : NULL;
            MYSQL *o = tdb_connect("127.0.0.1", proxy.port, "other", "pw2", NULL, NULL);
            if (!CHECK(v && by && k && o))
                goto next;
            char sql[64];
            uint64_t t0 = tdb_now_ms();
            CHECK(mysql_send_query(v, "SELECT SLEEP(20)", 16) == 0);
            CHECK(mysql_send_query(by, "SELECT SLEEP(1)", 15) == 0);
            snprintf(sql, sizeof sql, "KILL QUERY %lu", mysql_thread_id(v));
            CHECK(tdb_expect_error(o, sql, 1095));
            CHECK(tdb_exec(k, sql));
            /* SLEEP says 1 when interrupted (other statements end with ERR 1317). */
            char got[16] = "ERR";
            MYSQL_RES *res = NULL;
            if (mysql_read_query_result(v) == 0 && (res = mysql_store_result(v))) {
                MYSQL_ROW row = mysql_fetch_row(res);
                snprintf(got, sizeof got, "%s", row && row[0] ? row[0] : "NULL");
                mysql_free_result(res);
            } else {
                CHECK_UINT(mysql_errno(v), 1317);
            }
            if (strcmp(got, "ERR") != 0)
                CHECK_STR(got, "1");
            uint64_t took = tdb_now_ms() - t0;
            if (!CHECK(took < BOUND_MS))
                printf("# %s, %s worker: the victim's query ran %llu ms\n", modes[mi],
                       cross ? "another" : "the same", (unsigned long long)took);
            res = NULL;
            if (CHECK(mysql_read_query_result(by) == 0 && (res = mysql_store_result(by)))) {
                MYSQL_ROW row = mysql_fetch_row(res);
                CHECK_STR(row && row[0] ? row[0] : "NULL", "0"); /* not interrupted */
                mysql_free_result(res);
            }
            /* The victim's session goes on. */
            if (CHECK(tdb_query_value(v, "SELECT 3", got, sizeof got)))
                CHECK_STR(got, "3");
            if (mi == 1) { /* session pooling: the server judges them (test_server_users.py) */
                CHECK(tdb_expect_error(k, "KILL USER app", 1235));
                CHECK(tdb_expect_error(k, "SELECT 1; KILL 5", 1235));
            }
            snprintf(sql, sizeof sql, "KILL QUERY %lu", (99ul << 21) | 1); /* worker 98 */
            CHECK(tdb_expect_error(k, sql, 1094));
            /* Below ringsql's ids: a server thread id, answered by ringsql in transaction
             * pooling, judged by the server in session pooling (where CONNECTION_ID() gives
             * one): no thread has it. */
            CHECK(tdb_expect_error(k, "KILL QUERY 2097151", 1094));
            /* KILL CONNECTION by COM_PROCESS_KILL: the victim's session ends. */
            CHECK_INT(mysql_kill(k, mysql_thread_id(v)), 0);
            CHECK(mysql_query(v, "SELECT 4") != 0);
        next:
            for (size_t i = 0; i < 4; i++) {
                MYSQL *m = (MYSQL *[]){v, by, k, o}[i];
                if (m)
                    mysql_close(m);
            }
        }
        stop_proxy();
    }
}

/* A command whose first packet has a sequence id other than 0 is refused (ERR 1156, the
 * session ends) and never reaches the server: forwarded, it made the server answer 1156 and
 * close, and a command expecting no answer (COM_STMT_CLOSE) left that ERR to the connection's
 * next client. Transaction mode, one connection: the next client is served cleanly. */
static void test_command_out_of_sequence_is_refused(void)
{
    if (!start_proxy_with("transaction", 1, 1))
        return;
    struct raw r;
    unsigned code;
    if (CHECK_INT(raw_open(&r, 0, 1, &code), PROTO_HDR_OK)) {
        uint8_t out[64], in[512];
        static const uint8_t close_stmt[] = {PROTO_COM_STMT_CLOSE, 1, 0, 0, 0};
        ssize_t n = proto_build_raw(out, sizeof out, 2, close_stmt, sizeof close_stmt);
        size_t len = 0;
        struct proto_err e;
        if (CHECK(n > 0 && net_write_all(r.fd, out, (size_t)n) == 0) &&
            CHECK_INT(raw_read(&r, in, sizeof in, &len), PROTO_HDR_ERR) &&
            CHECK(proto_err_parse(in, len, r.caps, &e) == 0))
            CHECK_UINT(e.code, 1156);
    }
    if (r.fd >= 0)
        close(r.fd);
    for (int i = 0; i < 3; i++) {
        MYSQL *m = connect_retry(5);
        char v[16];
        if (CHECK(m != NULL) && CHECK(tdb_query_value(m, "SELECT 5", v, sizeof v)))
            CHECK_STR(v, "5");
        if (m)
            mysql_close(m);
    }
    stop_proxy();
}

/* Transaction mode, no connection bound: an empty packet followed by what looks like a
 * COM_QUERY's first byte (a header of zeros, then 0x03). The empty packet ends the session
 * (a protocol error), and ringsql serves the next client (its KILL check once read the empty
 * packet as a query of 4 GiB). */
static void test_empty_packet_before_a_command(void)
{
    if (!start_proxy_with("transaction", 1, 1))
        return;
    struct raw r;
    unsigned code;
    if (CHECK_INT(raw_open(&r, 0, 1, &code), PROTO_HDR_OK)) {
        static const uint8_t bytes[] = {0, 0, 0, 0, 0x03, 0, 0, 0};
        uint8_t in[512];
        size_t len;
        CHECK(net_write_all(r.fd, bytes, sizeof bytes) == 0);
        CHECK(raw_read(&r, in, sizeof in, &len) < 0 || in[0] == PROTO_HDR_ERR); /* ends */
    }
    if (r.fd >= 0)
        close(r.fd);
    MYSQL *m = connect_retry(5);
    char v[16];
    if (CHECK(m != NULL) && CHECK(tdb_query_value(m, "SELECT 6", v, sizeof v)))
        CHECK_STR(v, "6");
    if (m)
        mysql_close(m);
    stop_proxy();
}

/* Transaction mode, no connection bound: a command ringsql answers itself (COM_QUIT, COM_PING,
 * COM_PROCESS_KILL...) announced longer than what arrived. It is not all there to answer, and
 * there is no connection to stream it to: it must get one like any other command (ringsql
 * once streamed it to no connection and took itself down; found by fuzz_session). Each such
 * client is then served or refused, and the next one is served. */
static void test_partial_own_command_without_connection(void)
{
    if (!start_proxy_with("transaction", 1, 1))
        return;
    static const uint8_t commands[] = {0x01 /* COM_QUIT */, 0x0e /* COM_PING */,
                                       0x0c /* COM_PROCESS_KILL */, 0x1f /* RESET */};
    for (size_t i = 0; i < sizeof commands; i++) {
        struct raw r;
        unsigned code;
        if (CHECK_INT(raw_open(&r, 0, 1, &code), PROTO_HDR_OK)) {
            /* A header announcing 5 767 169 bytes, sequence 0, then the command byte only. */
            const uint8_t bytes[] = {0x01, 0x00, 0x58, 0x00, commands[i]};
            CHECK(net_write_all(r.fd, bytes, sizeof bytes) == 0);
        }
        if (r.fd >= 0)
            close(r.fd);
        MYSQL *m = connect_retry(5);
        char v[16];
        if (!CHECK(m != NULL) || !CHECK(tdb_query_value(m, "SELECT 7", v, sizeof v)) ||
            !CHECK_STR(v, "7"))
            printf("# not served after a partial command 0x%02x\n", commands[i]);
        if (m)
            mysql_close(m);
    }
    stop_proxy();
}

/* How many server threads other than direct's wait in GET_LOCK, or -1. */
static int lock_waiters(MYSQL *direct)
{
    char v[16];
    if (!tdb_query_value(direct,
                         "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> "
                         "CONNECTION_ID() AND INFO LIKE 'SELECT GET_LOCK(%'",
                         v, sizeof v))
        return -1;
    return atoi(v);
}

/* A client that hangs up while its statement runs (here waiting 20 s in GET_LOCK) ends the
 * statement on the server too, as a direct connection's close does: ringsql notices the
 * hang-up and discards the backend connection (it once left the statement running). Both
 * pool modes. */
static void test_hang_up_ends_the_running_statement(void)
{
    static const char *const modes[] = {"session", "transaction"};
    MYSQL *direct = tdb_connect_server();
    if (!CHECK(direct != NULL) || !CHECK(tdb_exec(direct, "DO GET_LOCK('ringsql_hup', 0)"))) {
        if (direct)
            mysql_close(direct);
        return;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (!start_proxy_with(modes[i], 1, 2))
            break;
        MYSQL *c = connect_retry(5);
        static const char sql[] = "SELECT GET_LOCK('ringsql_hup', 20)";
        if (CHECK(c != NULL) && CHECK_INT(mysql_send_query(c, sql, sizeof sql - 1), 0)) {
            bool waits = false;
            for (uint64_t end = tdb_now_ms() + 5000; !waits && tdb_now_ms() < end;)
                waits = lock_waiters(direct) == 1;
            CHECK(waits);
            shutdown(mysql_get_socket(c), SHUT_RDWR); /* gone, as a killed process */
            int left = -1;
            uint64_t t0 = tdb_now_ms();
            for (uint64_t end = t0 + 5000; left != 0 && tdb_now_ms() < end;)
                left = lock_waiters(direct);
            if (!CHECK_INT(left, 0))
                printf("# %s: the statement still ran %llu ms after its client left\n", modes[i],
                       (unsigned long long)(tdb_now_ms() - t0));
        }
        if (c)
            mysql_close(c);
        stop_proxy();
    }
    mysql_close(direct);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_long_logins_get_in),
        CHECK_CASE(test_login_sequence_is_checked),
        CHECK_CASE(test_query_behind_change_user),
        CHECK_CASE(test_oversized_commands_get_an_error),
        CHECK_CASE(test_kill_acts_on_ringsql_sessions),
        CHECK_CASE(test_command_out_of_sequence_is_refused),
        CHECK_CASE(test_empty_packet_before_a_command),
        CHECK_CASE(test_partial_own_command_without_connection),
        CHECK_CASE(test_hang_up_ends_the_running_statement),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
