/* The maintenance thread end to end (issue 5): stale recycling, a backend going down and
 * coming back, a killed backend connection, slow clients. A real MariaDB (the shared one, or
 * a private one this test starts and stops), a real ringsql, libmariadb clients. Every wait
 * is on a condition, bounded in time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"

#define START_WAIT_MS 15000
#define WAIT_MS 10000

static struct tdb_proxy proxy;

/* Starts ringsql in front of host:port (backend 'primary', user app/secret); extra: more
 * top-level YAML (pool:, timeouts:). */
static unsigned conn_id(MYSQL *m);

/* The shared server's newest connection id before this test's ringsql started: connections
 * of other tests' that it still lists (an older id) are not this ringsql's. 0 for a private
 * server this file starts (it has no one else's). */
static unsigned id_before_start;

static bool start_proxy_at(const char *host, unsigned port, unsigned workers, const char *extra)
{
    MYSQL *direct = port == tdb_server_port() ? tdb_connect_server() : NULL;
    id_before_start = direct ? conn_id(direct) : 0;
    if (direct)
        mysql_close(direct);
    unsigned listen = tdb_free_port(), admin = tdb_free_port();
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: %u\n" TDB_YAML_PRIMARY_AND_APP "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n"
             "%s"
             "%s",
             listen, workers, host, port, admin,
             strstr(extra, "log:") ? "" : "log:\n  level: info\n", extra);
    return CHECK(tdb_proxy_start(&proxy, listen, yaml, START_WAIT_MS));
}

static void stop_proxy(void)
{
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

/* Connects through ringsql as app, retrying (bounded) while the answer is 1040. */
static MYSQL *connect_app(unsigned *err)
{
    uint64_t deadline = tdb_now_ms() + 5000;
    unsigned e = 0;
    for (;;) {
        MYSQL *m = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &e);
        if (m || e != 1040 || tdb_now_ms() > deadline) {
            if (err)
                *err = e;
            return m;
        }
    }
}

static unsigned conn_id(MYSQL *m)
{
    char v[32];
    return tdb_query_value(m, "SELECT CONNECTION_ID()", v, sizeof v) ? (unsigned)atoi(v) : 0;
}

/* The server-side ids of ringsql's backend connections (every TDB_USER session opened since
 * the proxy started, but the caller's own), ascending, comma-separated: "" when none. */
static bool backend_ids(MYSQL *direct, char *out, size_t len)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT IFNULL(GROUP_CONCAT(ID ORDER BY ID), '') FROM information_schema.PROCESSLIST "
             "WHERE USER = '" TDB_USER "' AND ID <> CONNECTION_ID() AND ID > %u",
             id_before_start);
    return tdb_query_value(direct, sql, out, len);
}

static unsigned count_ids(const char *ids)
{
    if (!ids[0])
        return 0;
    unsigned n = 1;
    for (const char *p = ids; *p; p++)
        n += *p == ',';
    return n;
}

