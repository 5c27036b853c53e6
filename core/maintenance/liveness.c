/* liveness: COM_QUIT and COM_PING spoken directly on a backend socket (see liveness.h). */
#include "core/maintenance/liveness.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/clock.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/lenenc.h"

static int send_command(int fd, SSL *ssl, uint8_t command)
{
    uint8_t pkt[PROTO_HEADER_LEN + 1];
    struct proto_wr wr = proto_wr_init(pkt, sizeof pkt);
    size_t start = proto_wr_packet_begin(&wr);
    proto_wr_u8(&wr, command);
    ssize_t n = proto_wr_packet_end(&wr, start, 0);
    if (n < 0)
        return (int)n;
    /* Five bytes into an idle socket's empty send buffer: written whole or not at all (a TLS
     * record of them likewise). */
    if (ssl)
        return SSL_write(ssl, pkt, (int)n) == n ? 0 : -EIO;
    ssize_t sent = send(fd, pkt, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != n)
        return sent < 0 ? -errno : -EIO;
    return 0;
}

void liveness_quit(int fd, SSL *ssl)
{
    (void)send_command(fd, ssl, PROTO_COM_QUIT);
    SSL_free(ssl);
    close(fd);
}

/* Over TLS the socket is non-blocking while the ping's answer is read (SSL_read would wait for
 * a whole record), blocking again for the worker. */
static void set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* p is over: rc 0, or -errno with "what: reason" in err. */
static void ping_done(struct liveness_ping *p, int rc, const char *what)
{
    p->done = true;
    p->rc = rc;
    if (p->ssl)
        set_nonblocking(p->fd, false);
    if (rc < 0)
        snprintf(p->err, sizeof p->err, "%s: %s", what, strerror(-rc));
}

/* Reads what p's socket has of the answer: one OK packet (header, then a payload starting
 * with 0x00). An ERR, or anything longer than an OK may be, means the connection is not
 * usable. */
void liveness_ping_read(struct liveness_ping *p)
{
    while (!p->done) {
        ssize_t r;
        if (p->ssl) {
            /* Whatever SSL holds is read before the socket is polled again. */
            int k = SSL_read(p->ssl, p->buf + p->got, (int)(p->want - p->got));
            int e = k > 0 ? SSL_ERROR_NONE : SSL_get_error(p->ssl, k);
            if (e == SSL_ERROR_WANT_READ)
                return;
            r = k > 0 ? k : 0;
            errno = ECONNRESET;
        } else {
            r = recv(p->fd, p->buf + p->got, p->want - p->got, MSG_DONTWAIT);
        }
        if (r == 0) {
            ping_done(p, -ECONNRESET, "no answer to COM_PING");
            return;
        }
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                ping_done(p, -errno, "no answer to COM_PING");
            return;
        }
        p->got += (size_t)r;
        if (p->got < p->want)
            continue;
        if (p->want == PROTO_HEADER_LEN) {
            size_t len = (size_t)p->buf[0] | (size_t)p->buf[1] << 8 | (size_t)p->buf[2] << 16;
            if (len == 0 || len > sizeof p->buf - PROTO_HEADER_LEN || p->buf[3] != 1) {
                ping_done(p, -EPROTO, "unexpected answer to COM_PING");
                return;
            }
            p->want += len;
            continue;
        }
        if (p->buf[PROTO_HEADER_LEN] != PROTO_HDR_OK)
            ping_done(p, -EPROTO, "COM_PING not answered with OK");
        else
            ping_done(p, 0, NULL);
    }
}

void liveness_ping_start(struct liveness_ping *p, uint64_t timeout_ms)
{
    p->deadline_ms = clock_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
    p->got = 0;
    p->want = PROTO_HEADER_LEN;
    p->done = false;
    if (p->ssl)
        set_nonblocking(p->fd, true);
    int rc = send_command(p->fd, p->ssl, PROTO_COM_PING);
    if (rc < 0)
        ping_done(p, rc, "could not send COM_PING");
}

void liveness_ping_expire(struct liveness_ping *p, uint64_t now_ms)
{
    if (!p->done && now_ms >= p->deadline_ms)
        ping_done(p, -ETIMEDOUT, "no answer to COM_PING");
}
