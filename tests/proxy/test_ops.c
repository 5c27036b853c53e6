/* Operations end to end (issue 7): the admin endpoint (/metrics as Prometheus text, /healthz,
 * /readyz), SIGHUP reload and SIGTERM drain, against a real ringsql and a real MariaDB.
 * Every wait is bounded and on a condition. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"

#define START_WAIT_MS 15000
#define COND_WAIT_MS 15000
#define STEP_MS 20

static struct tdb_proxy proxy;
static char yaml_fmt_buf[2048];

static void pause_step(void)
{
    struct timespec ts = {0, STEP_MS * 1000000L};
    nanosleep(&ts, NULL);
}

/* The config: one backend at host:port, user app/secret, extra appended under the top level. */
/* More keys under pool: (e.g. "  mode: transaction\n") for the next make_yaml(). */
static const char *pool_keys = "";

static void make_yaml(char *out, size_t cap, unsigned port, unsigned admin, const char *db_host,
                      unsigned db_port, unsigned workers, unsigned pool_size, const char *extra)
{
    snprintf(out, cap,
             "listen: \"127.0.0.1:%u\"\n"
             "workers: %u\n" TDB_YAML_PRIMARY_AND_APP "pool:\n"
             "  size: %u\n"
             "%s"
             "admin:\n"
             "  listen: \"127.0.0.1:%u\"\n"
             "timeouts:\n"
             "  connect: 1s\n"
             "%s",
             port, workers, db_host, db_port, pool_size, pool_keys, admin, extra);
    pool_keys = "";
}

static bool start_on(const char *db_host, unsigned db_port, unsigned workers, unsigned pool_size,
                     const char *extra)
{
    unsigned port = tdb_free_port(), admin = tdb_free_port();
    make_yaml(yaml_fmt_buf, sizeof yaml_fmt_buf, port, admin, db_host, db_port, workers, pool_size,
              extra);
    if (!CHECK(tdb_proxy_start(&proxy, port, yaml_fmt_buf, START_WAIT_MS)))
        return false;
    proxy.admin_port = admin;
    return true;
}

static bool start(unsigned workers, unsigned pool_size, const char *extra)
{
    return start_on(tdb_server_host(), tdb_server_port(), workers, pool_size, extra);
}

/* ---------- a tiny HTTP client ---------- */

/* Sends req to the admin port and reads the whole answer (the server closes). Returns the
 * status code, or -1; body points into buf. */
static int http_raw(const char *req, char *buf, size_t cap, const char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)proxy.admin_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
        ssize_t n;
        while (len + 1 < cap && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
            len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d ", &status) != 1)
        return -1;
    char *sep = strstr(buf, "\r\n\r\n");
    *body = sep ? sep + 4 : buf + len;
    return status;
}

static int http_get(const char *path, char *buf, size_t cap, const char **body)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    return http_raw(req, buf, cap, body);
}

/* ---------- a small Prometheus text parser ---------- */

static bool is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* Checks one sample line: name, optional {k="v",...} with escapes, a space, a number. On
 * success copies "name{labels}" (as written) into key. */
static bool parse_sample(const char *line, char *key, size_t keycap, double *value)
{
    const char *p = line;
    if (!is_name_start(*p))
        return false;
    while (is_name_char(*p))
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!is_name_start(*p))
                return false;
            while (is_name_char(*p))
                p++;
            if (*p++ != '=' || *p++ != '"')
                return false;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n')
                    return false;
                if (*p == '\\' && (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
                    return false;
                p += *p == '\\' ? 2 : 1;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    size_t klen = (size_t)(p - line);
    if (*p++ != ' ' || klen >= keycap)
        return false;
    memcpy(key, line, klen);
    key[klen] = '\0';
    char *end;
    *value = strtod(p, &end);
    return end != p && (*end == '\n' || *end == '\0');
}

/* The whole exposition must parse: every sample of a family declared by # TYPE first. Looks
 * up want (a "name{labels}" key) on the way; *found tells whether it was there. */
static bool prom_parse(const char *text, const char *want, double *got, bool *found)
{
    char types[64][96];
    size_t ntypes = 0;
    *found = false;
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        const char *eol = strchr(line, '\n');
        if (!eol)
            return check_failf(__FILE__, __LINE__, "last line not terminated");
        if (line[0] == '#') {
            char name[96], type[32];
            if (sscanf(line, "# TYPE %95s %31s", name, type) == 2) {
                if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0)
                    return check_failf(__FILE__, __LINE__, "bad type in: %.*s", (int)(eol - line),
                                       line);
                if (ntypes < 64)
                    snprintf(types[ntypes++], sizeof types[0], "%s", name);
            } else if (strncmp(line, "# HELP ", 7) != 0) {
                return check_failf(__FILE__, __LINE__, "bad comment: %.*s", (int)(eol - line),
                                   line);
            }
            continue;
        }
        char key[512];
        double v;
        if (!parse_sample(line, key, sizeof key, &v))
            return check_failf(__FILE__, __LINE__, "bad sample: %.*s", (int)(eol - line), line);
        size_t nlen = strcspn(key, "{");
        bool typed = false;
        for (size_t i = 0; i < ntypes && !typed; i++)
            typed = strlen(types[i]) == nlen && strncmp(types[i], key, nlen) == 0;
        if (!typed)
            return check_failf(__FILE__, __LINE__, "sample without # TYPE: %s", key);
        if (want && strcmp(key, want) == 0) {
            *got = v;
            *found = true;
        }
    }
    return true;
}

