#include "testdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define POLL_STEP_MS 10

uint64_t tdb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The pause between two looks at a condition in a bounded wait (never synchronisation). */
static void poll_pause(void)
{
    struct timespec ts = {0, POLL_STEP_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *required_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "Bail out! %s is not set: integration tests need the MariaDB server from "
                "tests/mariadb.sh (scripts/test.sh starts it)\n",
                name);
        printf("Bail out! %s is not set\n", name);
        exit(1);
    }
    return v;
}

const char *tdb_server_host(void)
{
    return required_env("RINGSQL_TEST_MARIADB_HOST");
}

unsigned tdb_server_port(void)
{
    return (unsigned)atoi(required_env("RINGSQL_TEST_MARIADB_PORT"));
}

MYSQL *tdb_connect(const char *host, unsigned port, const char *user, const char *password,
                   const char *db, unsigned *err)
{
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return NULL;
    unsigned timeout = 5;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    if (!mysql_real_connect(m, host, user, password, db, port, NULL, CLIENT_MULTI_STATEMENTS)) {
        if (err)
            *err = mysql_errno(m);
        mysql_close(m);
        return NULL;
    }
    if (err)
        *err = 0;
    return m;
}

MYSQL *tdb_connect_app(unsigned port, const char *db, unsigned wait_ms)
{
    unsigned err = 0;
    uint64_t deadline = tdb_now_ms() + wait_ms;
    MYSQL *m;
    do
        m = tdb_connect("127.0.0.1", port, "app", "secret", db, &err);
    while (!m && err == 1040 && tdb_now_ms() < deadline);
    if (!m)
        printf("# connect through ringsql failed: %u\n", err);
    return m;
}

void tdb_close_all(MYSQL **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i])
            mysql_close(m[i]);
}

MYSQL *tdb_connect_server(void)
{
    unsigned err = 0;
    MYSQL *m = tdb_connect(tdb_server_host(), tdb_server_port(), TDB_USER, TDB_PASSWORD,
                           TDB_DATABASE, &err);
    if (!m)
        check_failf(__FILE__, __LINE__, "cannot connect to MariaDB at %s:%u: error %u",
                    tdb_server_host(), tdb_server_port(), err);
    return m;
}

bool tdb_exec(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        return check_failf(__FILE__, __LINE__, "\"%s\" failed: %u %s", sql, mysql_errno(m),
                           mysql_error(m));
    /* Drain every result (multi-statements included) so the connection is ready again. */
    do {
        MYSQL_RES *res = mysql_store_result(m);
        if (res)
            mysql_free_result(res);
    } while (mysql_next_result(m) == 0);
    if (mysql_errno(m))
        return check_failf(__FILE__, __LINE__, "\"%s\" failed later: %u %s", sql,
                           mysql_errno(m), mysql_error(m));
    return true;
}

bool tdb_query_value(MYSQL *m, const char *sql, char *out, size_t outlen)
{
    if (mysql_query(m, sql) != 0)
        return check_failf(__FILE__, __LINE__, "\"%s\" failed: %u %s", sql, mysql_errno(m),
                           mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        return check_failf(__FILE__, __LINE__, "\"%s\" returned no result set", sql);
    bool ok = mysql_num_rows(res) == 1 && mysql_num_fields(res) >= 1;
    if (ok) {
        MYSQL_ROW row = mysql_fetch_row(res);
        snprintf(out, outlen, "%s", row[0] ? row[0] : "NULL");
    } else {
        check_failf(__FILE__, __LINE__, "\"%s\" returned %llu rows, want 1", sql,
                    (unsigned long long)mysql_num_rows(res));
    }
    mysql_free_result(res);
    return ok;
}

bool tdb_expect_error(MYSQL *m, const char *sql, unsigned code)
{
    if (mysql_query(m, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res)
            mysql_free_result(res);
        return check_failf(__FILE__, __LINE__, "\"%s\" succeeded, want error %u", sql, code);
    }
    if (mysql_errno(m) != code)
        return check_failf(__FILE__, __LINE__, "\"%s\" failed with %u (%s), want %u", sql,
                           mysql_errno(m), mysql_error(m), code);
    return true;
}

unsigned tdb_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool port_accepts(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void print_log(const struct tdb_proxy *p)
{
    FILE *f = fopen(p->log_path, "r");
    char line[1024];
    printf("#   ringsql log (%s):\n", p->log_path);
    while (f && fgets(line, sizeof line, f))
        printf("#   | %s", line);
    if (f)
        fclose(f);
}

bool tdb_proxy_start(struct tdb_proxy *p, unsigned port, const char *yaml, unsigned wait_ms)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->port = port;
    const char *bin = getenv("RINGSQL_BIN");
    if (!bin)
        return check_failf(__FILE__, __LINE__, "RINGSQL_BIN is not set (meson sets it)");
    const char *tmp = getenv("RINGSQL_TEST_TMPDIR");
    snprintf(p->dir, sizeof p->dir, "%s/ringsql-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(p->dir))
        return check_failf(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    snprintf(p->config_path, sizeof p->config_path, "%s/ringsql.yaml", p->dir);
    snprintf(p->log_path, sizeof p->log_path, "%s/ringsql.log", p->dir);
    FILE *f = fopen(p->config_path, "w");
    if (!f || fputs(yaml, f) < 0 || fclose(f) != 0)
        return check_failf(__FILE__, __LINE__, "cannot write %s", p->config_path);

    pid_t pid = fork();
    if (pid < 0)
        return check_failf(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        int log = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            dup2(log, STDERR_FILENO);
            dup2(log, STDOUT_FILENO);
        }
        execl(bin, "ringsql", "-c", p->config_path, (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    for (uint64_t deadline = tdb_now_ms() + wait_ms; tdb_now_ms() < deadline; poll_pause()) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = -1;
            print_log(p);
            return check_failf(__FILE__, __LINE__, "ringsql exited during start-up (status %d)",
                               status);
        }
        if (port_accepts(port))
            return true;
    }
    print_log(p);
    tdb_proxy_stop(p, SIGKILL);
    return check_failf(__FILE__, __LINE__, "ringsql did not listen on %u within %u ms", port,
                       wait_ms);
}

int tdb_proxy_stop(struct tdb_proxy *p, int sig)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int status = 0;
    pid_t got = 0;
    for (uint64_t deadline = tdb_now_ms() + 15000; tdb_now_ms() < deadline; poll_pause()) {
        got = waitpid(p->pid, &status, WNOHANG);
        if (got != 0)
            break;
    }
    if (got == 0) {
        check_failf(__FILE__, __LINE__, "ringsql (pid %d) did not exit within 15 s", p->pid);
        print_log(p);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &status, 0);
    }
    p->pid = -1;
    if (got == 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

bool tdb_proxy_log_contains(const struct tdb_proxy *p, const char *needle, unsigned wait_ms)
{
    for (uint64_t deadline = tdb_now_ms() + wait_ms;; poll_pause()) {
        FILE *f = fopen(p->log_path, "r");
        char line[2048];
        bool found = false;
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (found)
            return true;
        if (tdb_now_ms() >= deadline)
            return false;
    }
}
