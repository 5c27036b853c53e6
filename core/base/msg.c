#include "core/base/msg.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/base/user_lookup.h"
#include "protocol/name_set.h"

int msgq_init(struct msgq *q)
{
    atomic_init(&q->head, NULL);
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return q->efd < 0 ? -errno : 0;
}

void msg_free(struct msg *m)
{
    if (!m)
        return;
    bool has_fd =
        m->kind == MSG_BACKEND_NEW || m->kind == MSG_CONN_STALE || m->kind == MSG_CONN_PING;
    if (has_fd)
        msg_conn_close(m);
    if (m->kind == MSG_ROUTINES)
        name_set_unref(m->names);
    if (m->lookup) {
        msg_free(m->lookup->conn);
        free(m->lookup);
    }
    free(m);
}

void msgq_destroy(struct msgq *q)
{
    struct msg *m = msgq_take_all(q);
    while (m) {
        struct msg *next = m->next;
        msg_free(m);
        m = next;
    }
    if (q->efd >= 0)
        close(q->efd);
    q->efd = -1;
}

void msgq_push(struct msgq *q, struct msg *m)
{
    struct msg *old = atomic_load_explicit(&q->head, memory_order_relaxed);
    do {
        m->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&q->head, &old, m, memory_order_release,
                                                    memory_order_relaxed));
    uint64_t one = 1;
    /* Only fails when the 64-bit counter would overflow, which a reader draining it makes
     * impossible in practice; the message is queued either way. */
    ssize_t n = write(q->efd, &one, sizeof one);
    (void)n;
}

struct msg *msgq_take_all(struct msgq *q)
{
    struct msg *m = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
    struct msg *fifo = NULL;
    while (m) {
        struct msg *next = m->next;
        m->next = fifo;
        fifo = m;
        m = next;
    }
    return fifo;
}

void msg_conn_close(struct msg *m)
{
    SSL_free(m->ssl);
    m->ssl = NULL;
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}
