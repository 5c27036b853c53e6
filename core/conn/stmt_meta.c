/* stmt_meta: per-session column definitions of prepared statements (see stmt_meta.h). */
#include "core/conn/stmt_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/constants.h"
#include "protocol/tracker.h"

void stmt_meta_begin(struct stmt_meta_cache *c, uint32_t id)
{
    c->collecting = true;
    c->too_big = false;
    c->id = id;
    c->len = 0;
}

int stmt_meta_add(struct stmt_meta_cache *c, const uint8_t *payload, size_t len)
{
    if (!c->collecting || c->too_big)
        return 0;
    if (len + 3 > STMT_META_MAX - c->len) {
        c->too_big = true;
        return 0;
    }
    uint32_t need = c->len + 3 + (uint32_t)len;
    if (need > c->buf_cap) {
        uint32_t cap = c->buf_cap ? c->buf_cap : 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc(c->buf, cap);
        if (!p)
            return -ENOMEM;
        c->buf = p;
        c->buf_cap = cap;
    }
    uint8_t *d = c->buf + c->len;
    d[0] = (uint8_t)len;
    d[1] = (uint8_t)(len >> 8);
    d[2] = (uint8_t)(len >> 16);
    memcpy(d + 3, payload, len);
    c->len = need;
    return 0;
}

static struct stmt_meta *find(const struct stmt_meta_cache *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->v[i].id == id)
            return &c->v[i];
    }
    return NULL;
}

int stmt_meta_commit(struct stmt_meta_cache *c)
{
    if (!c->collecting)
        return 0;
    c->collecting = false;
    stmt_meta_forget(c, c->id);
    if (c->too_big)
        return 0;
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 8;
        struct stmt_meta *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    uint8_t *data = malloc(c->len ? c->len : 1);
    if (!data)
        return -ENOMEM;
    if (c->len) /* an empty buffer may still be NULL */
        memcpy(data, c->buf, c->len);
    c->v[c->n++] = (struct stmt_meta){.id = c->id, .len = c->len, .data = data};
    return 0;
}

const struct stmt_meta *stmt_meta_find(const struct stmt_meta_cache *c, uint32_t id)
{
    return find(c, id);
}

int stmt_meta_each(const struct stmt_meta *m, int (*fn)(void *ctx, const uint8_t *p, size_t len),
                   void *ctx)
{
    for (uint32_t pos = 0; pos + 3 <= m->len;) {
        const uint8_t *d = m->data + pos;
        size_t len = (size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16;
        int rc = fn(ctx, d + 3, len);
        if (rc < 0)
            return rc;
        pos += 3 + (uint32_t)len;
    }
    return 0;
}

void stmt_meta_forget(struct stmt_meta_cache *c, uint32_t id)
{
    struct stmt_meta *m = find(c, id);
    if (!m)
        return;
    free(m->data);
    *m = c->v[--c->n];
}

void stmt_meta_clear(struct stmt_meta_cache *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        free(c->v[i].data);
    free(c->v);
    free(c->buf);
    memset(c, 0, sizeof *c);
}

int stmt_meta_observe(struct stmt_meta_cache *c, const struct proto_tracker *t, uint32_t exec_stmt,
                      const uint8_t *p, size_t len, bool skipped, bool done,
                      int (*put)(void *ctx, const uint8_t *p, size_t len), void *ctx)
{
    /* A result's definitions end at the first packet that is not one (an EOF, or a row
     * under DEPRECATE_EOF). */
    if (c->collecting && t->command == PROTO_COM_STMT_EXECUTE && t->kind != PROTO_PKT_COLDEF) {
        int rc = stmt_meta_commit(c);
        if (rc < 0)
            return rc;
    }
    switch ((enum proto_pkt_kind)t->kind) {
    case PROTO_PKT_PREPARE_OK:
        stmt_meta_begin(c, t->prepare.stmt_id);
        break;
    case PROTO_PKT_PREP_COLDEF:
    case PROTO_PKT_COLDEF:
        return stmt_meta_add(c, p, len);
    case PROTO_PKT_COLCOUNT: {
        /* Only a statement's first result set is cached by the server (and here). */
        if (t->command != PROTO_COM_STMT_EXECUTE || t->results > 0 || c->collecting)
            return skipped ? -ENOENT : 0;
        if (!skipped) {
            stmt_meta_begin(c, exec_stmt);
            return 0;
        }
        const struct stmt_meta *m = find(c, exec_stmt);
        return m ? stmt_meta_each(m, put, ctx) : -ENOENT;
    }
    default:
        break;
    }
    if (done && t->command == PROTO_COM_STMT_PREPARE)
        return stmt_meta_commit(c);
    return 0;
}
