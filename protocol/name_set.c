/* A refcounted open-addressing hash set of case-folded names (see name_set.h). */
#include "protocol/name_set.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct name {
    uint64_t hash;
    size_t len;
    uint8_t *text; /* folded, not terminated */
};

struct name_set {
    _Atomic unsigned refs;
    size_t count;
    size_t cap; /* slots, a power of two, at most half full; 0 before the first add */
    struct name *slots;
};

static uint8_t fold(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* FNV-1a over the folded bytes. */
static uint64_t hash_name(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ fold(p[i])) * 0x100000001b3u;
    return h;
}

static bool same(const struct name *n, uint64_t h, const uint8_t *p, size_t len)
{
    if (n->hash != h || n->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (n->text[i] != fold(p[i]))
            return false;
    return true;
}

/* The slot holding the name, or the empty slot where it would go. */
static struct name *find(const struct name_set *set, uint64_t h, const uint8_t *p, size_t len)
{
    size_t mask = set->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct name *n = &set->slots[i];
        if (!n->text || same(n, h, p, len))
            return n;
    }
}

struct name_set *name_set_new(void)
{
    struct name_set *set = calloc(1, sizeof *set);
    if (set)
        atomic_init(&set->refs, 1);
    return set;
}

static bool grow(struct name_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 16;
    struct name *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    struct name_set bigger = {.cap = cap, .slots = slots};
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].text)
            *find(&bigger, set->slots[i].hash, set->slots[i].text, set->slots[i].len) =
                set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return true;
}

bool name_set_add(struct name_set *set, const uint8_t *name, size_t len)
{
    if ((set->count + 1) * 2 > set->cap && !grow(set))
        return false;
    uint64_t h = hash_name(name, len);
    struct name *n = find(set, h, name, len);
    if (n->text)
        return true;
    uint8_t *text = malloc(len ? len : 1);
    if (!text)
        return false;
    for (size_t i = 0; i < len; i++)
        text[i] = fold(name[i]);
    *n = (struct name){.hash = h, .len = len, .text = text};
    set->count++;
    return true;
}

bool name_set_add_all(struct name_set *set, const struct name_set *from)
{
    for (size_t i = 0; from && i < from->cap; i++)
        if (from->slots[i].text &&
            !name_set_add(set, from->slots[i].text, from->slots[i].len))
            return false;
    return true;
}

size_t name_set_count(const struct name_set *set)
{
    return set ? set->count : 0;
}

bool name_set_has(const struct name_set *set, const uint8_t *name, size_t len)
{
    if (!set || set->count == 0)
        return false;
    return find(set, hash_name(name, len), name, len)->text != NULL;
}

struct name_set *name_set_ref(struct name_set *set)
{
    if (set)
        atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return set;
}

void name_set_unref(struct name_set *set)
{
    if (!set || atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i].text);
    free(set->slots);
    free(set);
}
