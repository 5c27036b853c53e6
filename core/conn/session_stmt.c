/* session_stmt: prepared statements under transaction pooling (see session_int.h). The
 * client's statement ids are ringsql's (stmt_cache.h); before a statement command goes to a
 * connection, its id becomes that connection's, the statement is prepared there first where it
 * is not (a bind step), and the parameter types the server holds are made the client's. */
#include "core/conn/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/conn/backend.h"
#include "core/conn/stmt_cache.h"
#include "core/conn/stmt_meta.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/stmt_packet.h"

enum {
    ER_UNKNOWN_STMT_HANDLER = 1243,
    ER_MAX_PREPARED_STMT_COUNT_REACHED = 1461,
    ER_STMT_HAS_NO_OPEN_CURSOR = 1421,
    ER_WRONG_ARGUMENTS = 1210,
    ER_UNKNOWN_ERROR = 1105,
    ER_MALFORMED_PACKET = 1835,
};

/* The packet at s->in.scan: its length, and whether all of it is in the buffer. */
struct held {
    uint8_t *p; /* its header */
    size_t avail;
    size_t len; /* payload */
    bool whole;
};

static bool held_packet(struct session *s, struct held *h)
{
    h->p = s->in.p + s->in.scan;
    h->avail = s->in.len - s->in.scan;
    if (h->avail < PROTO_HEADER_LEN + 1)
        return false;
    h->len = (size_t)h->p[0] | (size_t)h->p[1] << 8 | (size_t)h->p[2] << 16;
    h->whole = h->len < PROTO_MAX_PAYLOAD && h->avail >= PROTO_HEADER_LEN + h->len;
    return h->len > 0;
}

/* Answers the whole packet h (not forwarded): an ERR (msg), or OK (msg NULL). */
static enum stmt_check answer(struct session *s, const struct held *h, uint16_t code,
                              const char *state, const char *msg)
{
    if (!h->whole)
        return STMT_FAILED;
    s->in.scan += (uint32_t)(PROTO_HEADER_LEN + h->len);
    s->in.sent = s->in.scan;
    answer_command(s, h->p[3], code, state, msg);
    return STMT_ANSWERED;
}

/* Passes the whole packet h over, unanswered (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
static enum stmt_check consume(struct session *s, const struct held *h)
{
    if (!h->whole)
        return STMT_FAILED;
    s->in.scan += (uint32_t)(PROTO_HEADER_LEN + h->len);
    s->in.sent = s->in.scan;
    return STMT_CONSUMED;
}

static enum stmt_check unknown_id(struct session *s, const struct held *h, uint32_t id,
                                  const char *where)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Unknown prepared statement handler (%u) given to %s", id, where);
    return answer(s, h, ER_UNKNOWN_STMT_HANDLER, "HY000", msg);
}

/* A pinned session's connection may have another database or character set than the one the
 * statement was prepared in: then it cannot be prepared there again as it was. */
static bool can_prepare_here(const struct session *s, const struct stmt_text *t)
{
    const struct backend *b = s->b;
    return !s->pinned || (backend_db_is(b, (const char *)t->bytes, t->db_len) &&
                          b->charset_known && b->charset == t->charset);
}

/* The parameter types the server holds for e become those the client last sent (an execute
 * that sends none means "as last time": the client's last time, not another client's). */
static enum stmt_check settle_types(struct session *s, const struct held *h,
                                    struct stmt_slot *sl, struct stmt_conn_entry *e)
{
    uint8_t *payload = h->p + PROTO_HEADER_LEN;
    size_t have = h->avail - PROTO_HEADER_LEN < h->len ? h->avail - PROTO_HEADER_LEN : h->len;
    struct proto_exec_types et;
    int rc = proto_exec_types(payload, have, sl->t->n_params, &et);
    if (rc == 1 || rc == -EPROTO) /* no parameters; or malformed: the server says so */
        return STMT_GO_ON;
    if (rc < 0)
        return STMT_FAILED; /* the types lie past this receive */
    size_t tlen = (size_t)sl->t->n_params * 2;
    if (et.sent) {
        if (stmt_slot_set_types(sl, payload + et.types_off, tlen) < 0 ||
            stmt_conn_set_types(e, payload + et.types_off, tlen) < 0)
            return STMT_FAILED;
        return STMT_GO_ON;
    }
    if (!sl->types_known)
        return answer(s, h, ER_WRONG_ARGUMENTS, "HY000",
                      "Incorrect arguments to mysqld_stmt_execute (no parameter types sent)");
    if (stmt_conn_types_are(e, sl->types, tlen))
        return STMT_GO_ON;
    ssize_t used = payload[0] == PROTO_COM_STMT_EXECUTE && h->whole
                       ? proto_exec_add_types(h->p, h->avail, WORKER_BUF_SIZE - s->in.scan,
                                              sl->t->n_params, sl->types)
                       : -ENOSPC;
    if (used < 0)
        return answer(s, h, ER_UNKNOWN_ERROR, "HY000",
                      "ringsql could not send this execute's parameter types to the connection "
                      "that serves it; bind the parameters again before executing");
    s->in.len = s->in.scan + (uint32_t)used;
    return stmt_conn_set_types(e, sl->types, tlen) < 0 ? STMT_FAILED : STMT_GO_ON;
}