static bool has_id(const char *ids, unsigned id)
{
    char needle[16];
    snprintf(needle, sizeof needle, "%u", id);
    size_t n = strlen(needle);
    for (const char *p = ids; (p = strstr(p, needle)); p += n)
        if ((p == ids || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Waits (bounded) until ringsql holds exactly want backend connections, none of them
 * gone (if gone != 0) and all of them including keep (if keep != 0). */
static bool wait_backends(MYSQL *direct, unsigned want, unsigned gone, unsigned keep, char *ids,
                          size_t len)
{
    uint64_t deadline = tdb_now_ms() + WAIT_MS;
    do {
        if (!backend_ids(direct, ids, len))
            return false;
        if (count_ids(ids) == want && (!gone || !has_id(ids, gone)) && (!keep || has_id(ids, keep)))
            return true;
        usleep(20 * 1000); /* polling pace, not synchronisation: the loop waits on the state */
    } while (tdb_now_ms() < deadline);
    return check_failf(__FILE__, __LINE__, "backends [%s]: wanted %u, without %u, with %u", ids,
                       want, gone, keep);
}

static void test_stale_idle_connections_are_replaced_busy_ones_kept(void)
{
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1,
                        "pool:\n  size: 2\n  stale_after: 1s\n  health_check_interval: 500ms\n"))
        return;
    MYSQL *direct = tdb_connect_server();
    MYSQL *busy = connect_app(NULL);
    char ids[256];
    if (CHECK(direct != NULL) && CHECK(busy != NULL) &&
        CHECK(wait_backends(direct, 2, 0, 0, ids, sizeof ids))) {
        unsigned busy_id = conn_id(busy);
        CHECK(has_id(ids, busy_id));
        /* The other one is idle in the pool: it must be replaced, the busy one kept. */
        unsigned idle_id = 0;
        for (const char *p = ids; *p;) {
            unsigned id = (unsigned)strtoul(p, (char **)&p, 10);
            if (id != busy_id)
                idle_id = id;
            if (*p == ',')
                p++;
        }
        uint64_t t0 = tdb_now_ms();
        if (CHECK(idle_id != 0) &&
            CHECK(wait_backends(direct, 2, idle_id, busy_id, ids, sizeof ids))) {
            printf("# idle connection %u replaced after %llu ms (stale_after 1s, interval 500ms)\n",
                   idle_id, (unsigned long long)(tdb_now_ms() - t0));
            CHECK_UINT(conn_id(busy), busy_id); /* busy: untouched */
            MYSQL *fresh = connect_app(NULL);
            if (CHECK(fresh != NULL)) {
                unsigned id = conn_id(fresh);
                CHECK(id != idle_id);
                CHECK(id != busy_id);
                mysql_close(fresh);
            }
        }
        CHECK(tdb_proxy_log_contains(&proxy, "event=backend_recycled", WAIT_MS));
        /* The pool stays at its size through further cycles. */
        CHECK(wait_backends(direct, 2, 0, busy_id, ids, sizeof ids));
    }
    if (busy)
        mysql_close(busy);
    if (direct)
        mysql_close(direct);
    stop_proxy();
}

/* A connection idle for a whole health_check_interval (but not stale) is pinged by the
 * maintenance thread and comes back: same server connection, still serving. */
static void test_idle_connections_are_pinged_and_kept(void)
{
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1,
                        "pool:\n  size: 1\n  stale_after: 1h\n  health_check_interval: 300ms\n"
                        "log:\n  level: debug\n"))
        return;
    MYSQL *direct = tdb_connect_server();
    char before[256], after[256];
    if (CHECK(direct != NULL) && CHECK(wait_backends(direct, 1, 0, 0, before, sizeof before))) {
        char needle[96];
        snprintf(needle, sizeof needle,
                 "event=backend_pinged worker=0 backend=primary server_conn=%u",
                 (unsigned)atoi(before));
        CHECK(tdb_proxy_log_contains(&proxy, needle, WAIT_MS));
        CHECK(wait_backends(direct, 1, 0, (unsigned)atoi(before), after, sizeof after));
        MYSQL *m = connect_app(NULL);
        if (CHECK(m != NULL)) {
            CHECK_UINT(conn_id(m), (unsigned)atoi(before));
            mysql_close(m);
        }
    }
    if (direct)
        mysql_close(direct);
    stop_proxy();
}

/* ringsql with a pool of pool_size, two clients a and b through it and a direct connection
 * to the server, for the KILL tests. */
struct two_clients {
    MYSQL *direct, *a, *b;
    unsigned id_a, id_b;
};

static bool two_clients_open(struct two_clients *t, unsigned pool_size)
{
    char extra[64];
    snprintf(extra, sizeof extra, "pool:\n  size: %u\n", pool_size);
    memset(t, 0, sizeof *t);
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1, extra))
        return false;
    t->direct = tdb_connect_server();
    t->a = connect_app(NULL);
    t->b = connect_app(NULL);
    if (!CHECK(t->direct != NULL) || !CHECK(t->a != NULL) || !CHECK(t->b != NULL))
        return false;
    t->id_a = conn_id(t->a);
    t->id_b = conn_id(t->b);
    return true;
}

static void two_clients_close(struct two_clients *t)
{
    MYSQL *all[] = {t->a, t->b, t->direct};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            mysql_close(all[i]);
    if (proxy.pid > 0)
        stop_proxy();
}

static void kill_connection(MYSQL *direct, unsigned id)
{
    char sql[64];
    snprintf(sql, sizeof sql, "KILL %u", id);
    CHECK(tdb_exec(direct, sql));
}

