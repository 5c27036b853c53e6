/* liveness: COM_QUIT and COM_PING spoken directly on a backend socket (see liveness.h). */
#include "core/liveness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/worker.h"
#include "protocol/constants.h"
#include "protocol/lenenc.h"

static int send_command(int fd, uint8_t command)
{
    uint8_t pkt[PROTO_HEADER_LEN + 1];
    struct proto_wr wr = proto_wr_init(pkt, sizeof pkt);
    size_t start = proto_wr_packet_begin(&wr);
    proto_wr_u8(&wr, command);
    ssize_t n = proto_wr_packet_end(&wr, start, 0);
    if (n < 0)
        return (int)n;
    /* Five bytes into an idle socket's empty send buffer: written whole or not at all. */
    ssize_t sent = send(fd, pkt, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != n)
        return sent < 0 ? -errno : -EIO;
    return 0;
}

void liveness_quit(int fd)
{
    (void)send_command(fd, PROTO_COM_QUIT);
    close(fd);
}

/* Reads exactly len bytes before deadline (monotonic ms). */
static int read_full(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
    size_t got = 0;
    while (got < len) {
        uint64_t now = worker_now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -errno;
        if (rc == 0)
            return -ETIMEDOUT;
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    return 0;
}

int liveness_ping(int fd, uint64_t timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline = worker_now_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
    int rc = send_command(fd, PROTO_COM_PING);
    if (rc < 0) {
        snprintf(err, errlen, "could not send COM_PING: %s", strerror(-rc));
        return rc;
    }
    /* The answer is one OK packet: header, then a payload that starts with 0x00. An ERR or
     * anything longer than an OK may be means the connection is not usable. */
    uint8_t hdr[PROTO_HEADER_LEN], payload[64];
    rc = read_full(fd, hdr, sizeof hdr, deadline);
    if (rc < 0) {
        snprintf(err, errlen, "no answer to COM_PING: %s", strerror(-rc));
        return rc;
    }
    size_t len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16;
    if (len == 0 || len > sizeof payload || hdr[3] != 1) {
        snprintf(err, errlen, "unexpected answer to COM_PING (length %zu, sequence %u)", len,
                 hdr[3]);
        return -EPROTO;
    }
    rc = read_full(fd, payload, len, deadline);
    if (rc < 0) {
        snprintf(err, errlen, "truncated answer to COM_PING: %s", strerror(-rc));
        return rc;
    }
    if (payload[0] != PROTO_HDR_OK) {
        snprintf(err, errlen, "COM_PING answered with 0x%02x instead of OK", payload[0]);
        return -EPROTO;
    }
    return 0;
}
