/* admin: a non-blocking HTTP/1.x server with a fixed table of connections, on a thread of its
 * own. Parsing and formatting are core/admin/http.c's; the content is core/admin/metrics.c's. */
#include "core/admin/admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/base/clock.h"
#include "core/admin/http.h"
#include "core/base/post.h"
#include "core/base/log.h"
#include "core/admin/metrics.h"
#include "core/base/msg.h"
#include "core/base/net.h"
#include "core/admin/prom.h"
#include "core/base/shared.h"
#include "core/worker/worker.h"

enum { ADMIN_CONN_TIMEOUT_MS = 5000, ADMIN_BACKLOG = 64 };

struct admin_conn {
    int fd; /* -1: free slot */
    uint64_t deadline_ms;
    size_t in_len;
    char in[HTTP_MAX_REQUEST];
    char *out; /* the whole response, once the request is read */
    size_t out_len, out_sent;
};

struct admin {
    struct proxy *p;
    const struct cfg *cfg; /* this thread's: switched by MSG_RELOAD */
    unsigned gen;
    int listen_fd;
    struct admin_conn conns[ADMIN_MAX_CONNS];
    int slot_of[ADMIN_POLLFDS]; /* what poll_fill() put at each index; -1: listener */
    struct msgq inbox;          /* MSG_RELOAD, MSG_STOP */
    pthread_t thread;
    bool started, stop;
};

static int listen_on(const struct cfg_addr *addr)
{
    int fd = net_bind(addr, SOCK_NONBLOCK, false);
    if (fd >= 0 && listen(fd, ADMIN_BACKLOG) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

struct admin *admin_open(struct proxy *p, const struct cfg_addr *addr)
{
    int fd = listen_on(addr);
    if (fd < 0) {
        log_error("admin_listen_failed", "admin_listen=%s:%u error=\"%s\"", addr->host, addr->port,
                  strerror(-fd));
        return NULL;
    }
    struct admin *a = calloc(1, sizeof *a);
    if (!a) {
        close(fd);
        return NULL;
    }
    a->p = p;
    a->cfg = p->cfg;
    a->listen_fd = fd;
    if (msgq_init(&a->inbox) < 0) {
        close(fd);
        free(a);
        return NULL;
    }
    for (int i = 0; i < ADMIN_MAX_CONNS; i++)
        a->conns[i].fd = -1;
    /* The port the kernel chose, when the config said 0. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    unsigned port = addr->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    log_info("admin_listening", "admin_listen=%s:%u paths=\"/metrics /healthz /readyz\"",
             addr->host, port);
    return a;
}

static void conn_close(struct admin_conn *c)
{
    close(c->fd);
    free(c->out);
    c->fd = -1;
    c->out = NULL;
    c->in_len = c->out_len = c->out_sent = 0;
}

void admin_close(struct admin *a)
{
    if (!a)
        return;
    if (a->started) {
        struct msg *m = calloc(1, sizeof *m);
        if (m) {
            m->kind = MSG_STOP;
            m->fd = -1;
            msgq_push(&a->inbox, m);
            pthread_join(a->thread, NULL);
        } else {
            pthread_cancel(a->thread); /* out of memory at exit: poll() is a cancellation point */
            pthread_join(a->thread, NULL);
        }
    }
    for (struct msg *m = msgq_take_all(&a->inbox), *next; m; m = next) {
        next = m->next;
        free(m);
    }
    msgq_destroy(&a->inbox);
    for (int i = 0; i < ADMIN_MAX_CONNS; i++)
        if (a->conns[i].fd >= 0)
            conn_close(&a->conns[i]);
    close(a->listen_fd);
    free(a);
}

/* Formats the response into c->out. */
static void respond(struct admin_conn *c, int status, const char *type, const char *body,
                    size_t body_len, int head)
{
    size_t cap = body_len + 256;
    c->out = malloc(cap);
    c->out_len = c->out ? http_format_response(c->out, cap, status, type, body, body_len, head) : 0;
    c->out_sent = 0;
}

static void route(struct admin *a, struct admin_conn *c, const struct http_request *req)
{
    if (strcmp(req->path, "/metrics") == 0) {
        size_t cap = metrics_size_hint(a->cfg);
        char *body = malloc(cap);
        size_t n = body ? metrics_render(a->p, a->cfg, a->gen, body, cap) : 0;
        if (n > 0)
            respond(c, 200, PROM_CONTENT_TYPE, body, n, req->head);
        else
            respond(c, 500, "text/plain", "metrics did not fit\n", 20, req->head);
        free(body);
    } else if (strcmp(req->path, "/healthz") == 0) {
        respond(c, 200, "text/plain", "ok\n", 3, req->head);
    } else if (strcmp(req->path, "/readyz") == 0) {
        char why[300];
        bool ready = metrics_ready(a->p, a->cfg, a->gen, why, sizeof why - 1);
        size_t n = strlen(why);
        why[n++] = '\n';
        respond(c, ready ? 200 : 503, "text/plain", why, n, req->head);
    } else {
        respond(c, 404, "text/plain", "not found: try /metrics, /healthz or /readyz\n", 45,
                req->head);
    }
}

