/* Integration: protocol/'s own handshake code logs in to the real MariaDB server
 * (mysql_native_password scramble computed by protocol/auth.c), runs a query whose response
 * the tracker follows, and a wrong password is refused. Needs tests/mariadb.sh's server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "bench/netio.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "protocol/tracker.h"

static const char *host;
static unsigned port;

static struct proto_login login_as(const char *password)
{
    return (struct proto_login){
        .user = "ringsql_test", .password = password, .database = "ringsql_test",
        .caps = PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_MULTI_RESULTS |
                PROTO_CLIENT_DEPRECATE_EOF,
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI, .max_packet = 1 << 24,
    };
}

static void test_native_login_and_query(void)
{
    int fd = net_connect(host, port);
    if (!CHECK(fd >= 0))
        return;
    struct proto_login l = login_as("test_pass");
    uint64_t caps = 0;
    uint16_t status = 0;
    char err[256] = "";
    int rc = net_login(fd, &l, &caps, &status, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "# login failed: %s\n", err);
    CHECK_INT(rc, 0);
    CHECK(status & PROTO_SERVER_STATUS_AUTOCOMMIT);
    CHECK(caps & PROTO_CLIENT_DEPRECATE_EOF);

    /* SELECT CURRENT_USER(): the tracker must end exactly at the last packet. */
    static const char sql[] = "\x03SELECT CURRENT_USER(), DATABASE()";
    uint8_t buf[4096];
    ssize_t n = proto_build_raw(buf, sizeof buf, 0, sql, sizeof sql - 1);
    CHECK_INT(net_write_all(fd, buf, (size_t)n), 0);
    struct proto_tracker t;
    proto_tracker_init(&t, status);
    CHECK_INT(proto_tracker_begin(&t, PROTO_COM_QUERY, caps), PROTO_TRACK_MORE);
    int verdict = PROTO_TRACK_MORE, packets = 0;
    bool saw_user = false;
    while (verdict == PROTO_TRACK_MORE && packets < 16) {
        size_t len;
        if (!CHECK_INT(net_read_packet(fd, buf, sizeof buf, &len, 5000), 0))
            break;
        packets++;
        if (len > 20 && memmem(buf, len, "ringsql_test@", 13))
            saw_user = true;
        verdict = proto_tracker_feed_packet(&t, buf, len);
    }
    CHECK_INT(verdict, PROTO_TRACK_DONE);
    CHECK_INT(packets, 5); /* column count, 2 definitions, 1 row, OK */
    CHECK(saw_user);
    CHECK_UINT(t.rows, 1);
    /* Nothing more may follow: a ping gets exactly its OK. */
    n = proto_build_raw(buf, sizeof buf, 0, "\x0e", 1);
    net_write_all(fd, buf, (size_t)n);
    size_t len;
    CHECK_INT(net_read_packet(fd, buf, sizeof buf, &len, 5000), 0);
    CHECK_UINT(buf[4], PROTO_HDR_OK);
    CHECK_UINT(buf[3], 1);
    close(fd);
}

static void test_wrong_password_refused(void)
{
    int fd = net_connect(host, port);
    if (!CHECK(fd >= 0))
        return;
    struct proto_login l = login_as("not_the_password");
    uint64_t caps;
    uint16_t status;
    char err[256] = "";
    CHECK_INT(net_login(fd, &l, &caps, &status, err, sizeof err), -EACCES);
    CHECK(strstr(err, "1045") != NULL);
    close(fd);
}

int main(int argc, char **argv)
{
    host = getenv("RINGSQL_TEST_MARIADB_HOST");
    const char *p = getenv("RINGSQL_TEST_MARIADB_PORT");
    if (!host || !p || atoi(p) <= 0) {
        fprintf(stderr, "proto_native_login: RINGSQL_TEST_MARIADB_HOST and "
                        "RINGSQL_TEST_MARIADB_PORT must name a running MariaDB "
                        "(start one with tests/mariadb.sh start DIR and source DIR/env)\n");
        printf("1..1\nnot ok 1 - no MariaDB server configured\n");
        return 1;
    }
    port = (unsigned)atoi(p);
    static const struct check_case cases[] = {
        CHECK_CASE(test_native_login_and_query),
        CHECK_CASE(test_wrong_password_refused),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
