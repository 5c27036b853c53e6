/* libmariadb's own caching_sha2_password client plugin against a small server built on
 * protocol/ (a thread speaking plain sockets). MariaDB has no caching_sha2_password on the
 * server side, so this is how the fast path is proven: the real client's scramble must verify
 * against the stored SHA256(SHA256(password)), a wrong password must be refused with 1045,
 * and the same holds after an AuthSwitchRequest from mysql_native_password. */
#include <errno.h>
#include <mysql.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "bench/netio.h"
#include "protocol/auth.h"
#include "protocol/packet.h"
#include "protocol/response.h"

static const char password[] = "s3cret-pw";

enum server_mode {
    ANNOUNCE_SHA2, /* the handshake names caching_sha2_password */
    SWITCH_TO_SHA2 /* the handshake names mysql_native_password, then switches */
};

struct server {
    int listen_fd;
    enum server_mode mode;
    uint8_t stored[PROTO_SHA2_HASH_LEN];
    /* Results, read by the test after join. */
    bool verified;
    bool switched;
    bool pinged;
    char user[64];
    char failure[128];
};

static void fill_scramble(uint8_t s[PROTO_SCRAMBLE_LEN])
{
    /* The scramble travels NUL-terminated: keep its bytes in 1..127 as servers do. */
    RAND_bytes(s, PROTO_SCRAMBLE_LEN);
    for (size_t i = 0; i < PROTO_SCRAMBLE_LEN; i++)
        s[i] = (uint8_t)(s[i] % 127 + 1);
}

static bool send_pkt(int fd, const uint8_t *buf, ssize_t n)
{
    return n > 0 && net_write_all(fd, buf, (size_t)n) == 0;
}

static void fail(struct server *s, const char *why)
{
    snprintf(s->failure, sizeof s->failure, "%s", why);
}

/* One connection: handshake, response, (switch), verify, OK or ERR, then commands. */
static void serve(struct server *s, int fd)
{
    uint8_t scramble[PROTO_SCRAMBLE_LEN], buf[4096], out[512];
    fill_scramble(scramble);
    static const char version[] = "5.5.5-10.11.0-ringsql-test";
    const char *plugin = s->mode == ANNOUNCE_SHA2 ? PROTO_PLUGIN_CACHING_SHA2 : PROTO_PLUGIN_NATIVE;
    struct proto_handshake hs = {
        .server_version = {(const uint8_t *)version, sizeof version - 1},
        .conn_id = 7, .scramble_len = PROTO_SCRAMBLE_LEN, .caps = PROTO_RINGSQL_SERVER_CAPS,
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI, .status = PROTO_SERVER_STATUS_AUTOCOMMIT,
        .auth_plugin = {(const uint8_t *)plugin, strlen(plugin)},
    };
    memcpy(hs.scramble, scramble, sizeof scramble);
    if (!send_pkt(fd, out, proto_build_handshake(out, sizeof out, &hs)))
        return fail(s, "cannot send handshake");
    size_t n;
    if (net_read_packet(fd, buf, sizeof buf, &n, 5000) < 0)
        return fail(s, "no handshake response");
    struct proto_handshake_response r;
    if (proto_handshake_response_parse(buf + 4, n - 4, hs.caps, &r) < 0)
        return fail(s, "cannot parse handshake response");
    uint64_t caps = proto_caps_negotiate(r.caps, hs.caps);
    snprintf(s->user, sizeof s->user, "%.*s", (int)r.user.len, (const char *)r.user.ptr);
    uint8_t seq = proto_seq_next(buf[3]);
    struct proto_bytes answer = r.auth_response;
    bool sha2 = r.auth_plugin.len == strlen(PROTO_PLUGIN_CACHING_SHA2) &&
                memcmp(r.auth_plugin.ptr, PROTO_PLUGIN_CACHING_SHA2, r.auth_plugin.len) == 0;
    if (!sha2) {
        /* The client answered for another plugin: ask for caching_sha2_password with a
         * fresh scramble, as a server does when the account uses a different plugin. */
        fill_scramble(scramble);
        if (!send_pkt(fd, out,
                      proto_build_auth_switch(out, sizeof out, seq, PROTO_PLUGIN_CACHING_SHA2,
                                              scramble, sizeof scramble)))
            return fail(s, "cannot send auth switch");
        if (net_read_packet(fd, buf, sizeof buf, &n, 5000) < 0)
            return fail(s, "no auth switch response");
        s->switched = true;
        seq = proto_seq_next(buf[3]);
        answer = (struct proto_bytes){buf + 4, n - 4};
    }
    s->verified = proto_sha2_verify(scramble, answer.ptr, answer.len, s->stored);
    if (!s->verified) {
        static const char msg[] = "Access denied for user (using password: YES)";
        send_pkt(fd, out, proto_build_err(out, sizeof out, seq, caps, PROTO_ER_ACCESS_DENIED,
                                          "28000", msg, sizeof msg - 1));
        return;
    }
    static const uint8_t fast_ok = PROTO_CSHA2_FAST_AUTH_SUCCESS;
    struct proto_ok ok = {.status = PROTO_SERVER_STATUS_AUTOCOMMIT};
    if (!send_pkt(fd, out, proto_build_auth_more_data(out, sizeof out, seq, &fast_ok, 1)) ||
        !send_pkt(fd, out, proto_build_ok(out, sizeof out, proto_seq_next(seq), caps, &ok)))
        return fail(s, "cannot send fast-auth success and OK");
    /* Command phase: answer pings, stop at COM_QUIT or when the client goes. */
    while (net_read_packet(fd, buf, sizeof buf, &n, 5000) == 0 && n > 4) {
        if (buf[4] == PROTO_COM_QUIT)
            break;
        if (buf[4] == PROTO_COM_PING) {
            s->pinged = true;
            send_pkt(fd, out, proto_build_ok(out, sizeof out, 1, caps, &ok));
        } else {
            static const char msg[] = "only COM_PING here";
            send_pkt(fd, out, proto_build_err(out, sizeof out, 1, caps,
                                              PROTO_ER_UNKNOWN_COM_ERROR, "08S01", msg,
                                              sizeof msg - 1));
        }
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) {
        fail(s, "accept failed");
        return NULL;
    }
    serve(s, fd);
    close(fd);
    return NULL;
}

