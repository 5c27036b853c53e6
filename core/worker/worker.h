/* worker: one thread, one I/O engine (core/io/io.h: io_uring, or epoll where io_uring is not
 * allowed), one listening socket (SO_REUSEPORT), the receive buffers, the sessions it accepted
 * and its shards of every pool. Everything here is touched only by the worker's own thread,
 * except the inbox.
 *
 * Every operation carries a tag: the address of the object it concerns (16-byte aligned) with
 * the operation kind in the low 4 bits. dispatch() in worker.c is the one place that routes
 * completions. */
#pragma once

#include <linux/time_types.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/base/deadline.h"
#include "core/conn/stmt_cache.h"
#include "core/worker/framer.h"
#include "core/base/msg.h"
#include "core/base/stats.h"
#include "pool/pool.h"
#include "protocol/auth.h"
#include "protocol/ed25519.h"
#include "protocol/sha2_crypt.h"
#include "protocol/xlat.h"
#include "protocol/tracker.h"

struct proxy;
struct session;
struct worker;

enum {
    WORKER_BUF_SIZE = 64 * 1024, /* one provided receive buffer */
    WORKER_BUF_GROUP = 1,
    /* A backend keeps the first bytes of each response packet that straddles two receives:
     * every response packet but a row fits (rows only need their first bytes). */
    BACKEND_HEAD_CAP = 16 * 1024,
    /* A translated response's output (protocol/xlat.h): one receive buffer's packets, a
     * whole small packet, and the definitions stmt_meta may add back. */
    WORKER_XBUF_SIZE = WORKER_BUF_SIZE + BACKEND_HEAD_CAP + 64 * 1024 + 1024,
    WORKER_ACCEPT_PAUSE_MS = 100, /* accepting paused, out of descriptors */
    WORKER_XBUF_KEEP = 64,        /* free output buffers a worker keeps for the next responses */
    BACKEND_CMD_CAP = 1024,       /* ringsql's own commands: COM_INIT_DB, SET ..., COM_RESET */
    BACKEND_DB_CAP = 64,          /* longer database names are not remembered (sent each time) */
};

enum op {
    OP_ACCEPT = 1,
    OP_WAKE,          /* the inbox's eventfd became readable */
    OP_CLIENT_RECV,   /* ptr: struct session */
    OP_CLIENT_SEND,   /* ptr: struct session */
    OP_BACKEND_RECV,  /* ptr: struct backend */
    OP_BACKEND_SEND,  /* ptr: struct backend; ringsql's own command from b->cmd */
    OP_C2B_SEND,      /* ptr: struct session; client bytes (s->in) to the backend */
    OP_B2C_SEND,      /* ptr: struct backend; backend bytes (b->in) to the client */
    OP_IGNORE,        /* cancellations, timer updates: nothing to do on completion */
    OP_WAIT_TIMEOUT,  /* ptr: struct session; timeouts.pool_wait for a connection passed */
    OP_TIMER,         /* ptr: struct worker; the earliest client deadline came */
    OP_CLIENT_HUP,    /* ptr: struct session; the client hung up (watched while results stream) */
    OP_ACCEPT_RESUME, /* ptr: struct worker; accepting was paused (out of descriptors) */
};
#define OP_MASK UINT64_C(0xf)

static inline uint64_t op_tag(const void *ptr, enum op op)
{
    return (uint64_t)(uintptr_t)ptr | (uint64_t)op;
}

/* What the layer above the loop (core/conn/events.c) does with the loop's news: the loop
 * calls nothing above it but these. All on the worker's thread. */
struct worker_hooks {
    /* A completion of a session's or a backend connection's operation (op, its object). */
    void (*complete)(struct worker *w, enum op op, void *ptr, int res, unsigned flags);
    void (*accepted)(struct worker *w, int fd, uint32_t route); /* a client connected */
    void (*message)(struct worker *w, struct msg *m);           /* not the loop's own; takes m */
    void (*buffer_free)(struct worker *w); /* a receive buffer came back, one waits */
    void (*timer)(struct worker *w);       /* the earliest client deadline came */
    void (*submitted)(struct worker *w);   /* each turn: the grave may be closed */
    void (*stopping)(struct worker *w);    /* MSG_STOP: end the sessions */
    void (*stopped)(struct worker *w);     /* the loop ended: free what is left */
    void (*destroyed)(struct worker *w);   /* worker_destroy: the tables above */
};

