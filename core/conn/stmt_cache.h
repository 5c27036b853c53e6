/* stmt_cache: prepared statements under transaction pooling. A client's statement ids are
 * ringsql's own (struct stmt_ids, one per session: id = slot + 1); each backend connection
 * keeps the statements prepared on it (struct stmt_conn: the server's id for each, least
 * recently used first out, and the server ids still to close there). Both refer to one
 * struct stmt_text: what was prepared, in which database and character set. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stmt_text {
    uint32_t refs;
    uint32_t len; /* of the text */
    uint64_t hash;
    unsigned facts;    /* protocol/query_state.h PROTO_QF_* of the text */
    uint16_t n_params; /* known once the server answered its prepare */
    uint8_t charset;
    uint16_t db_len;
    uint8_t bytes[]; /* db, then the text */
};

/* A statement as the client prepared it (text, its database db and character set): NULL
 * without memory. */
struct stmt_text *stmt_text_new(const uint8_t *text, size_t len, const char *db, size_t db_len,
                                uint8_t charset, unsigned facts);
void stmt_text_unref(struct stmt_text *t);
static inline const uint8_t *stmt_text_sql(const struct stmt_text *t)
{
    return t->bytes + t->db_len;
}

/* ---------- a session's statements ---------- */

struct stmt_slot {
    struct stmt_text *t; /* NULL: free */
    uint8_t *types;      /* the parameter types its client sent last (2 per parameter) */
    bool types_known;
};

struct stmt_ids {
    struct stmt_slot *v;
    uint32_t cap;
    uint32_t count; /* slots in use */
    uint32_t *free; /* free slots below cap, reused lowest-last */
    uint32_t nfree;
    uint32_t last; /* the id last prepared (MariaDB's execute of id 0xffffffff), 0: none */
};

/* A session may hold as many statements as a server allows by default. */
enum { STMT_IDS_MAX = 16382 };

/* Takes t (a reference) under a new id: the id, or 0 (no memory, or STMT_IDS_MAX held). */
uint32_t stmt_ids_add(struct stmt_ids *ids, struct stmt_text *t);
/* The statement of client id id, or NULL. */
struct stmt_slot *stmt_ids_get(const struct stmt_ids *ids, uint32_t id);
void stmt_ids_remove(struct stmt_ids *ids, uint32_t id);
/* Records the types the client sent with an execute of slot sl. Returns 0 or -ENOMEM. */
int stmt_slot_set_types(struct stmt_slot *sl, const uint8_t *types, size_t len);
void stmt_ids_clear(struct stmt_ids *ids);

/* ---------- a backend connection's statements ---------- */

struct stmt_conn_entry {
    struct stmt_text *t;
    uint32_t server_id;
    uint64_t used; /* stmt_conn.tick when last used */
    uint8_t *types; /* the types the server holds for it (last sent), NULL: none yet */
};

struct stmt_conn {
    struct stmt_conn_entry *v;
    uint32_t n, cap;
    uint64_t tick;
    uint32_t *closing; /* server ids evicted, to close before the connection's next statement */
    uint32_t nclosing, closing_cap;
};

/* The entry for a statement of the same text, database and character set as t, or NULL;
 * a found one counts as used. */
struct stmt_conn_entry *stmt_conn_find(struct stmt_conn *c, const struct stmt_text *t);
/* Records that server_id on this connection is t (the server prepared it). An entry for the
 * same statement already there is replaced (its server id to close). Returns 0 or -ENOMEM
 * (server_id is then to close). */
int stmt_conn_add(struct stmt_conn *c, struct stmt_text *t, uint32_t server_id);
/* Moves the least recently used entries to the close list until at most keep remain. */
void stmt_conn_evict(struct stmt_conn *c, uint32_t keep);
/* Whether the entry's server statement holds these types. */
bool stmt_conn_types_are(const struct stmt_conn_entry *e, const uint8_t *types, size_t len);
/* The server statement holds these types now. Returns 0 or -ENOMEM (then: unknown). */
int stmt_conn_set_types(struct stmt_conn_entry *e, const uint8_t *types, size_t len);
/* The server forgot every statement (COM_RESET_CONNECTION, COM_CHANGE_USER, the end). */
void stmt_conn_clear(struct stmt_conn *c);
