#include "pool/pool.h"

#include <stdio.h>

static void list_init(struct pool_link *head)
{
    head->prev = head->next = head;
}

static void list_push_front(struct pool_link *head, struct pool_link *l)
{
    l->next = head->next;
    l->prev = head;
    head->next->prev = l;
    head->next = l;
}

static void list_unlink(struct pool_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

static bool list_empty(const struct pool_link *head)
{
    return head->next == head;
}

/* link is the first member of struct pool_conn. */
static struct pool_conn *conn_of(struct pool_link *l)
{
    return (struct pool_conn *)l;
}

void pool_shard_init(struct pool_shard *s, const char *backend_name, const char *user_name,
                     uint32_t backend, uint32_t user, uint32_t target)
{
    snprintf(s->name, sizeof(s->name), "%s/%s", backend_name, user_name);
    s->backend = backend;
    s->user = user;
    s->target = target;
    s->min_idle = target;
    s->pending = 0;
    s->retired = false;
    s->navailable = s->nbusy = 0;
    list_init(&s->available);
    list_init(&s->busy);
}

/* Moves the list at from to the empty list at to, pointing each connection at shard. */
static uint32_t list_move(struct pool_link *to, struct pool_link *from, struct pool_shard *shard)
{
    uint32_t n = 0;
    while (!list_empty(from)) {
        struct pool_link *l = from->prev; /* oldest first, so the order is kept */
        list_unlink(l);
        list_push_front(to, l);
        conn_of(l)->shard = shard;
        n++;
    }
    return n;
}

void pool_shard_move(struct pool_shard *to, struct pool_shard *from)
{
    to->navailable += list_move(&to->available, &from->available, to);
    to->nbusy += list_move(&to->busy, &from->busy, to);
    from->navailable = from->nbusy = 0;
    to->commands = from->commands;
    to->errors = from->errors;
}

void pool_shard_add(struct pool_shard *s, struct pool_conn *c, uint64_t now_ms)
{
    c->shard = s;
    c->created_ms = now_ms;
    c->idle_since_ms = now_ms;
    c->checked_ms = now_ms;
    c->where = POOL_AVAILABLE;
    list_push_front(&s->available, &c->link);
    s->navailable++;
}

void pool_shard_readd(struct pool_shard *s, struct pool_conn *c, uint64_t created_ms,
                      uint64_t idle_since_ms, uint64_t checked_ms)
{
    c->shard = s;
    c->created_ms = created_ms;
    c->idle_since_ms = idle_since_ms;
    c->checked_ms = checked_ms;
    c->where = POOL_AVAILABLE;
    /* Newest first: walk from the tail (oldest) past every connection idle even longer. */
    struct pool_link *after = s->available.prev;
    while (after != &s->available && conn_of(after)->idle_since_ms < idle_since_ms)
        after = after->prev;
    list_push_front(after, &c->link);
    s->navailable++;
}

struct pool_conn *pool_take(struct pool_shard *s)
{
    if (list_empty(&s->available))
        return NULL;
    struct pool_conn *c = conn_of(s->available.next);
    list_unlink(&c->link);
    s->navailable--;
    list_push_front(&s->busy, &c->link);
    s->nbusy++;
    c->where = POOL_BUSY;
    return c;
}

void pool_return(struct pool_conn *c, uint64_t now_ms)
{
    struct pool_shard *s = c->shard;
    if (c->where != POOL_BUSY)
        return;
    list_unlink(&c->link);
    s->nbusy--;
    list_push_front(&s->available, &c->link);
    s->navailable++;
    c->where = POOL_AVAILABLE;
    c->idle_since_ms = now_ms;
    c->checked_ms = now_ms;
}

void pool_remove(struct pool_conn *c)
{
    struct pool_shard *s = c->shard;
    if (c->where == POOL_AVAILABLE)
        s->navailable--;
    else if (c->where == POOL_BUSY)
        s->nbusy--;
    else
        return;
    list_unlink(&c->link);
    c->where = POOL_NOWHERE;
}

struct pool_conn *pool_take_stale(struct pool_shard *s, uint64_t now_ms, uint64_t stale_after_ms)
{
    if (list_empty(&s->available))
        return NULL;
    /* The list is ordered by return time, newest first: the tail is the oldest. */
    struct pool_conn *c = conn_of(s->available.prev);
    if (now_ms < c->idle_since_ms || now_ms - c->idle_since_ms < stale_after_ms)
        return NULL;
    pool_remove(c);
    return c;
}

struct pool_conn *pool_take_unchecked(struct pool_shard *s, uint64_t now_ms, uint64_t every_ms)
{
    /* Oldest idle first; the list is short (a shard's share of pool.size). */
    for (struct pool_link *l = s->available.prev; l != &s->available; l = l->prev) {
        struct pool_conn *c = conn_of(l);
        if (now_ms >= c->checked_ms && now_ms - c->checked_ms >= every_ms) {
            pool_remove(c);
            return c;
        }
    }
    return NULL;
}

enum pool_verdict pool_return_verdict(const struct pool_end_state *st)
{
    return st->backend_idle && st->healthy ? POOL_RESET : POOL_DISCARD;
}

uint32_t pool_split(uint32_t total, uint32_t n, uint32_t w)
{
    if (n == 0)
        return 0;
    return total / n + (w < total % n ? 1 : 0);
}

struct pool_conn *pool_peek_oldest(struct pool_shard *s)
{
    return list_empty(&s->available) ? NULL : conn_of(s->available.prev);
}