static void test_killed_backend_gives_only_its_client_an_error(void)
{
    struct two_clients t;
    char ids[256];
    if (two_clients_open(&t, 3)) {
        kill_connection(t.direct, t.id_a);
        CHECK(tdb_proxy_log_contains(&proxy, "event=backend_lost", WAIT_MS));
        /* a's next query finds the server gone, as it would directly (its connection was
         * closed under it: 2013 or 2006); b goes on on its connection. */
        CHECK(mysql_query(t.a, "SELECT 1") != 0);
        CHECK(mysql_errno(t.a) == 2013 || mysql_errno(t.a) == 2006);
        printf("# a got: %u %s\n", mysql_errno(t.a), mysql_error(t.a));
        CHECK_UINT(conn_id(t.b), t.id_b);
        /* The pool refills to its size without a's connection. */
        CHECK(wait_backends(t.direct, 3, t.id_a, t.id_b, ids, sizeof ids));
        MYSQL *c = connect_app(NULL);
        if (CHECK(c != NULL)) {
            CHECK(conn_id(c) != t.id_a);
            mysql_close(c);
        }
    }
    two_clients_close(&t);
}

/* Waits (bounded) until the server runs a's query. */
static bool wait_running(MYSQL *direct, unsigned id)
{
    char probe[160], state[16] = "";
    snprintf(probe, sizeof probe,
             "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %u AND "
             "INFO LIKE 'SELECT SLEEP%%'",
             id);
    uint64_t deadline = tdb_now_ms() + WAIT_MS;
    while (tdb_now_ms() < deadline && tdb_query_value(direct, probe, state, sizeof state) &&
           strcmp(state, "1") != 0)
        usleep(10 * 1000);
    return CHECK_STR(state, "1");
}

/* KILL of the backend connection while its client waits for a response: that client gets an
 * error at once (ringsql's 1927 "during query", or the server's own forwarded), the other
 * one goes on, and the pool refills. */
static void test_backend_killed_mid_query(void)
{
    struct two_clients t;
    char ids[256];
    const char *q = "SELECT SLEEP(30)";
    if (two_clients_open(&t, 2) && CHECK(mysql_send_query(t.a, q, (unsigned long)strlen(q)) == 0) &&
        wait_running(t.direct, t.id_a)) {
        uint64_t t0 = tdb_now_ms();
        kill_connection(t.direct, t.id_a);
        CHECK(mysql_read_query_result(t.a) != 0);
        uint64_t took = tdb_now_ms() - t0;
        printf("# mid-query: %u %s after %llu ms\n", mysql_errno(t.a), mysql_error(t.a),
               (unsigned long long)took);
        CHECK_UINT(mysql_errno(t.a), 1927);
        CHECK(took < 3000);
        CHECK_UINT(conn_id(t.b), t.id_b);
        CHECK(wait_backends(t.direct, 2, t.id_a, t.id_b, ids, sizeof ids));
    }
    two_clients_close(&t);
}

/* ---------- a private MariaDB that this test stops and starts ---------- */

static char private_dir[300];

/* The 2003-style error for a backend that is down (libmariadb refuses 2003 itself from a
 * server: see protocol/constants.h). */
enum { DOWN_ERR = 1429 };

static bool mariadb(const char *verb, unsigned *port)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", TEST_MARIADB_SH, verb, private_dir);
    id_before_start = 0; /* a restarted server numbers its connections from 1 again */
    FILE *f = popen(cmd, "r");
    if (!f)
        return false;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *k = "RINGSQL_TEST_MARIADB_PORT=";
        const char *p = strstr(line, k);
        if (p && port)
            *port = (unsigned)atoi(p + strlen(k));
    }
    return CHECK_INT(pclose(f), 0);
}

static uint64_t last_attempt_ms; /* how long the last attempt of wait_connect_result took */

/* Connects until the answer is want (0: a working connection), bounded; returns the time it
 * took in ms, or -1. With want != 0 the last error message is copied to msg. */
