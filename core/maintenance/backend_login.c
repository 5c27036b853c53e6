/* backend_login: ringsql's own login to a backend whose config asks for TLS. The socket goes
 * on to a worker with its TLS session, which libmariadb cannot give away (its session ends
 * with its handle), so the maintenance thread speaks the connection phase itself with
 * protocol/client.h: TCP connect, greeting, SSLRequest, OpenSSL's handshake on the socket (the
 * certificate checked as tls.mode says), HandshakeResponse, the plugin's exchange
 * (mysql_native_password; caching_sha2_password's fast path, or its password over TLS), OK.
 * Blocking, every step bounded by timeouts.connect. */
#include "core/maintenance/backend_login.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base/tls_ctx.h"
#include "protocol/client.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/response.h"

/* What ringsql asks of a backend: libmariadb's defaults and the options a pooled connection
 * is opened with (see connect.c), MariaDB's extensions but progress reports. */
#define LOGIN_CAPS                                                                                 \
    (PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_SECURE_CONNECTION |         \
     PROTO_CLIENT_MULTI_RESULTS | PROTO_CLIENT_PS_MULTI_RESULTS | PROTO_CLIENT_PROTOCOL_41 |       \
     PROTO_CLIENT_PLUGIN_AUTH | PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA |                             \
     PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_MULTI_STATEMENTS | PROTO_CLIENT_LOCAL_FILES |       \
     PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS | PROTO_MARIADB_CLIENT_EXTENDED_METADATA |          \
     PROTO_MARIADB_CLIENT_CACHE_METADATA)

enum { LOGIN_PACKET_CAP = 4096, LOGIN_ROUNDS = 4 };

/* Transaction pooling runs one server statement for many clients: a server that leaves out
 * result metadata it sent before (CACHE_METADATA) would leave it out for a client that never
 * saw it (the types of "SELECT ? + 1" follow the last execute's parameters). Session pooling
 * asks for what libmariadb's logins do, progress reports too: clients were offered the layout
 * of whichever connection a worker got first. */
static uint64_t login_caps(const struct cfg *cfg)
{
    return cfg->pool.mode == CFG_POOL_TRANSACTION
               ? LOGIN_CAPS & ~(uint64_t)PROTO_MARIADB_CLIENT_CACHE_METADATA
               : LOGIN_CAPS | PROTO_MARIADB_CLIENT_PROGRESS;
}

/* The socket, and its TLS session once there is one. */
struct link {
    int fd;
    SSL *ssl;
};

