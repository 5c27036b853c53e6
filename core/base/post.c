/* Messages to the maintenance thread and the main thread (see post.h). */
#include "core/base/post.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/base/msg.h"
#include "core/base/shared.h"

/* The maintenance thread's inbox, or NULL when it does not run or ringsql stops. */
static struct msgq *maintenance_inbox(struct proxy *p)
{
    return atomic_load(&p->stopping) ? NULL : atomic_load(&p->maint_inbox);
}

static void ask(struct proxy *p, enum msg_kind kind, uint32_t worker, uint32_t shard, uint32_t gen)
{
    struct msgq *q = maintenance_inbox(p);
    if (!q)
        return;
    struct msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    *m = (struct msg){.kind = kind, .worker = worker, .shard = shard, .gen = gen, .fd = -1};
    msgq_push(q, m);
}

void post_backend_lost(struct proxy *p, uint32_t worker, uint32_t shard, uint32_t gen)
{
    ask(p, MSG_BACKEND_LOST, worker, shard, gen);
}

void post_backend_grow(struct proxy *p, uint32_t worker, uint32_t shard, uint32_t gen)
{
    ask(p, MSG_BACKEND_GROW, worker, shard, gen);
}

void post_to_maintenance(struct proxy *p, struct msg *m)
{
    struct msgq *q = maintenance_inbox(p);
    if (!q) {
        msg_free(m); /* a connection handed over while ringsql stops: its TLS too */
        return;
    }
    msgq_push(q, m);
}

void post_to_main(struct proxy *p, struct msg *m)
{
    msgq_push(&p->main_inbox, m);
}

void post_reload_ack(struct proxy *p)
{
    uint64_t one = 1;
    ssize_t n = write(p->reload_ack_fd, &one, sizeof one);
    (void)n;
}