/* Runs one client connection against a fresh server thread; returns the client's error
 * code (0 when it connected) and leaves the server's findings in *s. */
static unsigned run_client(struct server *s, enum server_mode mode, const char *pw,
                           bool force_sha2)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    proto_sha2_hash(password, strlen(password), s->stored);
    unsigned port;
    s->listen_fd = net_listen(&port);
    if (!CHECK(s->listen_fd >= 0))
        return ~0u;
    pthread_t th;
    pthread_create(&th, NULL, server_main, s);

    MYSQL *m = mysql_init(NULL);
    unsigned timeout = 5;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    if (force_sha2)
        mysql_optionsv(m, MYSQL_DEFAULT_AUTH, PROTO_PLUGIN_CACHING_SHA2);
    unsigned err = 0;
    if (mysql_real_connect(m, "127.0.0.1", "app", pw, NULL, port, NULL, 0)) {
        CHECK_INT(mysql_ping(m), 0);
    } else {
        err = mysql_errno(m);
        fprintf(stderr, "# client: %u %s\n", err, mysql_error(m));
    }
    mysql_close(m);
    pthread_join(th, NULL);
    close(s->listen_fd);
    if (s->failure[0])
        fprintf(stderr, "# server: %s\n", s->failure);
    CHECK_STR(s->failure, "");
    return err;
}

static void test_fast_auth(void)
{
    struct server s;
    CHECK_UINT(run_client(&s, ANNOUNCE_SHA2, password, true), 0);
    CHECK(s.verified);
    CHECK(!s.switched);
    CHECK(s.pinged);
    CHECK_STR(s.user, "app");
}

static void test_wrong_password_refused(void)
{
    struct server s;
    CHECK_UINT(run_client(&s, ANNOUNCE_SHA2, "wrong", true), PROTO_ER_ACCESS_DENIED);
    CHECK(!s.verified);
    CHECK(!s.pinged);
}

static void test_empty_password_refused(void)
{
    struct server s;
    CHECK_UINT(run_client(&s, ANNOUNCE_SHA2, "", true), PROTO_ER_ACCESS_DENIED);
    CHECK(!s.verified);
}

/* The client starts with mysql_native_password; the server switches it over. */
static void test_auth_switch(void)
{
    struct server s;
    CHECK_UINT(run_client(&s, SWITCH_TO_SHA2, password, false), 0);
    CHECK(s.switched);
    CHECK(s.verified);
    CHECK(s.pinged);
    CHECK_UINT(run_client(&s, SWITCH_TO_SHA2, "wrong", false), PROTO_ER_ACCESS_DENIED);
    CHECK(s.switched);
    CHECK(!s.verified);
}

int main(int argc, char **argv)
{
    mysql_library_init(0, NULL, NULL);
    static const struct check_case cases[] = {
        CHECK_CASE(test_fast_auth),
        CHECK_CASE(test_wrong_password_refused),
        CHECK_CASE(test_empty_password_refused),
        CHECK_CASE(test_auth_switch),
    };
    int rc = check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    mysql_library_end();
    return rc;
}