static enum stmt_check check_prepare(struct session *s, const struct held *h)
{
    if (!h->whole)
        return answer(s, h, PROTO_ER_NOT_SUPPORTED_YET, "42000",
                      "ringsql prepares under transaction pooling only statements that arrive "
                      "whole in one receive buffer (64 KiB); use session pooling for longer ones");
    if (s->stmts.count >= STMT_IDS_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "Can't create more than max_prepared_stmt_count statements (current value: %u)",
                 (unsigned)STMT_IDS_MAX);
        return answer(s, h, ER_MAX_PREPARED_STMT_COUNT_REACHED, "42000", msg);
    }
    struct backend *b = s->b;
    if (b && (b->stmts.n >= s->w->cfg->pool.max_prepared_per_conn || b->stmts.nclosing > 0))
        return STMT_PREPARE_FIRST; /* room first: the bind step closes the least used */
    s->stmt_checked = true;
    return STMT_GO_ON;
}

enum stmt_check stmt_check_command(struct session *s)
{
    struct held h;
    if (!held_packet(s, &h) || h.p[3] != 0) /* out of order: refused as such (client_packet) */
        return STMT_GO_ON;
    uint8_t cmd = h.p[PROTO_HEADER_LEN];
    if (cmd == PROTO_COM_STMT_PREPARE)
        return check_prepare(s, &h);
    if (!proto_stmt_command_has_id(cmd))
        return STMT_GO_ON;
    if (h.len < 5)
        return answer(s, &h, ER_MALFORMED_PACKET, "HY000", "Malformed communication packet");
    if (h.avail < PROTO_HEADER_LEN + 5)
        return STMT_FAILED; /* its id lies past this receive */
    uint32_t id = proto_stmt_id(h.p + PROTO_HEADER_LEN);
    struct stmt_slot *sl = stmt_ids_get(&s->stmts, id);
    s->cmd_stmt = id == UINT32_MAX ? s->stmts.last : id;
    struct backend *b = s->b;
    struct stmt_conn_entry *e = sl && b ? stmt_conn_find(&b->stmts, sl->t) : NULL;
    switch (cmd) {
    case PROTO_COM_STMT_CLOSE:
        stmt_meta_forget(&s->meta, s->cmd_stmt);
        stmt_ids_remove(&s->stmts, id);
        return consume(s, &h);
    case PROTO_COM_STMT_SEND_LONG_DATA:
        if (!sl)
            return consume(s, &h); /* a server drops it too, and fails the execute */
        break;
    case PROTO_COM_STMT_RESET:
        if (!sl)
            return unknown_id(s, &h, id, "mysqld_stmt_reset");
        if (!e) /* no long data, no cursor on any connection: nothing to reset */
            return answer(s, &h, 0, NULL, NULL);
        break;
    case PROTO_COM_STMT_FETCH:
        if (!sl)
            return unknown_id(s, &h, id, "mysqld_stmt_fetch");
        if (!e) {
            char msg[96];
            snprintf(msg, sizeof msg, "The statement (%u) has no open cursor.", id);
            return answer(s, &h, ER_STMT_HAS_NO_OPEN_CURSOR, "HY000", msg);
        }
        break;
    default:
        if (!sl)
            return unknown_id(s, &h, id,
                              cmd == PROTO_COM_STMT_EXECUTE ? "mysqld_stmt_execute"
                                                            : "mysqld_stmt_bulk_execute");
        break;
    }
    if (!b)
        return STMT_GO_ON; /* bound first: its bind prepares the statement (stmt_step_send) */
    if (!e || b->stmts.nclosing > 0) {
        if (!e && !can_prepare_here(s, sl->t))
            return answer(s, &h, ER_UNKNOWN_STMT_HANDLER, "HY000",
                          "ringsql cannot prepare this statement again on the session's "
                          "connection: the session changed its database or character set "
                          "since it was prepared; prepare it again");
        return STMT_PREPARE_FIRST;
    }
    proto_stmt_set_id(h.p + PROTO_HEADER_LEN, e->server_id);
    s->stmt_checked = true;
    if (cmd == PROTO_COM_STMT_EXECUTE || cmd == PROTO_COM_STMT_BULK_EXECUTE) {
        enum stmt_check v = settle_types(s, &h, sl, e);
        if (v != STMT_GO_ON)
            s->stmt_checked = false;
        return v;
    }
    return STMT_GO_ON;
}