static long wait_connect_result(unsigned want, char *msg, size_t len, unsigned bound_ms)
{
    uint64_t t0 = tdb_now_ms();
    do {
        uint64_t a0 = tdb_now_ms();
        MYSQL *m = mysql_init(NULL);
        unsigned timeout = 3;
        mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
        bool ok = mysql_real_connect(m, "127.0.0.1", "app", "secret", NULL, proxy.port, NULL, 0) &&
                  mysql_query(m, "SELECT 1") == 0;
        if (ok) {
            MYSQL_RES *r = mysql_store_result(m);
            mysql_free_result(r);
        }
        unsigned e = ok ? 0 : mysql_errno(m);
        if (msg && e)
            snprintf(msg, len, "%s", mysql_error(m));
        mysql_close(m);
        last_attempt_ms = tdb_now_ms() - a0;
        if (e == want)
            return (long)(tdb_now_ms() - t0);
        usleep(20 * 1000);
    } while (tdb_now_ms() - t0 < bound_ms);
    return -1;
}

static void test_backend_down_and_back(void)
{
    const char *tmp = getenv("RINGSQL_TEST_TMPDIR");
    snprintf(private_dir, sizeof private_dir, "%s/maint-mariadb-%d", tmp ? tmp : "/tmp",
             (int)getpid());
    unsigned port = 0;
    if (!mariadb("start", &port) || !CHECK(port != 0))
        return;
    /* ringsql starts while its backend is down (a sidecar before its database). */
    mariadb("stop", NULL);
    if (!start_proxy_at("127.0.0.1", port, 2, "pool:\n  size: 2\ntimeouts:\n  connect: 1s\n")) {
        return;
    }
    char msg[512] = "";
    long ms = wait_connect_result(DOWN_ERR, msg, sizeof msg, 3000);
    CHECK(ms >= 0);
    printf("# while down: %s\n", msg);
    CHECK(strstr(msg, "backend 'primary'") != NULL);
    CHECK(strstr(msg, "Can't connect") != NULL);
    /* The server comes: queries work without a restart of ringsql. */
    uint64_t t0 = tdb_now_ms();
    if (mariadb("restart", NULL)) {
        ms = wait_connect_result(0, NULL, 0, 15000);
        CHECK(ms >= 0);
        printf("# queries work %llu ms after the server was restarted\n",
               (unsigned long long)(tdb_now_ms() - t0));
        CHECK(tdb_proxy_log_contains(&proxy, "event=backend_up", WAIT_MS));
    }
    /* It goes away while clients are connected: they and new clients get clear errors within
     * timeouts.connect (1s), and it comes back again. */
    MYSQL *held = connect_app(NULL);
    CHECK(held != NULL);
    t0 = tdb_now_ms();
    mariadb("stop", NULL);
    uint64_t stopped = tdb_now_ms();
    ms = wait_connect_result(DOWN_ERR, msg, sizeof msg, 5000);
    if (CHECK(ms >= 0)) {
        printf("# 1429 %ld ms after mariadb.sh stop returned (stop took %llu ms), the failing "
               "connect took %llu ms: %s\n",
               ms, (unsigned long long)(stopped - t0), (unsigned long long)last_attempt_ms, msg);
        CHECK(ms <= 1000 + 500);        /* timeouts.connect plus slack for a loaded machine */
        CHECK(last_attempt_ms <= 1000); /* a client never waits longer than timeouts.connect */
    }
    if (held) {
        CHECK(mysql_query(held, "SELECT 1") != 0);
        printf("# a connected client got: %u %s\n", mysql_errno(held), mysql_error(held));
        mysql_close(held);
    }
    CHECK(tdb_proxy_log_contains(&proxy, "event=backend_down", WAIT_MS));
    t0 = tdb_now_ms();
    if (mariadb("restart", NULL)) {
        CHECK(wait_connect_result(0, NULL, 0, 15000) >= 0);
        printf("# back %llu ms after the restart began\n", (unsigned long long)(tdb_now_ms() - t0));
        /* The pool refills to its size (2) on the restarted server. */
        MYSQL *direct = tdb_connect("127.0.0.1", port, TDB_USER, TDB_PASSWORD, NULL, NULL);
        char ids[256];
        if (CHECK(direct != NULL)) {
            CHECK(wait_backends(direct, 2, 0, 0, ids, sizeof ids));
            mysql_close(direct);
        }
    }
    stop_proxy();
    mariadb("stop", NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", private_dir);
    CHECK_INT(system(cmd), 0);
}

/* ---------- slow clients ---------- */

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

enum { SILENT = 1000 };

static void test_silent_clients_are_closed_and_do_not_block_a_login(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < SILENT + 64 &&
        rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 2,
                        "pool:\n  size: 2\ntimeouts:\n  handshake: 2s\n"))
        return;
    long rss0 = rss_kb(proxy.pid);
    static int fds[SILENT];
    int opened = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t t0 = tdb_now_ms();
    for (; opened < SILENT; opened++) {
        fds[opened] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[opened] < 0 || connect(fds[opened], (struct sockaddr *)&sa, sizeof sa) != 0) {
            check_failf(__FILE__, __LINE__, "silent client %d: %s", opened, strerror(errno));
            if (fds[opened] >= 0)
                close(fds[opened]);
            break;
        }
    }
    CHECK_INT(opened, SILENT);
    /* A normal client logs in and queries while they all sit there. */
    uint64_t t1 = tdb_now_ms();
    MYSQL *m = connect_app(NULL);
    if (CHECK(m != NULL)) {
        char v[16];
        if (CHECK(tdb_query_value(m, "SELECT 5", v, sizeof v)))
            CHECK_STR(v, "5");
        uint64_t took = tdb_now_ms() - t1;
        printf("# normal login + query with %d silent clients: %llu ms (opened in %llu ms)\n",
               opened, (unsigned long long)took, (unsigned long long)(t1 - t0));
        CHECK(took < 2000); /* before timeouts.handshake frees anything */
    }
    long rss1 = rss_kb(proxy.pid);
    printf("# ringsql RSS %ld kB before, %ld kB with %d silent clients\n", rss0, rss1, opened);
    CHECK(rss1 - rss0 < 16 * 1024);
    /* Each one is closed after timeouts.handshake: greeting, then ERR 1043, then EOF. */
    int closed = 0, with_err = 0;
    uint64_t deadline = tdb_now_ms() + 2000 + WAIT_MS;
    for (int i = 0; i < opened; i++) {
        uint8_t buf[1024];
        size_t have = 0;
        for (;;) {
            uint64_t now = tdb_now_ms();
            struct pollfd pfd = {.fd = fds[i], .events = POLLIN};
            if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
                break;
            ssize_t n = recv(fds[i], buf + have, sizeof buf - have, 0);
            if (n <= 0) {
                closed += n == 0;
                break;
            }
            have += (size_t)n;
            if (have == sizeof buf)
                have = 0;
        }
        /* The last packet before EOF: an ERR (0xff) with code 1043. */
        for (size_t off = 0; off + 7 <= have;) {
            size_t len = (size_t)buf[off] | (size_t)buf[off + 1] << 8 | (size_t)buf[off + 2] << 16;
            if (buf[off + 4] == 0xff && buf[off + 5] == (1043 & 0xff) &&
                buf[off + 6] == (1043 >> 8))
                with_err++;
            off += 4 + len;
        }
        close(fds[i]);
    }
    printf("# all %d closed %llu ms after they connected\n", closed,
           (unsigned long long)(tdb_now_ms() - t1));
    CHECK_INT(closed, opened);
    CHECK_INT(with_err, opened);
    CHECK(tdb_proxy_log_contains(&proxy, "timeout_ms=2000", WAIT_MS));
    if (m) {
        char v[16];
        CHECK(tdb_query_value(m, "SELECT 6", v, sizeof v)); /* the normal client is still fine */
        mysql_close(m);
    }
    stop_proxy();
}

