/* stmt_cache: a session's statement ids and a backend connection's prepared statements (see
 * stmt_cache.h). */
#include "core/conn/stmt_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, over the database, the character set and the text. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

struct stmt_text *stmt_text_new(const uint8_t *text, size_t len, const char *db, size_t db_len,
                                uint8_t charset, unsigned facts)
{
    if (len > UINT32_MAX || db_len > UINT16_MAX)
        return NULL;
    struct stmt_text *t = malloc(sizeof *t + db_len + len);
    if (!t)
        return NULL;
    t->refs = 1;
    t->len = (uint32_t)len;
    t->facts = facts;
    t->n_params = 0;
    t->charset = charset;
    t->db_len = (uint16_t)db_len;
    memcpy(t->bytes, db, db_len);
    memcpy(t->bytes + db_len, text, len);
    uint64_t h = fnv(UINT64_C(0xcbf29ce484222325), t->bytes, db_len);
    h = fnv(h, &charset, 1);
    t->hash = fnv(h ^ db_len, text, len);
    return t;
}

void stmt_text_unref(struct stmt_text *t)
{
    if (t && --t->refs == 0)
        free(t);
}

static bool same_statement(const struct stmt_text *a, const struct stmt_text *b)
{
    return a == b || (a->hash == b->hash && a->len == b->len && a->db_len == b->db_len &&
                      a->charset == b->charset &&
                      memcmp(a->bytes, b->bytes, (size_t)a->db_len + a->len) == 0);
}

/* ---------- a session's statements ---------- */

uint32_t stmt_ids_add(struct stmt_ids *ids, struct stmt_text *t)
{
    if (ids->count >= STMT_IDS_MAX)
        return 0;
    uint32_t slot;
    if (ids->nfree > 0) {
        slot = ids->free[--ids->nfree];
    } else {
        if (ids->cap == UINT32_MAX - 1)
            return 0;
        uint32_t cap = ids->cap ? ids->cap * 2 : 8;
        struct stmt_slot *v = realloc(ids->v, (size_t)cap * sizeof *v);
        if (!v)
            return 0;
        uint32_t *fr = realloc(ids->free, (size_t)cap * sizeof *fr);
        if (!fr) {
            ids->v = v;
            return 0;
        }
        memset(v + ids->cap, 0, (size_t)(cap - ids->cap) * sizeof *v);
        ids->v = v;
        ids->free = fr;
        /* The new slots, lowest taken first. */
        for (uint32_t i = cap; i > ids->cap + 1; i--)
            ids->free[ids->nfree++] = i - 1;
        slot = ids->cap;
        ids->cap = cap;
    }
    t->refs++;
    ids->v[slot] = (struct stmt_slot){.t = t};
    ids->count++;
    ids->last = slot + 1;
    return slot + 1;
}

struct stmt_slot *stmt_ids_get(const struct stmt_ids *ids, uint32_t id)
{
    if (id == UINT32_MAX) /* MariaDB: the statement prepared last */
        id = ids->last;
    if (id == 0 || id > ids->cap || !ids->v[id - 1].t)
        return NULL;
    return &ids->v[id - 1];
}

void stmt_ids_remove(struct stmt_ids *ids, uint32_t id)
{
    struct stmt_slot *sl = id == UINT32_MAX ? NULL : stmt_ids_get(ids, id);
    if (!sl)
        return;
    stmt_text_unref(sl->t);
    free(sl->types);
    *sl = (struct stmt_slot){0};
    ids->free[ids->nfree++] = id - 1;
    ids->count--;
    if (ids->last == id)
        ids->last = 0;
}

int stmt_slot_set_types(struct stmt_slot *sl, const uint8_t *types, size_t len)
{
    uint8_t *p = realloc(sl->types, len ? len : 1);
    if (!p) {
        sl->types_known = false;
        return -ENOMEM;
    }
    memcpy(p, types, len);
    sl->types = p;
    sl->types_known = true;
    return 0;
}

void stmt_ids_clear(struct stmt_ids *ids)
{
    for (uint32_t i = 0; i < ids->cap; i++) {
        stmt_text_unref(ids->v[i].t);
        free(ids->v[i].types);
    }
    free(ids->v);
    free(ids->free);
    *ids = (struct stmt_ids){0};
}

/* ---------- a backend connection's statements ---------- */

struct stmt_conn_entry *stmt_conn_find(struct stmt_conn *c, const struct stmt_text *t)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (same_statement(c->v[i].t, t)) {
            c->v[i].used = ++c->tick;
            return &c->v[i];
        }
    return NULL;
}

static void close_later(struct stmt_conn *c, uint32_t server_id)
{
    if (c->nclosing == c->closing_cap) {
        uint32_t cap = c->closing_cap ? c->closing_cap * 2 : 8;
        uint32_t *v = realloc(c->closing, (size_t)cap * sizeof *v);
        if (!v)
            return; /* left prepared on the server until the connection is reset */
        c->closing = v;
        c->closing_cap = cap;
    }
    c->closing[c->nclosing++] = server_id;
}

static void entry_drop(struct stmt_conn *c, uint32_t i)
{
    stmt_text_unref(c->v[i].t);
    free(c->v[i].types);
    c->v[i] = c->v[--c->n];
}

int stmt_conn_add(struct stmt_conn *c, struct stmt_text *t, uint32_t server_id)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (same_statement(c->v[i].t, t)) {
            close_later(c, c->v[i].server_id);
            entry_drop(c, i);
            break;
        }
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 8;
        struct stmt_conn_entry *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) {
            close_later(c, server_id);
            return -ENOMEM;
        }
        c->v = v;
        c->cap = cap;
    }
    t->refs++;
    c->v[c->n++] = (struct stmt_conn_entry){.t = t, .server_id = server_id, .used = ++c->tick};
    return 0;
}

void stmt_conn_evict(struct stmt_conn *c, uint32_t keep)
{
    while (c->n > keep) {
        uint32_t lru = 0;
        for (uint32_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[lru].used)
                lru = i;
        close_later(c, c->v[lru].server_id);
        entry_drop(c, lru);
    }
}

bool stmt_conn_types_are(const struct stmt_conn_entry *e, const uint8_t *types, size_t len)
{
    return e->types && memcmp(e->types, types, len) == 0;
}

int stmt_conn_set_types(struct stmt_conn_entry *e, const uint8_t *types, size_t len)
{
    uint8_t *p = realloc(e->types, len ? len : 1);
    if (!p) {
        free(e->types);
        e->types = NULL;
        return -ENOMEM;
    }
    memcpy(p, types, len);
    e->types = p;
    return 0;
}

void stmt_conn_clear(struct stmt_conn *c)
{
    while (c->n > 0)
        entry_drop(c, c->n - 1);
    free(c->v);
    free(c->closing);
    *c = (struct stmt_conn){0};
}
