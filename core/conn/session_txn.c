/* session_txn: transaction pooling's decisions on a session's connection (see session_int.h). */
#include "core/conn/session_int.h"

#include "core/base/log.h"
#include "core/conn/backend.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/kill.h"
#include "protocol/packet.h"
#include "protocol/query_state.h"
#include "protocol/response.h"
#include "protocol/stmt_packet.h"

/* ---------- transaction pooling ---------- */

void pin(struct session *s, const char *why)
{
    s->pinned = true;
    STAT_INC(s->w->st.sessions_pinned);
    struct log_ctx c;
    log_debug("session_pinned", "%s reason=\"%s\"", ctx(s, &c), why);
}

/* The text of a COM_QUERY or COM_STMT_PREPARE (after its command byte), from the packet whose
 * first head_len bytes are head (len in all), its length in *text_len. Where only the head was
 * kept, the text is read in the receive buffer when it lies whole there (it ends there: the
 * framer stopped just past it); NULL where it cannot be read, which callers take for a yes. */
static const uint8_t *command_text(const struct session *s, const uint8_t *head, size_t head_len,
                                   uint64_t len, size_t *text_len)
{
    if (head_len < len) {
        if (len >= PROTO_MAX_PAYLOAD || s->in.scan < len)
            return NULL;
        head = s->in.p + s->in.scan - len;
        head_len = (size_t)len;
    }
    *text_len = head_len - 1;
    return head + 1;
}

/* What a COM_QUERY's or COM_STMT_PREPARE's text says (protocol/query_state.h), in one pass;
 * text that cannot be read counts as leaving state, changing the database and XA (the
 * cautious answers), and as none of the rest. 0 for other commands. */
unsigned command_facts(struct session *s, const uint8_t *head, size_t head_len, uint64_t len)
{
    const uint8_t *at = s->facts_at;
    s->facts_at = NULL;
    if (at && len < PROTO_MAX_PAYLOAD && s->in.scan >= len + PROTO_HEADER_LEN &&
        at == s->in.p + s->in.scan - len - PROTO_HEADER_LEN)
        return s->facts; /* split read them to route this packet (command_target) */
    if (head[0] != PROTO_COM_QUERY && head[0] != PROTO_COM_STMT_PREPARE)
        return 0;
    size_t n;
    const uint8_t *text = command_text(s, head, head_len, len, &n);
    if (!text)
        return PROTO_QF_LEAVES_STATE | PROTO_QF_MAY_CHANGE_DB | PROTO_QF_XA;
    return proto_query_facts(text, n, s->w->routines);
}

/* Transaction pooling: whether this command may leave state the server does not report. */
bool command_pins(uint8_t command, unsigned facts)
{
    switch (command) {
    case PROTO_COM_STMT_PREPARE:
    case PROTO_COM_SET_OPTION:
    case PROTO_COM_INIT_DB: /* reported too, but the database is what binds check first */
        return true;
    case PROTO_COM_QUERY:
    case PROTO_COM_STMT_EXECUTE: /* transaction pooling: the facts of its statement's text */
        return facts & PROTO_QF_LEAVES_STATE;
    default:
        return false;
    }
}

/* Session pooling: whether this command may change the connection's current database, which
 * the next session's bind would then have to set again (a prepared statement's text is read
 * when it is prepared: the database is only checked at the next bind). */
bool command_may_change_db(uint8_t command, unsigned facts)
{
    return command == PROTO_COM_INIT_DB || (facts & PROTO_QF_MAY_CHANGE_DB);
}

/* Whether the next command in s->in needs a backend: all but those ringsql answers itself. */
bool needs_backend(const struct session *s)
{
    const uint8_t *p = s->in.p + s->in.scan;
    struct proto_phys ph;
    struct proto_kill k;
    /* What ringsql answers itself it answers from the whole packet, in the buffer: a packet
     * not all there (it would be streamed on, and there is nothing to stream it to) or an
     * empty one (its "command" byte is the next packet's) needs a connection like any other. */
    if (proto_phys_read(p, s->in.len - s->in.scan, &ph, NULL) != 0 || ph.payload_len == 0)
        return true;
    switch (p[PROTO_HEADER_LEN]) {
    case PROTO_COM_QUIT:
    case PROTO_COM_CHANGE_USER:
    case PROTO_COM_PING:
    case PROTO_COM_RESET_CONNECTION:
    case PROTO_COM_PROCESS_KILL:
        return false;
    case PROTO_COM_QUERY: /* a KILL is answered by ringsql (on_kill) */
        return proto_kill_parse(p + PROTO_HEADER_LEN + 1, ph.payload_len - 1, &k) ==
               PROTO_KILL_NONE;
    default:
        return true;
    }
}