/* A client that dribbles its login a byte at a time is closed when the login's time is up,
 * not kept alive by each byte. */
static void test_dribbling_client_is_closed_after_the_handshake_timeout(void)
{
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1,
                        "pool:\n  size: 1\ntimeouts:\n  handshake: 1s\n"))
        return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t t0 = tdb_now_ms();
    if (CHECK(fd >= 0) && CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)) {
        bool closed = false, got_err = false;
        /* 200 ms apart, 20 at most: 4 s, well past the 1 s the login may take. */
        for (int i = 0; i < 20 && !closed; i++) {
            uint8_t byte = 0x20;
            (void)send(fd, &byte, 1, MSG_NOSIGNAL);
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            while (poll(&pfd, 1, 200) > 0) {
                uint8_t buf[512];
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    closed = true;
                    break;
                }
                for (ssize_t k = 0; k + 2 < n; k++)
                    if (buf[k] == 0xff && buf[k + 1] == (1043 & 0xff) && buf[k + 2] == (1043 >> 8))
                        got_err = true;
            }
        }
        uint64_t took = tdb_now_ms() - t0;
        printf("# dribbling client closed after %llu ms (timeouts.handshake 1s)\n",
               (unsigned long long)took);
        CHECK(closed);
        CHECK(got_err);
        CHECK(took < 3000); /* 1 s, plus slack for a loaded machine; kept alive it would be > 4 s */
    }
    if (fd >= 0)
        close(fd);
    stop_proxy();
}

