/* libFuzzer target: a client session driven through a real worker (its loop, sessions,
 * backend connections, response tracking and translation) on the epoll engine over local
 * sockets, both peers played from the input. Per input: a fresh worker with one pooled backend
 * connection (a socketpair whose other end the harness answers from), a client that logs in
 * properly (the scramble is random), then the input's chunks, each written to the client's or
 * the backend's socket and followed by a short drain of what ringsql sent back; then the
 * client leaves and the worker must stop (a hang is libFuzzer's -timeout).
 *
 * Input: byte 0 = pool mode (bit 0: transaction) and the client's capabilities (bits 1-2: as
 * libmariadb, without DEPRECATE_EOF, without session tracking and MariaDB's metadata, the
 * bare minimum); then chunks [who][length, 2 bytes little-endian][bytes], who's bit 0 the
 * backend (else the client), bit 1 that side hanging up after its bytes (a backend that dies
 * mid-command, a client that leaves mid-response). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/config.h"
#include "core/base/log.h"
#include "core/base/msg.h"
#include "core/base/shared.h"
#include "core/conn/events.h"
#include "core/worker/worker.h"
#include "protocol/client.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { DRAIN_MS = 2, LOGIN_MS = 1000, MAX_CHUNKS = 64 };

/* The backend connection's layout: what ringsql's own backend logins negotiate with MariaDB
 * (the captured fixtures' "track" sessions, tests/protocol/fixtures). */
static const uint64_t BACKEND_CAPS = UINT64_C(0x1afa28c);

/* After a listen line with a port free when the config is made (each input's worker binds it
 * again). */
static const char *const YAML[2] = {
    "workers: 1\nreceive_buffers: 16\nio: epoll\n"
    "backends:\n  - name: primary\n    address: \"127.0.0.1:1\"\n"
    "users:\n  - name: app\n    password: secret\n    backend_user: u\n    backend_password: p\n"
    "pool:\n  size: 1\n  mode: session\n"
    "timeouts:\n  handshake: 1s\n  pool_wait: 100ms\n"
    "log:\n  level: error\n",
    "workers: 1\nreceive_buffers: 16\nio: epoll\n"
    "backends:\n  - name: primary\n    address: \"127.0.0.1:1\"\n"
    "users:\n  - name: app\n    password: secret\n    backend_user: u\n    backend_password: p\n"
    "pool:\n  size: 1\n  mode: transaction\n"
    "timeouts:\n  handshake: 1s\n  pool_wait: 100ms\n"
    "log:\n  level: error\n",
};

static uint64_t client_caps(unsigned variant)
{
    static const uint64_t minimal = PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_SECURE_CONNECTION |
                                    PROTO_CLIENT_PLUGIN_AUTH | PROTO_CLIENT_TRANSACTIONS |
                                    PROTO_CLIENT_MULTI_RESULTS;
    switch (variant & 3) {
    case 0:
        return BACKEND_CAPS;
    case 1:
        return BACKEND_CAPS & ~PROTO_CLIENT_DEPRECATE_EOF;
    case 2:
        return BACKEND_CAPS & ~(PROTO_CLIENT_SESSION_TRACK | PROTO_MARIADB_CLIENT_EXTENDED_METADATA);
    default:
        return minimal;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads what is there on fd for up to ms, into buf when given (how much), else discarded. */
static size_t drain(int fd, uint8_t *buf, size_t cap, int ms)
{
    uint8_t scratch[16384];
    size_t got = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (poll(&pfd, 1, ms) > 0) {
        uint8_t *to = buf ? buf + got : scratch;
        size_t room = buf ? cap - got : sizeof scratch;
        if (room == 0)
            break;
        ssize_t n = recv(fd, to, room, MSG_DONTWAIT);
        if (n <= 0)
            break;
        if (buf)
            got += (size_t)n;
        ms = 0;
    }
    return got;
}

/* Reads one whole packet (payload into out) within LOGIN_MS; its length or -1. */
static ssize_t read_packet(int fd, uint8_t *out, size_t cap)
{
    uint8_t head[4];
    size_t have = 0, want = sizeof head;
    uint8_t *to = head;
    uint64_t end = now_ms() + LOGIN_MS;
    for (int pass = 0; pass < 2; pass++) {
        while (have < want) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            uint64_t now = now_ms();
            if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
                return -1;
            ssize_t n = recv(fd, to + have, want - have, MSG_DONTWAIT);
            if (n <= 0)
                return -1;
            have += (size_t)n;
        }
        if (pass == 0) {
            want = (size_t)head[0] | (size_t)head[1] << 8 | (size_t)head[2] << 16;
            if (want > cap)
                return -1;
            have = 0;
            to = out;
        }
    }
    return (ssize_t)want;
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, DRAIN_MS) <= 0)
            return; /* ringsql is not reading: the rest of the chunk is dropped */
        ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

struct rig {
    struct proxy p;
    struct worker *w;
    int backend;   /* the harness's end of the backend connection */
    int client;
    bool started;
};

