/* stmt_meta: the column definitions a backend last sent for each prepared statement of one
 * session, kept for a client that did not negotiate MARIADB_CLIENT_CACHE_METADATA while its
 * backend connection did: when the server leaves a result's definitions out (unchanged), the
 * session puts them back from here, in the client's layout. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many bytes of definitions per statement (about 1 000 columns): a statement
 * with more is not kept, and a result that leaves them out fails the session. */
enum { STMT_META_MAX = 64 * 1024 };

struct stmt_meta {
    uint32_t id;
    uint32_t len;
    uint8_t *data; /* definitions, each as a 3-byte length then its payload */
};

struct stmt_meta_cache {
    struct stmt_meta *v;
    uint32_t n, cap;
    /* The definitions being collected from a response. */
    bool collecting;
    bool too_big;
    uint32_t id;
    uint8_t *buf;
    uint32_t len, buf_cap;
};

/* Starts collecting the definitions of statement id. */
void stmt_meta_begin(struct stmt_meta_cache *c, uint32_t id);
/* Adds one definition's payload to those being collected. Returns 0 or -ENOMEM. */
int stmt_meta_add(struct stmt_meta_cache *c, const uint8_t *payload, size_t len);
/* Keeps what was collected as the statement's definitions (replacing older ones). */
int stmt_meta_commit(struct stmt_meta_cache *c);
const struct stmt_meta *stmt_meta_find(const struct stmt_meta_cache *c, uint32_t id);
/* Calls fn for each definition of m. */
int stmt_meta_each(const struct stmt_meta *m, int (*fn)(void *ctx, const uint8_t *p, size_t len),
                   void *ctx);
void stmt_meta_forget(struct stmt_meta_cache *c, uint32_t id);

struct proto_tracker;
/* Follows one response packet as the client got it (p, len; the tracker t has just
 * classified it; exec_stmt is the COM_STMT_EXECUTE's statement, done says the response
 * ended): definitions from COM_STMT_PREPARE and from COM_STMT_EXECUTE's first result are
 * kept, and a column count whose definitions the server skipped (skipped) gets them back
 * through put. Returns 0, -ENOENT when the skipped definitions are unknown, or -errno. */
int stmt_meta_observe(struct stmt_meta_cache *c, const struct proto_tracker *t, uint32_t exec_stmt,
                      const uint8_t *p, size_t len, bool skipped, bool done,
                      int (*put)(void *ctx, const uint8_t *p, size_t len), void *ctx);
/* Forgets every statement (COM_RESET_CONNECTION, COM_CHANGE_USER, the session's end). */
void stmt_meta_clear(struct stmt_meta_cache *c);