/* GETs /metrics, checks it parses, and returns the value of key (or -1, *found false). */
static double metric_found(const char *key, bool *found)
{
    static char buf[1 << 17];
    const char *body;
    *found = false;
    if (!CHECK_INT(http_get("/metrics", buf, sizeof buf, &body), 200))
        return -1;
    double v = -1;
    if (!CHECK(prom_parse(body, key, &v, found)))
        return -1;
    return *found ? v : -1;
}

/* The same, where key must be there. */
static double metric(const char *key)
{
    bool found;
    double v = metric_found(key, &found);
    if (!found)
        check_failf(__FILE__, __LINE__, "no sample %s in /metrics", key);
    return v;
}

static double pool_total(void)
{
    return metric(
               "ringsql_pool_connections{backend=\"primary\",user=\"app\",state=\"available\"}") +
           metric("ringsql_pool_connections{backend=\"primary\",user=\"app\",state=\"busy\"}");
}

/* Waits (bounded) until /readyz answers want. */
static bool wait_ready_status(int want, unsigned wait_ms)
{
    char buf[1024];
    const char *body;
    int got = -1;
    for (uint64_t deadline = tdb_now_ms() + wait_ms; tdb_now_ms() < deadline; pause_step()) {
        got = http_get("/readyz", buf, sizeof buf, &body);
        if (got == want)
            return true;
    }
    return check_failf(__FILE__, __LINE__, "/readyz stayed %d, wanted %d", got, want);
}

static MYSQL *connect_app(void)
{
    unsigned err = 0;
    MYSQL *m = NULL;
    /* A pool connection comes back asynchronously after a client left (COM_RESET). */
    for (uint64_t deadline = tdb_now_ms() + 5000; !m && tdb_now_ms() < deadline;) {
        m = tdb_connect("127.0.0.1", proxy.port, "app", "secret", TDB_DATABASE, &err);
        if (!m && err != 1040)
            break;
    }
    return m;
}