static int link_write(struct link *l, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (l->ssl) {
            int r = SSL_write(l->ssl, p, (int)n);
            if (r <= 0)
                return -EIO;
            w = r;
        } else {
            w = send(l->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int link_read(struct link *l, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r;
        if (l->ssl) {
            int k = SSL_read(l->ssl, p, (int)n);
            if (k <= 0)
                return SSL_get_error(l->ssl, k) == SSL_ERROR_WANT_READ ? -ETIMEDOUT : -ECONNRESET;
            r = k;
        } else {
            r = recv(l->fd, p, n, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
            if (r == 0)
                return -ECONNRESET;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One login packet (they are small: no continuation). */
static int read_packet(struct link *l, uint8_t *buf, size_t *len, uint8_t *seq)
{
    uint8_t h[PROTO_HEADER_LEN];
    int rc = link_read(l, h, sizeof h);
    if (rc < 0)
        return rc;
    size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    if (n == 0 || n > LOGIN_PACKET_CAP)
        return -EBADMSG;
    *len = n;
    *seq = h[3];
    return link_read(l, buf, n);
}

/* A socket connected to be's address within timeout_ms, blocking from then on with every
 * read and write bounded by timeout_ms. -errno with err written. */
static int dial(const struct cfg_backend *be, uint64_t timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int family;
    if (be->addr.unix_socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        memset(un, 0, sizeof *un);
        un->sun_family = AF_UNIX;
        if (strlen(be->addr.host) >= sizeof un->sun_path) {
            snprintf(err, errlen, "socket path too long");
            return -ENAMETOOLONG;
        }
        memcpy(un->sun_path, be->addr.host, strlen(be->addr.host) + 1);
        sl = sizeof *un;
        family = AF_UNIX;
    } else {
        char port[8];
        snprintf(port, sizeof port, "%u", be->addr.port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
        int g = getaddrinfo(be->addr.host, port, &hints, &res);
        if (g != 0) {
            snprintf(err, errlen, "cannot resolve '%s': %s", be->addr.host, gai_strerror(g));
            return -EHOSTUNREACH;
        }
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        sl = res->ai_addrlen;
        family = res->ai_family;
        freeaddrinfo(res);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    int rc = connect(fd, (struct sockaddr *)&ss, sl) == 0 ? 0 : -errno;
    if (rc == -EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, (int)timeout_ms);
        int soerr = 0;
        socklen_t el = sizeof soerr;
        if (n == 0)
            rc = -ETIMEDOUT;
        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0)
            rc = -errno;
        else
            rc = -soerr;
    }
    if (rc < 0) {
        snprintf(err, errlen, "connect: %s", strerror(-rc));
        close(fd);
        return rc;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = (time_t)(timeout_ms / 1000),
                         .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* The TLS handshake on l->fd, the certificate checked as t->mode says. */
static int start_tls(struct link *l, SSL_CTX *ctx, const struct cfg_backend *be, char *err,
                     size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, l->fd)) {
        SSL_free(ssl);
        tls_ctx_error(err, errlen, "TLS with the backend");
        return -ENOMEM;
    }
    const char *host = be->addr.host;
    struct in6_addr ip;
    bool is_ip = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;
    if (!is_ip && !be->addr.unix_socket)
        SSL_set_tlsext_host_name(ssl, host);
    if (be->tls.mode == CFG_BTLS_VERIFY_IDENTITY) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        else
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
    }
    if (SSL_connect(ssl) != 1) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) {
            snprintf(err, errlen, "TLS with the backend: its certificate failed verification: %s",
                     X509_verify_cert_error_string(v));
            ERR_clear_error();
        } else {
            tls_ctx_error(err, errlen, "TLS handshake with the backend");
        }
        SSL_free(ssl);
        return -EPROTO;
    }
    l->ssl = ssl;
    return 0;
}

/* The server's ERR in err ("code message"); its code and SQL state in refused. */
static int say_err(const uint8_t *p, size_t len, uint64_t caps, const char *what,
                   struct msg *refused, char *err, size_t errlen)
{
    struct proto_err e;
    if (proto_err_parse(p, len, caps, &e) < 0) {
        snprintf(err, errlen, "%s: a malformed ERR", what);
        return -ECONNREFUSED;
    }
    snprintf(err, errlen, "%u %.*s", e.code, (int)e.message.len, (const char *)e.message.ptr);
    refused->code = e.code;
    memcpy(refused->sqlstate, e.sqlstate, sizeof refused->sqlstate);
    return -ECONNREFUSED;
}

/* From the HandshakeResponse to the OK: plugin switches and caching_sha2_password's
 * AuthMoreData on the way. */
static int authenticate(struct link *l, const struct proto_login *lg, uint64_t caps,
                        uint16_t *status, struct msg *refused, char *err, size_t errlen)
{
    uint8_t buf[LOGIN_PACKET_CAP];
    for (int round = 0; round < LOGIN_ROUNDS; round++) {
        size_t len;
        uint8_t seq;
        int rc = read_packet(l, buf, &len, &seq);
        if (rc < 0) {
            snprintf(err, errlen, "login: %s", strerror(-rc));
            return rc;
        }
        uint8_t out[LOGIN_PACKET_CAP];
        ssize_t n = 0;
        switch (buf[0]) {
        case 0x00: {
            struct proto_ok ok;
            if (proto_ok_parse(buf, len, caps, &ok) < 0) {
                snprintf(err, errlen, "login: a malformed OK");
                return -EBADMSG;
            }
            *status = ok.status;
            return 0;
        }
        case 0xff:
            return say_err(buf, len, caps, "login", refused, err, errlen);
        case 0xfe:
            n = proto_client_build_auth_switch_reply(out, sizeof out, proto_seq_next(seq), lg, buf,
                                                     len);
            break;
        case 0x01:
            if (len == 2 && buf[1] == 0x03)
                continue; /* caching_sha2_password's fast path: the OK follows */
            if (len == 2 && buf[1] == 0x04) {
                /* Full authentication: over TLS the password goes as it is, NUL-ended. */
                const char *pw = lg->password ? lg->password : "";
                n = proto_build_raw(out, sizeof out, proto_seq_next(seq), (const uint8_t *)pw,
                                    strlen(pw) + 1);
                break;
            }
            n = -ENOTSUP;
            break;
        default:
            n = -EBADMSG;
        }
        if (n < 0) {
            snprintf(err, errlen, "login: the server asked for what ringsql cannot answer (%s)",
                     strerror((int)-n));
            return (int)n;
        }
        if ((rc = link_write(l, out, (size_t)n)) < 0) {
            snprintf(err, errlen, "login: %s", strerror(-rc));
            return rc;
        }
    }
    snprintf(err, errlen, "login: too many authentication rounds");
    return -EPROTO;
}

int backend_login(const struct cfg *cfg, const struct cfg_backend *be, SSL_CTX *ctx,
                  const struct cfg_user *u, struct msg *out, char *err, size_t errlen)
{
    uint64_t timeout_ms = cfg->timeouts.connect_ms ? cfg->timeouts.connect_ms : 1000;
    int fd = dial(be, timeout_ms, err, errlen);
    if (fd < 0)
        return fd;
    struct link l = {.fd = fd};
    uint8_t buf[LOGIN_PACKET_CAP];
    size_t len;
    uint8_t seq;
    struct proto_handshake hs;
    int rc = read_packet(&l, buf, &len, &seq);
    if (rc < 0) {
        snprintf(err, errlen, "greeting: %s", strerror(-rc));
        goto fail;
    }
    if (buf[0] == 0xff) {
        rc = say_err(buf, len, 0, "greeting", out, err, errlen);
        goto fail;
    }
    if ((rc = proto_handshake_parse(buf, len, &hs)) < 0) {
        snprintf(err, errlen, "greeting: not a MySQL handshake");
        goto fail;
    }
    bool tls = ctx && (hs.caps & PROTO_CLIENT_SSL); /* no ctx: tls.mode disabled */
    if (ctx && !tls && be->tls.mode != CFG_BTLS_PREFERRED) {
        snprintf(err, errlen, "the backend does not offer TLS (tls.mode %s needs it)",
                 cfg_backend_tls_mode_name(be->tls.mode));
        rc = -EPROTO;
        goto fail;
    }
    struct proto_login lg = {
        .user = u->backend_user,
        .password = u->backend_password,
        .stage1 = u->has_stage1 ? u->stage1 : NULL,
        .caps = login_caps(cfg) | (tls ? PROTO_CLIENT_SSL : 0),
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
        .max_packet = 1u << 30,
        .after_ssl_request = tls,
    };
    uint64_t caps = proto_client_caps(&lg, &hs);
    uint8_t pkt[LOGIN_PACKET_CAP];
    ssize_t n;
    if (tls) {
        struct proto_handshake_response r = {
            .caps = caps, .max_packet = lg.max_packet, .charset = lg.charset};
        n = proto_build_ssl_request(pkt, sizeof pkt, 1, hs.caps, &r);
        if (n < 0 || (rc = link_write(&l, pkt, (size_t)n)) < 0 ||
            (rc = start_tls(&l, ctx, be, err, errlen)) < 0) {
            if (n < 0 || !err[0])
                snprintf(err, errlen, "SSLRequest: %s", strerror(n < 0 ? (int)-n : -rc));
            rc = rc < 0 ? rc : -EPROTO;
            goto fail;
        }
    }
    n = proto_client_build_login(pkt, sizeof pkt, &lg, &hs);
    if (n < 0 || (rc = link_write(&l, pkt, (size_t)n)) < 0) {
        snprintf(err, errlen, "login: %s", strerror(n < 0 ? (int)-n : -rc));
        rc = -EPROTO;
        goto fail;
    }
    uint16_t status = 0;
    if ((rc = authenticate(&l, &lg, caps, &status, out, err, errlen)) < 0)
        goto fail;
    /* The worker's ring waits for readiness itself: no timeouts left on the socket. */
    struct timeval none = {0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    out->fd = fd;
    out->ssl = l.ssl;
    out->caps = caps;
    out->charset = lg.charset;
    out->status = status;
    out->server_conn_id = hs.conn_id;
    snprintf(out->version, sizeof out->version, "%.*s", (int)hs.server_version.len,
             (const char *)hs.server_version.ptr);
    memcpy(out->scramble, hs.scramble, sizeof out->scramble);
    return 0;
fail:
    SSL_free(l.ssl);
    close(fd);
    return rc < 0 ? rc : -EPROTO;
}
