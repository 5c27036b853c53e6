/* netio: see netio.h. */
#include "bench/netio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/packet.h"
#include "protocol/response.h"

int net_connect(const char *host, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int net_listen(unsigned *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int net_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_exact(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
    while (n > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -errno;
        if (rc == 0)
            return -ETIMEDOUT;
        ssize_t r = recv(fd, buf, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ECONNRESET;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

int net_read_packet(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms)
{
    if (cap < PROTO_HEADER_LEN)
        return -EMSGSIZE;
    int rc = read_exact(fd, buf, PROTO_HEADER_LEN, timeout_ms);
    if (rc < 0)
        return rc;
    struct proto_phys ph;
    size_t need = 0;
    rc = proto_phys_read(buf, PROTO_HEADER_LEN, &ph, &need);
    if (ph.span > cap)
        return -EMSGSIZE;
    if (rc == -EAGAIN && (rc = read_exact(fd, buf + PROTO_HEADER_LEN, need, timeout_ms)) < 0)
        return rc;
    *len = ph.span;
    return 0;
}

static int fail(char *err, size_t errlen, int rc, const char *what)
{
    snprintf(err, errlen, "%s (%s)", what, strerror(-rc));
    return rc;
}

/* Turns a server ERR into a sentence. */
static int server_refused(char *err, size_t errlen, const uint8_t *p, size_t n, uint64_t caps)
{
    struct proto_err e;
    if (proto_err_parse(p, n, caps, &e) < 0)
        return fail(err, errlen, -EPROTO, "server sent a malformed ERR");
    snprintf(err, errlen, "server refused: %u (%s) %.*s", e.code, e.sqlstate, (int)e.message.len,
             (const char *)e.message.ptr);
    return -EACCES;
}

int net_login(int fd, const struct proto_login *l, uint64_t *caps, uint16_t *status, char *err,
              size_t errlen)
{
    uint8_t in[4096], out[1024];
    size_t n;
    int rc = net_read_packet(fd, in, sizeof in, &n, 5000);
    if (rc < 0)
        return fail(err, errlen, rc, "no handshake from server");
    const uint8_t *p = in + PROTO_HEADER_LEN;
    size_t plen = n - PROTO_HEADER_LEN;
    if (plen > 0 && p[0] == PROTO_HDR_ERR)
        return server_refused(err, errlen, p, plen, PROTO_CLIENT_PROTOCOL_41);
    struct proto_handshake hs;
    if ((rc = proto_handshake_parse(p, plen, &hs)) < 0)
        return fail(err, errlen, rc, "cannot parse the server's handshake");
    *caps = proto_client_caps(l, &hs);
    ssize_t w = proto_client_build_login(out, sizeof out, l, &hs);
    if (w < 0)
        return fail(err, errlen, (int)w, "cannot build the handshake response");
    if ((rc = net_write_all(fd, out, (size_t)w)) < 0)
        return fail(err, errlen, rc, "cannot send the handshake response");
    for (int round = 0; round < 4; round++) {
        if ((rc = net_read_packet(fd, in, sizeof in, &n, 5000)) < 0)
            return fail(err, errlen, rc, "no answer to the handshake response");
        plen = n - PROTO_HEADER_LEN;
        if (plen == 0)
            return fail(err, errlen, -EPROTO, "empty packet during authentication");
        switch (p[0]) {
        case PROTO_HDR_OK: {
            struct proto_ok ok;
            if ((rc = proto_ok_parse(p, plen, *caps, &ok)) < 0)
                return fail(err, errlen, rc, "malformed OK after login");
            *status = ok.status;
            return 0;
        }
        case PROTO_HDR_ERR:
            return server_refused(err, errlen, p, plen, *caps);
        case PROTO_HDR_EOF:
            w = proto_client_build_auth_switch_reply(out, sizeof out, proto_seq_next(in[3]), l,
                                                     p, plen);
            if (w < 0)
                return fail(err, errlen, (int)w, "cannot answer the auth switch");
            if ((rc = net_write_all(fd, out, (size_t)w)) < 0)
                return fail(err, errlen, rc, "cannot send the auth switch answer");
            break;
        case PROTO_HDR_AUTH_MORE_DATA:
            if (plen == 2 && p[1] == PROTO_CSHA2_FAST_AUTH_SUCCESS)
                break; /* the OK follows */
            return fail(err, errlen, -ENOTSUP, "server wants full authentication");
        default:
            return fail(err, errlen, -EPROTO, "unexpected packet during authentication");
        }
    }
    return fail(err, errlen, -EPROTO, "authentication did not finish");
}