/* Waits (bounded) for the ringsql process to exit by itself; its status, or -1. */
static int wait_exit(unsigned wait_ms)
{
    int status;
    for (uint64_t deadline = tdb_now_ms() + wait_ms; tdb_now_ms() < deadline; pause_step()) {
        if (waitpid(proxy.pid, &status, WNOHANG) == proxy.pid) {
            proxy.pid = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
    }
    return -1;
}

/* Waits (bounded) until /metrics shows key at want. */
static bool wait_metric(const char *key, double want)
{
    double got = -1;
    bool found; /* a sample not there yet (a pool a reload just added) is waited for too */
    for (uint64_t deadline = tdb_now_ms() + COND_WAIT_MS;
         (got = metric_found(key, &found)) != want && tdb_now_ms() < deadline;)
        pause_step();
    return got == want ||
           check_failf(__FILE__, __LINE__, "%s stayed %g, wanted %g", key, got, want);
}

/* No configured password (client or backend side) ever reaches the log. */
static bool no_password_in_log(void)
{
    static const char *const secrets[] = {"secret", TDB_PASSWORD};
    FILE *f = fopen(proxy.log_path, "r");
    if (!CHECK(f != NULL))
        return false;
    char line[4096];
    bool clean = true;
    while (fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (strstr(line, secrets[i]))
                clean = check_failf(__FILE__, __LINE__, "password in the log: %s", line);
    fclose(f);
    return clean;
}

/* ---------- the endpoint ---------- */

static void test_metrics_count_queries(void)
{
    if (!start(2, 4, ""))
        return;
    char buf[4096];
    const char *body;
    CHECK_INT(http_get("/healthz", buf, sizeof buf, &body), 200);
    CHECK_STR(body, "ok\n");
    CHECK(wait_ready_status(200, COND_WAIT_MS));
    CHECK_INT(metric("ringsql_build_info{version=\"0.1.0\"}"), 1);
    CHECK_INT(metric("ringsql_backend_up{backend=\"primary\"}"), 1);

    const char *queries = "ringsql_commands_total{command=\"query\"}";
    const char *c2b = "ringsql_forwarded_bytes_total{direction=\"client_to_backend\"}";
    double q0 = metric(queries), b0 = metric(c2b);
    MYSQL *m = connect_app();
    if (CHECK(m != NULL)) {
        enum { N = 25 };
        char v[32];
        for (int i = 0; i < N; i++)
            CHECK(tdb_query_value(m, "SELECT 1", v, sizeof v));
        CHECK_INT(metric(queries) - q0, N);
        CHECK(metric(c2b) >= b0 + N * strlen("SELECT 1"));
        CHECK_INT(metric("ringsql_clients_connected"), 1);
        CHECK_INT(
            metric("ringsql_pool_connections{backend=\"primary\",user=\"app\",state=\"busy\"}"), 1);
        mysql_close(m);
    }
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
    CHECK(no_password_in_log());
}

/* Transaction pooling's counters: a pinned session, and a command that waited past
 * timeouts.pool_wait. */
static void test_metrics_count_pinned_and_pool_waits(void)
{
    pool_keys = "  mode: transaction\n";
    if (!start(1, 1, "  pool_wait: 100ms\n"))
        return;
    const char *pinned = "ringsql_sessions_pinned_total";
    const char *waits = "ringsql_timeouts_total{kind=\"pool_wait\"}";
    double p0 = metric(pinned), w0 = metric(waits);
    MYSQL *a = connect_app(), *b = connect_app();
    if (CHECK(a && b)) {
        CHECK(tdb_exec(a, "SET @pin = 1")); /* a keeps the only connection */
        CHECK(tdb_expect_error(b, "SELECT 1", 1040));
        CHECK_INT(metric(pinned) - p0, 1);
        CHECK_INT(metric(waits) - w0, 1);
    }
    if (a)
        mysql_close(a);
    if (b)
        mysql_close(b);
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

static void test_strict_http(void)
{
    if (!start(1, 2, ""))
        return;
    char buf[4096];
    const char *body;
    CHECK_INT(http_raw("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", buf, sizeof buf, &body),
              400);
    CHECK_INT(http_raw("GARBAGE\r\n\r\n", buf, sizeof buf, &body), 400);
    CHECK_INT(http_raw("POST /metrics HTTP/1.1\r\n\r\n", buf, sizeof buf, &body), 405);
    CHECK_INT(http_raw("GET /metrics HTTP/2.0\r\n\r\n", buf, sizeof buf, &body), 505);
    CHECK_INT(http_get("/nothing", buf, sizeof buf, &body), 404);
    CHECK_INT(http_raw("HEAD /healthz HTTP/1.0\r\n\r\n", buf, sizeof buf, &body), 200);
    CHECK_STR(body, "");
    /* The endpoint still answers after the bad requests. */
    CHECK_INT(http_get("/healthz", buf, sizeof buf, &body), 200);
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

/* ---------- readiness follows the backend ---------- */

static bool mariadb_sh(const char *verb, const char *dir)
{
    const char *sh = getenv("RINGSQL_MARIADB_SH");
    if (!sh)
        return check_failf(__FILE__, __LINE__, "RINGSQL_MARIADB_SH is not set (meson sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null", sh, verb, dir);
    return CHECK_INT(system(cmd), 0);
}

/* Reads the number in file name of dir (the private server's port, or its PID). */
static bool read_number(const char *dir, const char *name, unsigned *out)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    bool ok = f && fscanf(f, "%u", out) == 1;
    if (f)
        fclose(f);
    return CHECK(ok);
}

/* A MariaDB of this test's own in dir (it is stopped, paused and restarted): its port. */
static bool private_db(char *dir, size_t cap, unsigned *port)
{
    const char *tmp = getenv("RINGSQL_TEST_TMPDIR");
    snprintf(dir, cap, "%s/ops-private-db-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    if (!mariadb_sh("start", dir))
        return false;
    if (read_number(dir, "port", port))
        return true;
    mariadb_sh("stop", dir);
    return false;
}

static void test_readyz_follows_backend(void)
{
    char dir[512];
    unsigned db_port = 0;
    if (!private_db(dir, sizeof dir, &db_port))
        return;
    if (start_on("127.0.0.1", db_port, 1, 2, "")) {
        CHECK(wait_ready_status(200, COND_WAIT_MS));
        mariadb_sh("stop", dir);
        /* The pooled connections' armed receives see the server go: the pool empties. */
        CHECK(wait_ready_status(503, COND_WAIT_MS));
        char buf[1024];
        const char *body;
        if (CHECK_INT(http_get("/readyz", buf, sizeof buf, &body), 503))
            CHECK(strstr(body, "primary") != NULL);
        mariadb_sh("restart", dir);
        /* Reconnects back off to at most 5 s. */
        CHECK(wait_ready_status(200, 30000));
        MYSQL *m = connect_app();
        if (CHECK(m != NULL))
            mysql_close(m);
        CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
    }
    mariadb_sh("stop", dir);
}

/* A MariaDB of the test's own with a ringsql in front (pool of pool_size, pool_keys and extra
 * as for start_on), ready; then the server is stopped with SIGSTOP. stall_resume() lets it go
 * on; stall_end() does too, stops ringsql (exit 0 checked) and the server. */
struct stall {
    char dir[512];
    unsigned pid;
    bool started, stopped;
};

static bool stall_begin(struct stall *st, unsigned pool_size, const char *extra)
{
    unsigned db_port = 0;
    *st = (struct stall){0};
    if (!private_db(st->dir, sizeof st->dir, &db_port))
        return false;
    st->started = read_number(st->dir, "mariadbd.pid", &st->pid) &&
                  start_on("127.0.0.1", db_port, 1, pool_size, extra);
    if (!st->started || !CHECK(wait_ready_status(200, COND_WAIT_MS)))
        return false;
    st->stopped = CHECK_INT(kill((pid_t)st->pid, SIGSTOP), 0);
    return st->stopped;
}

static void stall_resume(struct stall *st)
{
    if (st->stopped)
        CHECK_INT(kill((pid_t)st->pid, SIGCONT), 0);
    st->stopped = false;
}

static void stall_end(struct stall *st)
{
    stall_resume(st);
    if (st->started)
        CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
    if (st->dir[0])
        mariadb_sh("stop", st->dir);
}

/* The backend stalls: the maintenance thread's connects wait on it for timeouts.connect (1 s
 * here) each, and /healthz still answers at once (it answered after up to a second, or timed
 * out, when the endpoint ran on that thread: a liveness probe would restart ringsql). */
static void test_healthz_answers_while_backend_stalls(void)
{
    struct stall st;
    pool_keys = "  stale_after: 100ms\n  health_check_interval: 100ms\n";
    if (stall_begin(&st, 2, "")) {
        enum { WINDOW_MS = 4000, BOUND_MS = 500 };
        uint64_t worst = 0;
        int answered = 0, asked = 0;
        for (uint64_t end = tdb_now_ms() + WINDOW_MS; tdb_now_ms() < end && asked < 400; asked++) {
            char buf[512];
            const char *body;
            uint64_t t0 = tdb_now_ms();
            answered += http_get("/healthz", buf, sizeof buf, &body) == 200;
            uint64_t took = tdb_now_ms() - t0;
            worst = took > worst ? took : worst;
            pause_step();
        }
        CHECK_INT(answered, asked);
        if (!CHECK(worst < BOUND_MS))
            printf("# /healthz took up to %llu ms while the backend stalled\n",
                   (unsigned long long)worst);
    }
    stall_end(&st);
}

/* A login whose bind waits on a stalled backend still ends at timeouts.handshake, with ERR
 * 1043 (it waited until the backend woke, 13 s in the adversarial test); the stalled
 * connection is discarded, and once the backend is back logins work again. */
static void test_login_times_out_on_a_stalled_backend(void)
{
    struct stall st;
    if (stall_begin(&st, 2, "  handshake: 1s\n")) {
        MYSQL *m = mysql_init(NULL);
        unsigned bound_s = 10; /* the handshake's reads are bound by the connect timeout */
        mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &bound_s);
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &bound_s);
        uint64_t t0 = tdb_now_ms();
        /* A database to apply: the bind sends the server COM_INIT_DB, which it never answers. */
        bool in = mysql_real_connect(m, "127.0.0.1", "app", "secret", TDB_DATABASE, proxy.port,
                                     NULL, 0) != NULL;
        uint64_t took = tdb_now_ms() - t0;
        CHECK(!in);
        CHECK_UINT(mysql_errno(m), 1043);
        if (!CHECK(took < 3000))
            printf("# the login ended after %llu ms\n", (unsigned long long)took);
        mysql_close(m);
        stall_resume(&st);
        m = NULL;
        for (uint64_t end = tdb_now_ms() + COND_WAIT_MS; !m && tdb_now_ms() < end; pause_step())
            m = tdb_connect("127.0.0.1", proxy.port, "app", "secret", TDB_DATABASE, NULL);
        if (CHECK(m != NULL))
            mysql_close(m);
    }
    stall_end(&st);
}

/* Milliseconds of the day of each line of the proxy log holding needle (at most cap). */
static size_t log_times(const char *needle, uint64_t *ms, size_t cap)
{
    FILE *f = fopen(proxy.log_path, "r");
    size_t n = 0;
    char line[2048];
    while (f && n < cap && fgets(line, sizeof line, f)) {
        unsigned h, mi, sec, milli;
        const char *t = strstr(line, "T");
        if (strstr(line, needle) && t && sscanf(t, "T%u:%u:%u.%uZ", &h, &mi, &sec, &milli) == 4)
            ms[n++] = ((h * 60ull + mi) * 60 + sec) * 1000 + milli;
    }
    if (f)
        fclose(f);
    return n;
}

/* Idle connections pinged while the backend stalls: the pings go out together and fail
 * together, one timeouts.connect (1 s) for all, not one after another (4 s for 4). */
static void test_pings_do_not_wait_for_each_other(void)
{
    struct stall st;
    pool_keys = "  health_check_interval: 300ms\n";
    if (stall_begin(&st, 4, "")) {
        enum { PINGS = 4 };
        uint64_t at[PINGS] = {0};
        bool all = false;
        for (uint64_t end = tdb_now_ms() + COND_WAIT_MS; !all && tdb_now_ms() < end; pause_step())
            all = log_times("event=backend_ping_failed", at, PINGS) == PINGS;
        if (CHECK(all)) {
            uint64_t lo = at[0], hi = at[0];
            for (size_t i = 1; i < PINGS; i++) {
                lo = at[i] < lo ? at[i] : lo;
                hi = at[i] > hi ? at[i] : hi;
            }
            if (!CHECK(hi - lo < 1500))
                printf("# the %d failed pings spread over %llu ms\n", PINGS,
                       (unsigned long long)(hi - lo));
        }
    }
    stall_end(&st);
}

/* Every receive buffer of the worker held (receive_buffers: 16, clients that never read an
 * 8 MB result, so each response holds buffers, until no login gets one either): /readyz
 * answers 503 naming the worker, the waits are counted, and once the clients go it is ready
 * again. */
static void test_readyz_fails_when_buffers_run_out(void)
{
    if (!start(1, 24, "receive_buffers: 16\n"))
        return;
    enum { CLIENTS = 20 };
    MYSQL *c[CLIENTS] = {0};
    int sent = 0;
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = connect_app();
        if (!c[i])
            break;
        int small = 4096; /* the client's window stays small: ringsql's send stays stuck */
        setsockopt(mysql_get_socket(c[i]), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sent += mysql_send_query(c[i], "SELECT REPEAT('x', 8388608)", 27) == 0;
    }
    /* Logins need a buffer too: once they are all held, the next client cannot get in. */
    CHECK(sent >= 8);
    char buf[1024];
    const char *body = "";
    CHECK(wait_ready_status(503, COND_WAIT_MS));
    if (CHECK_INT(http_get("/readyz", buf, sizeof buf, &body), 503))
        CHECK(strstr(body, "no free receive buffer") != NULL);
    CHECK(metric("ringsql_receive_buffer_waits_total") > 0);
    for (int i = 0; i < CLIENTS; i++)
        if (c[i]) {
            shutdown(mysql_get_socket(c[i]), SHUT_RDWR); /* gone without reading */
            mysql_close(c[i]);
        }
    CHECK(wait_ready_status(200, COND_WAIT_MS));
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

/* ---------- reload ---------- */

static bool write_config(const char *text)
{
    FILE *f = fopen(proxy.config_path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    return CHECK(ok);
}

static unsigned long long thread_id(MYSQL *m)
{
    char v[32];
    return tdb_query_value(m, "SELECT CONNECTION_ID()", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
}

static void test_reload(void)
{
    if (!start(1, 2, ""))
        return;
    unsigned port = proxy.port, admin = proxy.admin_port;
    MYSQL *m = connect_app();
    if (!CHECK(m != NULL)) {
        tdb_proxy_stop(&proxy, SIGTERM);
        return;
    }
    unsigned long long id = thread_id(m);
    CHECK(id != 0);
    CHECK_INT(pool_total(), 2);

    /* A broken config: rejected, logged, the old one goes on. */
    write_config("pool:\n  size: nope\n");
    kill(proxy.pid, SIGHUP);
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_rejected", COND_WAIT_MS));
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_config_error", 0));
    CHECK_INT(metric("ringsql_config_reloads_total{result=\"rejected\"}"), 1);
    CHECK_INT(metric("ringsql_pool_target_connections{backend=\"primary\",user=\"app\"}"), 2);
    CHECK_UINT(thread_id(m), id);
    MYSQL *m2 = connect_app();
    if (CHECK(m2 != NULL))
        mysql_close(m2);

    /* A bigger pool (and a listen change, which needs a restart): the pool grows, the client
     * connected meanwhile keeps its backend connection. */
    char yaml[2048];
    make_yaml(yaml, sizeof yaml, tdb_free_port(), admin, tdb_server_host(), tdb_server_port(), 1, 6,
              "");
    write_config(yaml);
    kill(proxy.pid, SIGHUP);
    CHECK(tdb_proxy_log_contains(&proxy, "event=reloaded", COND_WAIT_MS));
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_needs_restart key=listen", 0));
    double total = 0;
    for (uint64_t deadline = tdb_now_ms() + COND_WAIT_MS;
         (total = pool_total()) != 6 && tdb_now_ms() < deadline;)
        pause_step();
    CHECK_INT(total, 6);
    CHECK_INT(metric("ringsql_config_reloads_total{result=\"applied\"}"), 1);
    CHECK_UINT(thread_id(m), id);
    /* Still on the old listen address. */
    CHECK_UINT(proxy.port, port);
    m2 = connect_app();
    if (CHECK(m2 != NULL))
        mysql_close(m2);

    /* Smaller again: idle connections beyond the target close. */
    make_yaml(yaml, sizeof yaml, port, admin, tdb_server_host(), tdb_server_port(), 1, 3, "");
    write_config(yaml);
    kill(proxy.pid, SIGHUP);
    for (uint64_t deadline = tdb_now_ms() + COND_WAIT_MS;
         (total = pool_total()) != 3 && tdb_now_ms() < deadline;)
        pause_step();
    CHECK_INT(total, 3);
    CHECK_UINT(thread_id(m), id);

    /* A new password and log level: new logins need the new password, the connected client
     * stays, debug events appear. */
    make_yaml(yaml, sizeof yaml, port, admin, tdb_server_host(), tdb_server_port(), 1, 3,
              "log:\n  level: debug\n");
    char *pw = strstr(yaml, "password: \"secret\"");
    if (CHECK(pw != NULL)) {
        memmove(pw + strlen("password: \"rotated"), pw + strlen("password: \""),
                strlen(pw + strlen("password: \"")) + 1);
        memcpy(pw, "password: \"rotated", strlen("password: \"rotated"));
    }
    write_config(yaml);
    kill(proxy.pid, SIGHUP);
    CHECK(wait_metric("ringsql_config_reloads_total{result=\"applied\"}", 3));
    unsigned err = 0;
    MYSQL *old_pw = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &err);
    CHECK(old_pw == NULL && err == 1045);
    if (old_pw)
        mysql_close(old_pw);
    m2 = tdb_connect("127.0.0.1", proxy.port, "app", "rotatedsecret", NULL, &err);
    if (CHECK(m2 != NULL))
        mysql_close(m2);
    CHECK(tdb_proxy_log_contains(&proxy, "level=debug event=session_ready", COND_WAIT_MS));
    CHECK_UINT(thread_id(m), id);
    mysql_close(m);
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
    CHECK(no_password_in_log());
}

/* A config with the given backends (names; all at the test server) and users (app/secret,
 * and reporting/report when with_reporting). */
static void multi_yaml(char *out, size_t cap, unsigned admin, const char *const *backends,
                       size_t nbackends, bool with_reporting)
{
    int n = snprintf(out, cap, "listen: \"127.0.0.1:%u\"\nworkers: 1\nbackends:\n", proxy.port);
    for (size_t i = 0; i < nbackends; i++)
        n += snprintf(out + n, cap - (size_t)n, "  - name: %s\n    address: \"%s:%u\"\n",
                      backends[i], tdb_server_host(), tdb_server_port());
    n += snprintf(out + n, cap - (size_t)n,
                  "users:\n"
                  "  - name: app\n"
                  "    password: \"secret\"\n"
                  "    backend_user: " TDB_USER "\n"
                  "    backend_password: " TDB_PASSWORD "\n");
    if (with_reporting)
        n += snprintf(out + n, cap - (size_t)n,
                      "  - name: reporting\n"
                      "    password: \"report\"\n"
                      "    backend_user: " TDB_USER "\n"
                      "    backend_password: " TDB_PASSWORD "\n"
                      "    share_backend_user: true\n");
    snprintf(out + n, cap - (size_t)n, "pool:\n  size: 2\nadmin:\n  listen: \"127.0.0.1:%u\"\n",
             admin);
}

#define POOL_KEY(b, u, state)                                                                      \
    "ringsql_pool_connections{backend=\"" b "\",user=\"" u "\",state=\"" state "\"}"

static bool wait_pool(const char *avail_key, double want)
{
    return wait_metric(avail_key, want);
}

static void test_reload_adds_and_removes_backends_and_users(void)
{
    if (!start(1, 2, ""))
        return;
    unsigned admin = proxy.admin_port;
    MYSQL *m = connect_app();
    if (!CHECK(m != NULL)) {
        tdb_proxy_stop(&proxy, SIGKILL);
        return;
    }
    unsigned long long id = thread_id(m);

    /* Add a backend and a user: their pools fill; the connected client goes on. */
    static const char *const both[] = {"primary", "second"};
    char yaml[4096];
    multi_yaml(yaml, sizeof yaml, admin, both, 2, true);
    write_config(yaml);
    kill(proxy.pid, SIGHUP);
    CHECK(
        tdb_proxy_log_contains(&proxy, "event=reload_backend_added backend=second", COND_WAIT_MS));
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_user_added user=reporting", 0));
    CHECK(wait_pool(POOL_KEY("second", "app", "available"), 2));
    CHECK(wait_pool(POOL_KEY("second", "reporting", "available"), 2));
    CHECK(wait_pool(POOL_KEY("primary", "reporting", "available"), 2));
    CHECK_INT(metric(POOL_KEY("primary", "app", "busy")), 1);
    CHECK_INT(metric("ringsql_backend_up{backend=\"second\"}"), 1);
    CHECK_UINT(thread_id(m), id);
    unsigned err = 0;
    MYSQL *r = tdb_connect("127.0.0.1", proxy.port, "reporting", "report", NULL, &err);
    if (!CHECK(r != NULL))
        printf("#   reporting could not log in: %u\n", err);

    /* Remove the backend the client is on, and the user reporting: both logged-in clients
     * go on (the first one's connection stays with it), new ones go to what is left. */
    static const char *const second_only[] = {"second"};
    multi_yaml(yaml, sizeof yaml, admin, second_only, 1, false);
    write_config(yaml);
    kill(proxy.pid, SIGHUP);
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_backend_removed backend=primary",
                                 COND_WAIT_MS));
    CHECK(tdb_proxy_log_contains(&proxy, "event=reload_user_removed user=reporting", 0));
    CHECK(wait_metric("ringsql_config_reloads_total{result=\"applied\"}", 2));
    CHECK_UINT(thread_id(m), id);
    char v[32];
    if (r && CHECK(tdb_query_value(r, "SELECT 7", v, sizeof v)))
        CHECK_STR(v, "7");
    CHECK(wait_pool(POOL_KEY("second", "app", "available"), 2));
    {
        static char buf[1 << 17];
        const char *body;
        if (CHECK_INT(http_get("/metrics", buf, sizeof buf, &body), 200))
            CHECK(strstr(body, "backend=\"primary\"") == NULL &&
                  strstr(body, "user=\"reporting\"") == NULL);
    }
    MYSQL *denied = tdb_connect("127.0.0.1", proxy.port, "reporting", "report", NULL, &err);
    CHECK(denied == NULL && err == 1045);
    if (denied)
        mysql_close(denied);
    const char *discarded = "ringsql_backend_connections_discarded_total";
    const char *reset = "ringsql_backend_connections_reset_total";
    double r_before = metric(reset);
    MYSQL *m2 = connect_app();
    if (CHECK(m2 != NULL)) {
        CHECK_INT(metric(POOL_KEY("second", "app", "busy")), 1);
        CHECK(tdb_exec(m2, "SET @left = 1")); /* state: its connection is reset at the end */
        mysql_close(m2);
        CHECK(wait_metric(reset, r_before + 1)); /* m2's connection, reset and pooled again */
    }
    /* The removed backend's connection closes once its client leaves (not reset and pooled
     * again): one more discarded, none more reset. */
    double d0 = metric(discarded), r0 = metric(reset);
    mysql_close(m);
    CHECK(wait_metric(discarded, d0 + 1));
    CHECK_INT(metric(reset), r0);
    CHECK(tdb_proxy_log_contains(&proxy, "pool=primary/app server_conn=", 0));
    if (r)
        mysql_close(r);
    CHECK(wait_ready_status(200, COND_WAIT_MS));
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
    CHECK(no_password_in_log());
}

/* ---------- drain ---------- */

struct long_query {
    MYSQL *m;
    bool ok;
    char value[32];
};

static void *run_long_query(void *arg)
{
    struct long_query *q = arg;
    q->ok = tdb_query_value(q->m, "SELECT SLEEP(2)", q->value, sizeof q->value);
    return NULL;
}

static void test_drain_lets_a_query_finish(void)
{
    if (!start(2, 4, "shutdown:\n  drain_timeout: 10s\n"))
        return;
    struct long_query q = {.m = connect_app()};
    if (!CHECK(q.m != NULL)) {
        tdb_proxy_stop(&proxy, SIGKILL);
        return;
    }
    const char *queries = "ringsql_commands_total{command=\"query\"}";
    double q0 = metric(queries);
    pthread_t t;
    pthread_create(&t, NULL, run_long_query, &q);
    /* The query is on its way once ringsql forwarded it. */
    for (uint64_t deadline = tdb_now_ms() + COND_WAIT_MS;
         metric(queries) < q0 + 1 && tdb_now_ms() < deadline;)
        pause_step();
    uint64_t t0 = tdb_now_ms();
    kill(proxy.pid, SIGTERM);
    CHECK(wait_ready_status(503, COND_WAIT_MS));
    CHECK_INT(metric("ringsql_draining"), 1);
    /* New clients are refused while the query runs. */
    unsigned err = 0;
    MYSQL *late = tdb_connect("127.0.0.1", proxy.port, "app", "secret", NULL, &err);
    CHECK(late == NULL);
    if (late)
        mysql_close(late);
    pthread_join(t, NULL);
    if (CHECK(q.ok))
        CHECK_STR(q.value, "0");
    CHECK(tdb_now_ms() - t0 < 10000);
    /* The process is still there for its client, and leaves once the client does. */
    CHECK(waitpid(proxy.pid, NULL, WNOHANG) == 0);
    mysql_close(q.m);
    CHECK_INT(wait_exit(COND_WAIT_MS), 0);
    CHECK(tdb_now_ms() - t0 < 10000);
    CHECK(tdb_proxy_log_contains(&proxy, "event=drained", 0));
}

static void test_drain_timeout_closes_idle_clients(void)
{
    if (!start(1, 2, "shutdown:\n  drain_timeout: 1s\n"))
        return;
    /* One client ran a query; the other only logged in (its OK went out with the receive of
     * its first command linked behind it, which the shutdown has to end). */
    MYSQL *used = connect_app();
    MYSQL *quiet = connect_app();
    if (!CHECK(used != NULL && quiet != NULL) || !CHECK_INT(mysql_query(used, "SELECT 1"), 0)) {
        tdb_proxy_stop(&proxy, SIGKILL);
        return;
    }
    mysql_free_result(mysql_store_result(used));
    uint64_t t0 = tdb_now_ms();
    kill(proxy.pid, SIGTERM);
    CHECK_INT(wait_exit(COND_WAIT_MS), 0);
    uint64_t took = tdb_now_ms() - t0;
    CHECK(took >= 900 && took < 8000); /* drain_timeout 1s, then the ERR and the exit */
    CHECK(tdb_proxy_log_contains(&proxy, "event=drain_timeout", 0));
    /* Each finds its connection closed, and why. */
    MYSQL *clients[] = {used, quiet};
    for (size_t i = 0; i < 2; i++) {
        CHECK(mysql_query(clients[i], "SELECT 1") != 0);
        CHECK_INT(mysql_errno(clients[i]), 1053);
        mysql_close(clients[i]);
    }
}

/* Clients that reset their connection as soon as it opens: the greeting's send (with the
 * login's receive linked behind it) or that receive fails. Each session ends and is freed:
 * the gauge goes back to 0, a client after them logs in, and the proxy still stops cleanly
 * (a worker waits for every session object before it exits). */
static void test_clients_reset_at_connect_are_let_go(void)
{
    if (!start(1, 2, "log:\n  level: debug\n"))
        return;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    enum { N = 300 };
    int connected = 0;
    for (int i = 0; i < N; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        connected += connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
    }
    CHECK_INT(connected, N);
    CHECK(wait_metric("ringsql_clients_connected", 0));
    MYSQL *m = connect_app();
    char v[32];
    if (CHECK(m != NULL)) {
        CHECK(tdb_query_value(m, "SELECT 1", v, sizeof v));
        mysql_close(m);
    }
    CHECK_INT(tdb_proxy_stop(&proxy, SIGTERM), 0);
}

static void test_second_sigterm_stops_at_once(void)
{
    if (!start(1, 2, "shutdown:\n  drain_timeout: 60s\n"))
        return;
    MYSQL *m = connect_app();
    if (!CHECK(m != NULL)) {
        tdb_proxy_stop(&proxy, SIGKILL);
        return;
    }
    kill(proxy.pid, SIGTERM);
    CHECK(tdb_proxy_log_contains(&proxy, "event=draining", COND_WAIT_MS));
    uint64_t t0 = tdb_now_ms();
    kill(proxy.pid, SIGTERM);
    CHECK_INT(wait_exit(COND_WAIT_MS), 0);
    CHECK(tdb_now_ms() - t0 < 5000);
    mysql_close(m);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CHECK_CASE(test_metrics_count_queries),
        CHECK_CASE(test_metrics_count_pinned_and_pool_waits),
        CHECK_CASE(test_strict_http),
        CHECK_CASE(test_readyz_follows_backend),
        CHECK_CASE(test_healthz_answers_while_backend_stalls),
        CHECK_CASE(test_login_times_out_on_a_stalled_backend),
        CHECK_CASE(test_pings_do_not_wait_for_each_other),
        CHECK_CASE(test_readyz_fails_when_buffers_run_out),
        CHECK_CASE(test_reload),
        CHECK_CASE(test_reload_adds_and_removes_backends_and_users),
        CHECK_CASE(test_drain_lets_a_query_finish),
        CHECK_CASE(test_drain_timeout_closes_idle_clients),
        CHECK_CASE(test_clients_reset_at_connect_are_let_go),
        CHECK_CASE(test_second_sigterm_stops_at_once),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