/* A worker with one backend connection, listening; the client connected. */
static bool rig_up(struct rig *r, const struct cfg *cfg)
{
    r->p.cfg = cfg;
    r->p.nworkers = 1;
    r->p.io_kind = IO_EPOLL;
    r->p.reload_ack_fd = eventfd(0, EFD_CLOEXEC);
    r->p.drained_fd = eventfd(0, EFD_CLOEXEC);
    r->p.backend_up = calloc(1, sizeof *r->p.backend_up);
    r->w = aligned_alloc(_Alignof(struct worker), sizeof *r->w);
    if (!r->p.backend_up || !r->w)
        return false;
    atomic_store(&r->p.backend_up[0], 1);
    r->p.workers = r->w;
    if (worker_start(r->w, &r->p, 0, &conn_hooks) < 0)
        return false;
    r->started = true;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return false;
    r->backend = sv[1];
    struct msg *m = calloc(1, sizeof *m);
    if (!m) {
        close(sv[0]);
        return false;
    }
    *m = (struct msg){.kind = MSG_BACKEND_NEW, .fd = sv[0], .caps = BACKEND_CAPS, .charset = 45,
                      .status = PROTO_SERVER_STATUS_AUTOCOMMIT, .server_conn_id = 7};
    snprintf(m->version, sizeof m->version, "11.4.0-MariaDB");
    msgq_push(&r->w->inbox, m);
    worker_post(r->w, MSG_LISTEN);
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    if (getsockname(r->w->listeners[0].fd, (struct sockaddr *)&addr, &alen) < 0)
        return false;
    /* listen() happens on the worker's thread: a bounded retry until it did. */
    for (uint64_t end = now_ms() + LOGIN_MS; now_ms() < end;) {
        r->client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (r->client >= 0 && connect(r->client, (struct sockaddr *)&addr, alen) == 0)
            return true;
        if (r->client >= 0)
            close(r->client);
        r->client = -1;
        struct timespec ts = {.tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void rig_down(struct rig *r)
{
    if (r->client >= 0)
        close(r->client);
    if (r->started)
        worker_stop(r->w); /* must come back: a hang here is the bug this target looks for */
    if (r->backend >= 0)
        close(r->backend);
    if (r->started)
        worker_destroy(r->w);
    free(r->w);
    free((void *)r->p.backend_up);
    close(r->p.reload_ack_fd);
    close(r->p.drained_fd);
}

/* The greeting, a correct login, its answer. */
static bool log_in(int fd, uint64_t caps)
{
    uint8_t pkt[1024];
    ssize_t n = read_packet(fd, pkt, sizeof pkt);
    struct proto_handshake hs;
    if (n < 0 || proto_handshake_parse(pkt, (size_t)n, &hs) < 0)
        return false;
    struct proto_login l = {.user = "app", .password = "secret", .caps = caps, .charset = 45,
                            .max_packet = 1u << 24};
    uint8_t out[1024];
    ssize_t len = proto_client_build_login(out, sizeof out, &l, &hs);
    if (len < 0)
        return false;
    send_all(fd, out, (size_t)len);
    n = read_packet(fd, pkt, sizeof pkt);
    return n > 0 && pkt[0] == 0x00;
}

static const struct cfg *config(unsigned mode)
{
    static const struct cfg *cfgs[2];
    if (!cfgs[mode]) {
        struct cfg *cfg;
        struct cfg_errors errs = {0};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof addr;
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, alen) < 0 ||
            getsockname(fd, (struct sockaddr *)&addr, &alen) < 0)
            abort();
        close(fd);
        char yaml[1024];
        int len = snprintf(yaml, sizeof yaml, "listen: \"127.0.0.1:%u\"\n%s",
                           (unsigned)ntohs(addr.sin_port), YAML[mode]);
        if (cfg_load_buffer("fuzz_session.yaml", yaml, (size_t)len, &cfg, &errs) < 0) {
            for (size_t i = 0; i < errs.count; i++)
                fprintf(stderr, "fuzz_session: %s\n", errs.lines[i]);
            abort();
        }
        log_init(cfg->log_level, cfg->log_format);
        cfgs[mode] = cfg;
    }
    return cfgs[mode];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct rig r = {.backend = -1, .client = -1};
    if (rig_up(&r, config(data[0] & 1)) && log_in(r.client, client_caps(data[0] >> 1))) {
        size_t at = 1;
        for (int chunk = 0; chunk < MAX_CHUNKS && at + 3 <= size; chunk++) {
            bool to_backend = data[at] & 1, hang_up = data[at] & 2;
            size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
            at += 3;
            if (len > size - at)
                len = size - at;
            int fd = to_backend ? r.backend : r.client;
            send_all(fd, data + at, len);
            at += len;
            if (hang_up)
                shutdown(fd, SHUT_WR); /* later bytes from that side fail to go: dropped */
            drain(r.client, NULL, 0, DRAIN_MS);
            drain(r.backend, NULL, 0, 0);
        }
    }
    rig_down(&r);
    return 0;
}