/* An idle client past timeouts.client_idle is told why before it is closed (ERR 4031, sent
 * unasked as MySQL 8 does); its next query fails, and its connection serves the next client. */
static void test_idle_client_is_told_and_closed(void)
{
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1,
                        "pool:\n  size: 1\ntimeouts:\n  client_idle: 300ms\n"))
        return;
    MYSQL *m = connect_app(NULL);
    if (CHECK(m != NULL)) {
        CHECK(tdb_proxy_log_contains(&proxy, "state=idle timeout_ms=300", WAIT_MS));
        CHECK(mysql_query(m, "SELECT 1") != 0);
        printf("# the idle client's next query: %u %s\n", mysql_errno(m), mysql_error(m));
        mysql_close(m);
    }
    MYSQL *n = connect_app(NULL);
    if (CHECK(n != NULL))
        mysql_close(n);
    stop_proxy();
}

/* pool.min_idle below size (here 0): the pool starts with one connection (the worker learns
 * the backend from it), grows with demand up to size, shrinks back to min_idle once the
 * connections go stale unused, and grows again from nothing. */
static void test_min_idle_pool_grows_and_shrinks(void)
{
    if (!start_proxy_at(tdb_server_host(), tdb_server_port(), 1,
                        "pool:\n  size: 3\n  min_idle: 0\n  stale_after: 1s\n"
                        "  health_check_interval: 300ms\n"))
        return;
    MYSQL *direct = tdb_connect_server();
    char ids[256];
    if (CHECK(direct != NULL) && CHECK(wait_backends(direct, 1, 0, 0, ids, sizeof ids))) {
        MYSQL *c[3] = {0};
        for (int i = 0; i < 3; i++) {
            c[i] = connect_app(NULL);
            CHECK(c[i] != NULL);
        }
        CHECK(wait_backends(direct, 3, 0, 0, ids, sizeof ids));
        unsigned err = 0;
        MYSQL *extra = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &err);
        CHECK(extra == NULL); /* never past size */
        CHECK_UINT(err, 1040);
        for (int i = 0; i < 3; i++)
            if (c[i])
                mysql_close(c[i]);
        uint64_t t0 = tdb_now_ms();
        if (CHECK(wait_backends(direct, 0, 0, 0, ids, sizeof ids)))
            printf("# shrank back to min_idle in %llu ms\n",
                   (unsigned long long)(tdb_now_ms() - t0));
        CHECK(tdb_proxy_log_contains(&proxy, "replace=no", WAIT_MS));
        MYSQL *again = connect_app(NULL);
        if (CHECK(again != NULL)) {
            char v[16];
            CHECK(tdb_query_value(again, "SELECT 7", v, sizeof v));
            mysql_close(again);
        }
    }
    if (direct)
        mysql_close(direct);
    stop_proxy();
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_stale_idle_connections_are_replaced_busy_ones_kept),
        CHECK_CASE(test_idle_connections_are_pinged_and_kept),
        CHECK_CASE(test_killed_backend_gives_only_its_client_an_error),
        CHECK_CASE(test_backend_killed_mid_query),
        CHECK_CASE(test_silent_clients_are_closed_and_do_not_block_a_login),
        CHECK_CASE(test_dribbling_client_is_closed_after_the_handshake_timeout),
        CHECK_CASE(test_idle_client_is_told_and_closed),
        CHECK_CASE(test_min_idle_pool_grows_and_shrinks),
        CHECK_CASE(test_backend_down_and_back),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