static void on_readable(struct admin *a, struct admin_conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    struct http_request req;
    enum http_parse rc = http_parse_request(c->in, c->in_len, &req);
    static const int status[] = {[HTTP_BAD_REQUEST] = 400,
                                 [HTTP_BAD_METHOD] = 405,
                                 [HTTP_TOO_LARGE] = 431,
                                 [HTTP_BAD_VERSION] = 505};
    switch (rc) {
    case HTTP_INCOMPLETE:
        return;
    case HTTP_OK:
        route(a, c, &req);
        break;
    default: {
        char body[64];
        int len = snprintf(body, sizeof body, "%s\n", http_reason(status[rc]));
        respond(c, status[rc], "text/plain", body, (size_t)len, 0);
        log_info("admin_bad_request", "status=%d", status[rc]);
        break;
    }
    }
    if (c->out_len == 0)
        conn_close(c);
}

static void on_writable(struct admin_conn *c)
{
    ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->out_sent += (size_t)n;
    if (c->out_sent == c->out_len) {
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
    }
}

static void accept_all(struct admin *a)
{
    for (int i = 0; i < ADMIN_MAX_CONNS; i++) {
        struct admin_conn *c = &a->conns[i];
        if (c->fd >= 0)
            continue;
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        c->fd = fd;
        c->deadline_ms = clock_ms() + ADMIN_CONN_TIMEOUT_MS;
    }
}

static int poll_fill(struct admin *a, struct pollfd *pfd)
{
    int n = 0;
    bool full = true;
    for (int i = 0; i < ADMIN_MAX_CONNS; i++) {
        struct admin_conn *c = &a->conns[i];
        if (c->fd < 0) {
            full = false;
            continue;
        }
        pfd[n] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
        a->slot_of[n++] = i;
    }
    if (!full) {
        pfd[n] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
        a->slot_of[n++] = -1;
    }
    return n;
}

static void poll_done(struct admin *a, const struct pollfd *pfd, int n)
{
    uint64_t now = clock_ms();
    for (int i = 0; i < n; i++) {
        if (a->slot_of[i] < 0) {
            if (pfd[i].revents & POLLIN)
                accept_all(a);
            continue;
        }
        struct admin_conn *c = &a->conns[a->slot_of[i]];
        if (c->fd < 0)
            continue;
        if (pfd[i].revents & (POLLERR | POLLNVAL))
            conn_close(c);
        else if (c->out && (pfd[i].revents & (POLLOUT | POLLHUP)))
            on_writable(c);
        else if (!c->out && (pfd[i].revents & (POLLIN | POLLHUP)))
            on_readable(a, c);
        if (c->fd >= 0 && now >= c->deadline_ms)
            conn_close(c);
    }
}

/* The poll timeout: the next connection deadline, -1 when none. */
static int timeout_ms(const struct admin *a)
{
    int timeout_ms = -1;
    uint64_t now = clock_ms();
    for (int i = 0; i < ADMIN_MAX_CONNS; i++) {
        const struct admin_conn *c = &a->conns[i];
        if (c->fd < 0)
            continue;
        int left = c->deadline_ms > now ? (int)(c->deadline_ms - now) : 0;
        if (timeout_ms < 0 || left < timeout_ms)
            timeout_ms = left;
    }
    return timeout_ms;
}

/* MSG_RELOAD: report from the new config on (acknowledged: the old one may go); MSG_STOP. */
static void drain_inbox(struct admin *a)
{
    uint64_t v;
    ssize_t n = read(a->inbox.efd, &v, sizeof v);
    (void)n;
    for (struct msg *m = msgq_take_all(&a->inbox), *next; m; m = next) {
        next = m->next;
        if (m->kind == MSG_RELOAD) {
            a->cfg = m->cfg;
            a->gen = m->gen;
            post_reload_ack(a->p);
        } else if (m->kind == MSG_STOP) {
            a->stop = true;
        }
        free(m);
    }
}

/* Its own thread, so that /healthz answers in milliseconds while the maintenance thread waits
 * on a slow backend (a connect, a ping, a KILL). */
static void *admin_main(void *arg)
{
    struct admin *a = arg;
    while (!a->stop) {
        struct pollfd pfd[1 + ADMIN_POLLFDS] = {{.fd = a->inbox.efd, .events = POLLIN}};
        int n = poll_fill(a, pfd + 1);
        poll(pfd, 1 + (nfds_t)n, timeout_ms(a));
        poll_done(a, pfd + 1, n);
        if (pfd[0].revents & POLLIN)
            drain_inbox(a);
    }
    return NULL;
}

int admin_start(struct admin *a)
{
    if (!a)
        return 0;
    int rc = pthread_create(&a->thread, NULL, admin_main, a);
    if (rc != 0)
        return -rc;
    a->started = true;
    return 0;
}

void admin_post(struct admin *a, struct msg *m)
{
    msgq_push(&a->inbox, m);
}