/* The held command executes one of the session's statements whose text reads
 * LAST_INSERT_ID(). */
static bool executes_insert_id_read(const struct session *s, const uint8_t *p,
                                    const struct proto_phys *ph)
{
    if (ph->payload_len < 5 || p[PROTO_HEADER_LEN] != PROTO_COM_STMT_EXECUTE)
        return false;
    struct stmt_slot *sl = stmt_ids_get(&s->stmts, proto_stmt_id(p + PROTO_HEADER_LEN));
    return sl && proto_query_reads_insert_id(stmt_text_sql(sl->t), sl->t->len);
}

/* Transaction pooling: the command held in s->in reads LAST_INSERT_ID(), and the connection's
 * value is not this session's (another session's insert set it, or it is 0 and this
 * session's is not). */
bool insert_id_is_another(const struct session *s)
{
    const struct backend *b = s->b;
    if (b->insert_id_set ? b->insert_id_owner == s->id : s->last_insert_id == 0)
        return false;
    const uint8_t *p = s->in.p + s->in.scan;
    struct proto_phys ph;
    if (proto_phys_read(p, s->in.len - s->in.scan, &ph, NULL) != 0 || ph.payload_len <= 1)
        return false;
    return executes_insert_id_read(s, p, &ph) ||
           (p[PROTO_HEADER_LEN] == PROTO_COM_QUERY &&
            proto_query_reads_insert_id(p + PROTO_HEADER_LEN + 1, ph.payload_len - 1));
}

/* After a command: a transaction-pooled session that left nothing on its backend gives it
 * back as it is (nothing to reset), between transactions only. */
void release_if_free(struct session *s)
{
    struct backend *b = s->b;
    if (!s->txn || s->pinned || s->diag_held || !b || b->in.held || b->send_busy ||
        b->kill_pending || !proto_tracker_idle(&b->tr))
        return;
    uint16_t st = proto_tracker_status(&b->tr);
    if ((st & (PROTO_SERVER_STATUS_IN_TRANS | PROTO_SERVER_MORE_RESULTS_EXISTS |
               PROTO_SERVER_STATUS_CURSOR_EXISTS)) ||
        !(st & PROTO_SERVER_STATUS_AUTOCOMMIT))
        return;
    if (b->diag_dirty) {
        /* Its diagnostics area may still hold this session's warnings or errors (a statement
         * that uses no table leaves it as it was): reset before another session reads it. */
        s->b = NULL;
        backend_release(b, true);
        return;
    }
    give_back_untouched(s);
}

/* ringsql turned session_track_state_change on (bind); a client that did not gets the
 * response's last OK without its state-change entry (in place: the OK ends the buffer). An
 * OK that straddles two receives, or ends one of several results, keeps it. */
void strip_state_change(struct session *s)
{
    struct backend *b = s->b;
    uint64_t len = s->last_len;
    if (!b->tracking || s->client_tracks_state || !(s->caps & PROTO_CLIENT_SESSION_TRACK) ||
        !(b->tr.status_seen & PROTO_SERVER_SESSION_STATE_CHANGED) || len >= PROTO_MAX_PAYLOAD ||
        b->in.scan != b->in.len || b->in.scan - b->in.sent < len + PROTO_HEADER_LEN)
        return;
    uint8_t *h = b->in.p + b->in.scan - len - PROTO_HEADER_LEN;
    if (((uint64_t)h[0] | (uint64_t)h[1] << 8 | (uint64_t)h[2] << 16) != len)
        return;
    size_t n = proto_ok_strip_state_change(h + PROTO_HEADER_LEN, (size_t)len, b->caps);
    if (n == len)
        return;
    h[0] = (uint8_t)n;
    h[1] = (uint8_t)(n >> 8);
    h[2] = (uint8_t)(n >> 16);
    uint32_t cut = (uint32_t)(len - n);
    b->in.scan -= cut;
    b->in.len -= cut;
}