/* ---------- the bind step: a statement prepared where it is missing ---------- */

static uint8_t *put_header(uint8_t *p, size_t len)
{
    p[0] = (uint8_t)len;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)(len >> 16);
    p[3] = 0;
    return p + PROTO_HEADER_LEN;
}

int stmt_step_send(struct session *s)
{
    struct backend *b = s->b;
    struct held h;
    if (!held_packet(s, &h))
        return 0;
    uint8_t cmd = h.p[PROTO_HEADER_LEN];
    struct stmt_text *need = NULL;
    if (proto_stmt_command_has_id(cmd) && cmd != PROTO_COM_STMT_CLOSE &&
        h.avail >= PROTO_HEADER_LEN + 5) {
        struct stmt_slot *sl = stmt_ids_get(&s->stmts, proto_stmt_id(h.p + PROTO_HEADER_LEN));
        if (sl && !stmt_conn_find(&b->stmts, sl->t))
            need = sl->t;
    } else if (cmd != PROTO_COM_STMT_PREPARE) {
        return 0;
    }
    if (need && need->len + 1 >= PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    /* Room for the one about to be prepared (the client's, or this one). */
    uint32_t before = b->stmts.nclosing;
    stmt_conn_evict(&b->stmts, s->w->cfg->pool.max_prepared_per_conn - 1);
    STAT_ADD(s->w->st.stmt_evictions, b->stmts.nclosing - before);
    if (!need && b->stmts.nclosing == 0)
        return 0;
    size_t close_len = PROTO_HEADER_LEN + 5;
    size_t size = (size_t)b->stmts.nclosing * close_len + PROTO_HEADER_LEN + 1 +
                  (need ? need->len : 0);
    uint8_t *buf = malloc(size), *w = buf;
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < b->stmts.nclosing; i++) {
        w = put_header(w, 5);
        w[0] = PROTO_COM_STMT_CLOSE;
        proto_stmt_set_id(w, b->stmts.closing[i]);
        w += 5;
    }
    b->stmts.nclosing = 0;
    /* Closes have no answer: a COM_PING behind them gives the step one to wait for. */
    w = put_header(w, 1 + (need ? need->len : 0));
    w[0] = need ? PROTO_COM_STMT_PREPARE : PROTO_COM_PING;
    if (need) {
        memcpy(w + 1, stmt_text_sql(need), need->len);
        need->refs++;
        s->step_prepare = need;
        STAT_INC(s->w->st.stmt_reprepares);
    }
    int rc = backend_send_packets(b, buf, size, need ? PROTO_COM_STMT_PREPARE : PROTO_COM_PING);
    return rc < 0 ? rc : 1;
}

void stmt_step_done(struct session *s, bool ok)
{
    struct stmt_text *t = s->step_prepare;
    if (!t)
        return;
    s->step_prepare = NULL;
    struct backend *b = s->b;
    if (ok) {
        t->n_params = b->tr.prepare.num_params;
        (void)stmt_conn_add(&b->stmts, t, b->tr.prepare.stmt_id);
    }
    stmt_text_unref(t);
}

/* ---------- the client's own COM_STMT_PREPARE ---------- */

int stmt_prepare_forwarded(struct session *s, const uint8_t *text, size_t len, unsigned facts)
{
    stmt_text_unref(s->preparing);
    s->preparing = stmt_text_new(text, len, s->db, s->db_len, s->charset, facts);
    return s->preparing ? 0 : -ENOMEM;
}

int stmt_prepare_answered(struct session *s, uint8_t *payload)
{
    struct stmt_text *t = s->preparing;
    if (!t)
        return 0;
    if (!payload)
        return -EPROTO; /* its id lies in bytes already on their way to the client */
    struct backend *b = s->b;
    t->n_params = b->tr.prepare.num_params;
    uint32_t id = stmt_ids_add(&s->stmts, t);
    if (id == 0)
        return -ENOMEM;
    proto_stmt_set_id(payload, id);
    (void)stmt_conn_add(&b->stmts, t, b->tr.prepare.stmt_id);
    stmt_text_unref(t);
    s->preparing = NULL;
    return 0;
}

unsigned stmt_exec_facts(struct session *s)
{
    struct stmt_slot *sl = stmt_ids_get(&s->stmts, s->cmd_stmt);
    return sl ? sl->t->facts : 0;
}