/* The backend connection's own life, apart from any session. */
enum backend_state {
    B_POOLED,    /* on its shard's available list, a receive armed to notice a close */
    B_BOUND,     /* on the busy list, driven by its session */
    B_RESETTING, /* session over: COM_RESET_CONNECTION in flight, then back to B_POOLED */
    B_HANDOFF,   /* off the lists, its receive being cancelled: then its socket goes to the
                  * maintenance thread (stale: closed there; ping: comes back) */
    B_DEAD,      /* off the lists, waiting for its last completion to be freed */
};

struct backend {
    struct pool_conn pc; /* first member: pool lists link through it */
    struct worker *w;
    struct session *sess;
    enum backend_state state;
    int fd;
    uint32_t shard_idx;
    uint32_t server_conn_id;
    /* A client's KILL for its command is on its way to the server: given to no one else
     * (discarded instead) until it is known to have arrived. */
    bool kill_pending;
    /* LAST_INSERT_ID() on this connection was set by session insert_id_owner's insert (false:
     * 0, as after a reset). Transaction pooling gives another session its own value back. */
    bool diag_dirty; /* a statement left warnings or an error here (cleared by a reset) */
    bool insert_id_set;
    uint64_t insert_id_owner;
    uint64_t caps;
    uint8_t charset0; /* the login collation: COM_RESET_CONNECTION restores it */
    bool multi_stmts; /* server-side CLIENT_MULTI_STATEMENTS option as last set */
    bool multi_known;
    /* What ringsql knows of the connection's session, so that binding a client repeats no
     * command: the current database (COM_RESET_CONNECTION keeps it), the character set, and
     * whether session_track_state_change is on (transaction pooling; a reset turns it off). */
    bool db_known;
    uint8_t db_len;
    char db[BACKEND_DB_CAP];
    bool charset_known;
    uint8_t charset;
    bool tracking;
    uint64_t globals_epoch; /* proxy.globals_epoch when its session variables were last read */
    uint8_t scramble[PROTO_SCRAMBLE_LEN]; /* the server's latest, for COM_CHANGE_USER */
    unsigned inflight;                    /* submissions not completed yet */
    bool recv_armed;
    bool send_busy;
    struct proto_tracker tr;
    struct rbuf in;
    struct framer fr;
    /* A session that reads another layout (session.c): the rewritten response on its way
     * to the client, from a worker output buffer held only while a response streams. */
    struct proto_xlat xl;
    uint8_t *xo;
    uint32_t xo_len, xo_sent;
    uint8_t cmd[BACKEND_CMD_CAP];
    uint8_t *cmd_big; /* ringsql's own commands that outgrow cmd (statements), sent from here */
    uint32_t cmd_len;
    uint32_t cmd_sent;
    /* Transaction pooling: the statements prepared on this connection (stmt_cache.h). */
    struct stmt_conn stmts;
    struct backend *next_live, *prev_live;
    struct backend *buf_wait_next;
    bool buf_waiting;
    bool buried;
    enum msg_kind handoff; /* B_HANDOFF: MSG_CONN_STALE or MSG_CONN_PING */
    bool handoff_replace;
    uint32_t handoff_gen; /* the config generation its shard_idx belongs to */
    uint8_t head[BACKEND_HEAD_CAP];
};

struct worker_user {
    const struct cfg_user *cfg;
    uint8_t native[PROTO_NATIVE_HASH_LEN];
    uint8_t sha2[PROTO_SHA2_HASH_LEN];
    bool empty; /* no password */
    /* SHA256(SHA256(password)) known: from a plaintext password, or cached by a full
     * authentication on this worker. caching_sha2_password's fast path is possible. */
    bool has_sha2;
    /* The config stores caching_sha2_password's hash ($A$005$...): no native hash, every
     * first login authenticates in full. */
    bool crypt_only;
    struct proto_sha2_crypt crypt;
    /* The config stores a client_ed25519 public key: only a signature can log in. */
    bool ed25519_only;
    uint8_t ed25519[PROTO_ED25519_KEY_LEN];
    /* A server user (cfg->from_server): when this worker last had a login of it checked with
     * the server (0: not since the last SIGHUP); after auth.recheck_after it is again. */
    uint64_t checked_ms;
};

