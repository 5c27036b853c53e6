/* xlat: rewrites a backend connection's responses into the layout its client negotiated, for
 * clients whose response-layout capabilities differ from the backend's (PyMySQL, mysqlnd, Go,
 * Connector/J, node: see docs/architecture.md, "Capabilities").
 *
 * Two layers, both pure:
 *   proto_xlat_rewrite()  one logical packet, classified by the tracker (enum proto_pkt_kind):
 *                         kept, dropped, or rewritten into the client's layout;
 *   proto_xlat_walk()     the byte stream: cuts it into packets, hands each to a callback,
 *                         passes large packets (rows) through as they come, and renumbers
 *                         sequence ids (packets are dropped and added).
 *
 * What differs, backend (from) -> client (to), and what the client gets:
 *   SESSION_TRACK only in from    OK packets without the session-state block, info to the end
 *   EXTENDED_METADATA only in from  column definitions without the extended type field
 *   CACHE_METADATA only in from   column counts without the "metadata follows" byte; when the
 *                                 server skipped the definitions the caller adds them back
 *                                 (it keeps them per statement)
 *   PROGRESS only in from         no progress reports
 *   DEPRECATE_EOF only in to      no EOF after definitions; the EOF that ends rows (or a
 *                                 cursor's definitions) becomes an OK with the 0xfe header
 * Any other difference (DEPRECATE_EOF only in from, a layout bit only in to) is refused with
 * -ENOTSUP by proto_xlat_supported(): ringsql never offers a client such a set. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/constants.h"
#include "protocol/lenenc.h"

/* Capabilities that change the layout of responses (and so ask for rewriting). Not
 * CLIENT_TRANSACTIONS: it only matters without PROTOCOL_41, which every login has. */
#define PROTO_XLAT_LAYOUT                                                                          \
    (PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF |          \
     PROTO_CLIENT_OPTIONAL_RESULTSET_METADATA | PROTO_MARIADB_CLIENT_PROGRESS |                    \
     PROTO_MARIADB_CLIENT_EXTENDED_METADATA | PROTO_MARIADB_CLIENT_CACHE_METADATA |                \
     PROTO_MARIADB_CLIENT_BULK_UNIT_RESULTS)

/* Layout bits a client may lack although the backend has them, and the one it may have alone. */
#define PROTO_XLAT_DOWN                                                                            \
    (PROTO_CLIENT_SESSION_TRACK | PROTO_MARIADB_CLIENT_PROGRESS |                                  \
     PROTO_MARIADB_CLIENT_EXTENDED_METADATA | PROTO_MARIADB_CLIENT_CACHE_METADATA)
#define PROTO_XLAT_UP PROTO_CLIENT_DEPRECATE_EOF

/* True when responses must be rewritten at all (the layouts differ). */
static inline bool proto_xlat_needed(uint64_t from, uint64_t to)
{
    return ((from ^ to) & PROTO_XLAT_LAYOUT) != 0;
}
/* 0 when every difference between the two layouts is one proto_xlat_rewrite handles. */
int proto_xlat_supported(uint64_t from, uint64_t to);

enum proto_xlat_action {
    PROTO_XLAT_KEEP,    /* send the packet as it is */
    PROTO_XLAT_DROP,    /* the client must not see it */
    PROTO_XLAT_REWRITE, /* send out[0, *out_len) instead */
};

/* Largest growth of a rewritten payload over the original (an EOF becoming an OK). */
enum { PROTO_XLAT_GROWTH = 8 };

/* One logical packet's payload p[0, len) of kind (enum proto_pkt_kind) from a backend with
 * capabilities from, for a client with to. Returns an enum proto_xlat_action or -errno;
 * *meta_skipped is set for a column count whose definitions the server left out (cached). */
int proto_xlat_rewrite(uint8_t kind, const uint8_t *p, size_t len, uint64_t from, uint64_t to,
                       uint8_t *out, size_t cap, size_t *out_len, bool *meta_skipped);

/* ---------- the stream ---------- */

struct proto_xlat {
    uint8_t seq; /* the next sequence id the client gets */
    /* Set by the caller: where a small packet cut across two receives is put together. */
    uint8_t *stash;
    uint32_t stash_cap;
    uint32_t reserve; /* room the callback may need beyond the packet (added definitions) */
    /* Internal. */
    uint8_t hdr[4];
    uint8_t hdr_len;
    uint32_t plen;  /* payload length of the current physical packet */
    uint32_t got;   /* payload bytes of it seen so far */
    bool big;       /* larger than the stash: passed through as it comes */
    bool big_seen;  /* ... and the callback has seen its first bytes */
    bool cont_next; /* the logical packet goes on in the next physical packet */
    bool cont;      /* the current physical packet continues the previous one */
};

/* Input consumed and output produced by one call of proto_xlat_walk. */
struct proto_xlat_io {
    const uint8_t *in;
    size_t in_len;
    size_t in_used;
    uint8_t *out;
    size_t out_cap;
    size_t out_len;
};

/* Called for each logical packet: whole (the whole payload, at most stash_cap bytes), or the
 * first bytes of a larger one (whole false; only then may it be a continuation's start).
 * For a whole packet it appends the client's packets with proto_xlat_put (the walker left it
 * len + PROTO_XLAT_GROWTH + 8 + reserve bytes of room); for a large one it only returns, and
 * the walker passes the packet on. Returns 0 to go on, 1 when the response is complete (the
 * walk stops after this packet), or -errno. */
typedef int proto_xlat_fn(void *ctx, struct proto_xlat *x, struct proto_xlat_io *io,
                          const uint8_t *payload, size_t len, bool whole);

enum proto_xlat_walk_result {
    PROTO_XLAT_DONE = 1,       /* the callback said the response ended; input may be left */
    PROTO_XLAT_FULL = 2,       /* out is full: send it, then call again with what is left */
    PROTO_XLAT_NEED_INPUT = 3, /* every input byte was used */
};

/* Starts a new response whose first packet the client expects with sequence id seq. */
void proto_xlat_begin(struct proto_xlat *x, uint8_t seq);
/* Walks io->in from io->in_used, appending to io->out from io->out_len. Returns an enum
 * proto_xlat_walk_result or -errno (-EMSGSIZE: a packet needs more room than out has). */
int proto_xlat_walk(struct proto_xlat *x, struct proto_xlat_io *io, proto_xlat_fn *fn, void *ctx);
/* Rewrites one whole packet of kind (proto_xlat_rewrite) and appends what the client gets;
 * *as_sent is that payload inside io->out (len 0 when dropped). Returns 0 or -errno. */
int proto_xlat_forward(struct proto_xlat *x, struct proto_xlat_io *io, uint8_t kind,
                       const uint8_t *p, size_t len, uint64_t from, uint64_t to, bool *meta_skipped,
                       struct proto_bytes *as_sent);
/* Appends one packet (payload smaller than 16 MiB - 1) with the next sequence id. */
int proto_xlat_put(struct proto_xlat *x, struct proto_xlat_io *io, const uint8_t *payload,
                   size_t len);
