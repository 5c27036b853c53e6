/* deadline: an intrusive FIFO of things that expire, for timeouts of one length for every
 * member (timeouts.handshake, timeouts.client_idle). Members are appended as they start, so
 * the list stays in deadline order: the head expires first, and a worker needs one timer for
 * all of them instead of a linked timeout on every receive. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct deadline {
    struct deadline *prev, *next;
    uint64_t at_ms;
    bool linked;
};

struct deadline_list {
    struct deadline *head, *tail;
};

static inline void deadline_push(struct deadline_list *l, struct deadline *d, uint64_t at_ms)
{
    d->at_ms = at_ms;
    d->next = NULL;
    d->prev = l->tail;
    if (l->tail)
        l->tail->next = d;
    else
        l->head = d;
    l->tail = d;
    d->linked = true;
}

/* Like deadline_push for a deadline that may be earlier than the last ones (a login's, set at
 * accept, once its bind starts): walks back from the tail to its place. */
static inline void deadline_insert(struct deadline_list *l, struct deadline *d, uint64_t at_ms)
{
    struct deadline *after = l->tail;
    while (after && after->at_ms > at_ms)
        after = after->prev;
    d->at_ms = at_ms;
    d->prev = after;
    d->next = after ? after->next : l->head;
    if (d->next)
        d->next->prev = d;
    else
        l->tail = d;
    if (after)
        after->next = d;
    else
        l->head = d;
    d->linked = true;
}

static inline void deadline_unlink(struct deadline_list *l, struct deadline *d)
{
    if (!d->linked)
        return;
    if (d->prev)
        d->prev->next = d->next;
    else
        l->head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        l->tail = d->prev;
    d->prev = d->next = NULL;
    d->linked = false;
}