/* What a worker knows about a backend from its first connection. */
struct worker_backend_info {
    bool known;
    uint64_t caps;
    char version[96];
    bool down; /* told so by the maintenance thread (MSG_BACKEND_STATE) */
    /* Its role as the maintenance thread last saw it (MSG_BACKEND_ROLE; the config's until
     * then): a primary takes writes, a readable replica reads (replicating, within max_lag). */
    bool primary;
    bool readable;
    int64_t wrr;     /* reads' smooth weighted round robin: this backend's running weight */
    char error[256]; /* the maintenance thread's last connect error while it is down */
};

/* One listening socket of the worker: a route of the config (routes[route]). Accept
 * completions are tagged with its address. */
struct listener {
    _Alignas(16) int fd;
    uint32_t route;
    bool accepting; /* an accept is armed on it */
};

/* Cache-line aligned: completions are tagged with the worker's address (low 4 bits free),
 * and neighbouring workers in the array must not share a line they write. */
struct worker {
    _Alignas(64) uint32_t id;
    struct proxy *proxy;
    const struct worker_hooks *hooks;
    const struct cfg *cfg;
    pthread_t thread;
    struct io *io;              /* the I/O engine (core/io/io.h) */
    struct listener *listeners; /* one per route, in the config's order */
    uint32_t nlisteners;
    struct msgq inbox;
    uint64_t wake_buf;
    uint32_t nbufs;     /* receive buffers (cfg receive_buffers, fixed at start) */
    uint32_t bufs_held; /* of them, taken by sessions and backends and not given back */
    bool stopping;
    /* Out of descriptors (EMFILE...): accepting pauses for WORKER_ACCEPT_PAUSE_MS instead of
     * failing again at once; failures are logged once a second with their count. */
    bool accept_paused;
    struct __kernel_timespec accept_pause_ts;
    uint64_t accept_log_ms;
    uint32_t accept_fails_unlogged;
    bool draining;       /* SIGTERM: no new client; the sessions finish */
    bool drain_reported; /* told the main thread it has no session left */
    unsigned inflight;   /* every submission not completed yet, all kinds */
    uint64_t now_ms;
    uint64_t next_session_id;
    uint32_t next_backend_id;

    struct pool_shard *shards; /* nbackends * nusers, index backend * nusers + user */
    size_t nshards;
    uint32_t gen; /* config generation of cfg and of the tables below (0 at start) */
    struct shard_gauges *_Atomic gauges; /* published for the admin endpoint */
    /* Shard arrays of earlier configs that still hold connections of a removed (backend,
     * user) pair, busy under a session: freed once empty (worker_reload.c). */
    struct retired_shards *retired;
    struct worker_user *users;
    struct worker_backend_info *binfo;
    /* Where clients' TLS sessions come from (a reference of the worker's own), NULL: no TLS. */
    struct ssl_ctx_st *tls_ctx;

    struct session *live_sessions; /* see session.c */
    struct backend *live_backends;
    struct session *free_sessions;
    struct buf_wait *buf_waiters; /* sessions whose receive found every buffer held */
    /* Objects to free after the next submit: an fd is closed only once no prepared
     * submission can still name it. */
    struct backend *grave_backends;
    struct session *grave_sessions;
    struct backend *backend_buf_waiters;
    struct xbuf *free_xbufs; /* translated responses' output buffers (WORKER_XBUF_SIZE) */
    unsigned nfree_xbufs;
    /* Transaction pooling: sessions whose command waits for a connection, oldest first. */
    struct deadline_list pool_waiters;
    /* The stored functions the backends know (a call of one pins), from the maintenance thread;
     * NULL until it told. */
    struct name_set *routines;
    bool pool_waking; /* session_pool_ready() runs: a nested call leaves it to the outer one */
    /* Client receives waiting under timeouts.handshake / timeouts.client_idle (indexed by
     * enum stat_timeout), and the one timer that fires for the earliest of them. */
    struct deadline_list deadlines[TIMEOUT_POOL_WAIT];
    bool timer_armed;
    uint64_t timer_at_ms;
    /* Random bytes for login scrambles, used from the end (session.c). */
    uint8_t random[64 * 20];
    uint16_t random_left;
    struct __kernel_timespec timer_ts, timer_update_ts;
    struct worker_stats st;

    /* start-up handshake with the main thread */
    int init_rc;
    pthread_mutex_t init_mu;
    pthread_cond_t init_cv;
    bool init_done;
};

/* Shard arrays of an earlier config still holding busy connections (conn/worker_reload.c). */
struct retired_shards {
    struct retired_shards *next;
    struct pool_shard *shards;
    size_t n;
};
void worker_free_retired(struct worker *w);
struct shard_gauges *worker_gauges_new(uint32_t gen, size_t n);
/* Password hashes of cfg's users into w->users. */
void worker_users_init(struct worker *w);
/* The first backend (config order) whose version and capabilities are known: clients are
 * greeted with them. Backend 0's (known false) while none is. */
const struct worker_backend_info *worker_known_backend(const struct worker *w);
/* A backend's info before anything is known of it: its role as configured. */
void worker_binfo_init(struct worker_backend_info *bi, const struct cfg_backend *be);

/* Creates the worker (listening socket, inbox) and starts its thread, which sets up its I/O
 * and reports back: returns 0 once the worker serves, or -errno (logged) if it could not. */
int worker_start(struct worker *w, struct proxy *p, uint32_t id, const struct worker_hooks *hooks);
/* Queues a message of kind (MSG_LISTEN, MSG_STOP) to the worker; any thread. */
void worker_post(struct worker *w, enum msg_kind kind);
/* Asks the worker to stop (from any thread) and joins it. */
void worker_stop(struct worker *w);
void worker_destroy(struct worker *w);

/* --- for session.c and backend.c, on the worker's own thread --- */
/* A receive into a provided buffer (client timeouts: session.c's deadline lists). */
void worker_recv(struct worker *w, int fd, uint64_t tag);
void worker_send(struct worker *w, int fd, const void *p, size_t len, uint64_t tag);
/* Sends, then receives once all of it is sent: one completion for the pair, the receive's
 * (recv_tag), or the send's (send_tag) alone if the send failed, with its error or the
 * bytes it got out before it failed; the receive is then dropped unannounced. */
void worker_send_then_recv(struct worker *w, int fd, const void *p, size_t len, uint64_t send_tag,
                           uint64_t recv_tag);
/* Completes once the peer hangs up (or the socket is shut down): POLLRDHUP, POLLHUP, POLLERR. */
void worker_watch_hup(struct worker *w, int fd, uint64_t tag);
/* A timeout of ms (its timespec in *ts, kept until it completes) completing with -ETIME, or
 * -ECANCELED once worker_cancel(tag) removed it. */
void worker_timeout(struct worker *w, struct __kernel_timespec *ts, uint64_t ms, uint64_t tag);
/* Makes the worker's timer fire no later than at_ms (then session_deadlines_passed()). */
void worker_timer_need(struct worker *w, uint64_t at_ms);
/* Cancels the operation tagged tag on fd, or a timeout (fd -1) (it completes with
 * -ECANCELED). */
void worker_cancel(struct worker *w, int fd, uint64_t tag);
/* Closes a socket of the worker's (nothing in flight on it). */
void worker_close_fd(struct worker *w, int fd);
/* The socket leaves the worker open (handed to the maintenance thread). */
void worker_release_fd(struct worker *w, int fd);
/* Takes the buffer named by a receive completion into rb; false if the completion had none. */
bool worker_buf_take(struct worker *w, int res, unsigned cqe_flags, struct rbuf *rb);
void worker_buf_release(struct worker *w, struct rbuf *rb);
/* An output buffer of WORKER_XBUF_SIZE bytes for a translated response, or NULL. */
uint8_t *worker_xbuf_take(struct worker *w);
void worker_xbuf_put(struct worker *w, uint8_t *p);
/* A receive found every buffer held: retried when a buffer comes back. */
struct buf_wait {
    struct buf_wait *next;
    struct session *s;
    bool waiting;
};
void worker_buf_wait(struct worker *w, struct buf_wait *bw);
void worker_backend_buf_wait(struct worker *w, struct backend *b);
