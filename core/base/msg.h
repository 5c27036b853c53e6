/* msg: the only way threads talk to each other. A multi-producer, single-consumer queue of
 * heap messages (a lock-free stack taken whole and reversed), plus an eventfd that wakes the
 * consumer: a worker keeps a read of it on its ring, the maintenance thread polls it. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum msg_kind {
    MSG_BACKEND_NEW,    /* maintenance -> worker: a connected, authenticated backend socket */
    MSG_BACKEND_LOST,   /* worker -> maintenance: a shard lost a connection; open a replacement */
    MSG_BACKEND_GROW,   /* worker -> maintenance: a shard below pool.size wants one more */
    MSG_HEALTH_CHECK,   /* maintenance -> worker: hand over stale and long-idle connections */
    MSG_CONN_STALE,     /* worker -> maintenance: an idle connection past stale_after (fd) */
    MSG_CONN_PING,      /* worker -> maintenance: a long-idle connection to ping (fd), back after */
    MSG_BACKEND_STATE,  /* maintenance -> worker: backend `backend` went up or down (error) */
    MSG_LISTEN,         /* main -> worker: pools are filled, start accepting */
    MSG_STOP,           /* main -> worker or maintenance: shut down */
    MSG_DRAIN,          /* main -> worker: stop accepting, let the sessions finish */
    MSG_RELOAD,         /* main -> worker or maintenance: switch to cfg, then acknowledge */
    MSG_KILL,           /* worker -> worker: a client's KILL of session `session` (user, gen) */
    MSG_KILL_DONE,      /* worker -> worker: its verdict (code) for session `killer` */
    MSG_BACKEND_KILL,   /* worker -> maintenance: KILL [QUERY] server_conn_id of shard's user */
    MSG_BACKEND_KILLED, /* maintenance -> worker: that KILL reached the server (or failed) */
    MSG_ROUTINES,       /* maintenance -> worker: the stored functions the backends know now */
    MSG_BACKEND_ROLE,   /* maintenance -> worker: backend `backend` is primary / readable now */
    MSG_USER_LOOKUP,    /* worker -> maintenance: check `lookup` against the server's accounts */
    MSG_USER_FOUND,     /* maintenance -> main: its verdict (the user to add to the config) */
    MSG_USER_READY,     /* main -> worker: the config has the user (or the login is refused) */
    MSG_GROW_REFUSED,   /* maintenance -> worker: the server refused a server user's growth */
};

struct cfg;
struct name_set;
struct user_lookup;

struct msg {
    struct msg *next;
    enum msg_kind kind;
    uint32_t worker; /* MSG_BACKEND_LOST: whose shard */
    uint32_t shard;  /* index into a worker's shards: backend * nusers + user */
    uint32_t gen;    /* BACKEND_NEW/LOST/GROW, CONN_*: the config generation shard refers to;
                      * RELOAD: new */
    /* MSG_BACKEND_NEW, MSG_CONN_STALE, MSG_CONN_PING */
    int fd;
    struct ssl_st *ssl;     /* its TLS session (backends[].tls), or NULL */
    bool replace;           /* MSG_CONN_STALE: open a new one (false: the shard shrinks) */
    bool returning;         /* MSG_BACKEND_NEW: a pinged connection coming back */
    bool multi_stmts;       /* returning: its CLIENT_MULTI_STATEMENTS option as last set */
    uint64_t created_ms;    /* returning: when it was opened */
    uint64_t idle_since_ms; /* returning: idle since (a ping is not a use) */
    uint64_t globals_epoch; /* proxy.globals_epoch when its session variables were read */
    /* MSG_BACKEND_STATE */
    uint32_t backend;
    bool up;
    bool primary, readable, demoted; /* MSG_BACKEND_ROLE: its role, in the read set, was primary */
    char error[256];                 /* the last connect error, for the clients' ERR 2003 */
    uint32_t server_conn_id;
    uint64_t caps;         /* negotiated with the backend, MariaDB's extended half included */
    uint8_t charset;       /* collation id the connection was opened with */
    uint16_t status;       /* server status after login */
    char version[96];      /* the backend's version string */
    uint8_t scramble[20];  /* the server's handshake scramble (for COM_CHANGE_USER) */
    const struct cfg *cfg; /* MSG_RELOAD */
    bool users_only;       /* MSG_RELOAD: it only adds server users (core/server_users.c) */
    /* MSG_RELOAD to a worker: its reference to the clients' TLS context (NULL: none). */
    struct ssl_ctx_st *tls;
    /* MSG_KILL, MSG_KILL_DONE, MSG_BACKEND_KILL(ED): `worker` is the killer's (KILL, DONE) or
     * the killed session's (BACKEND_*), `session` the killed one's id, `killer` the killing
     * session's id, `user` its user index (in gen); `code` 0 (OK) or the ERR to answer. */
    uint64_t session;
    uint64_t killer;
    uint32_t user;
    bool query_only;
    uint16_t code;
    char sqlstate[6];           /* a refused backend login (code): the server's SQL state */
    uint32_t count;             /* MSG_GROW_REFUSED: connections asked for that do not come */
    struct name_set *names;     /* MSG_ROUTINES: one reference, the receiver's */
    struct user_lookup *lookup; /* MSG_USER_*: owned by the message */
};

struct msgq {
    _Atomic(struct msg *) head;
    int efd; /* eventfd: written after each push */
};

int msgq_init(struct msgq *q);
void msgq_destroy(struct msgq *q);
/* Safe from any thread; never blocks. */
void msgq_push(struct msgq *q, struct msg *m);
/* The consumer takes every queued message, oldest first (a NULL-terminated list). */
struct msg *msgq_take_all(struct msgq *q);

/* Frees m and what it holds: a connection's socket (MSG_BACKEND_NEW, MSG_CONN_*), its
 * routines reference, its lookup (and the lookup's connection). NULL: nothing. */
void msg_free(struct msg *m);
/* Closes a connection message's socket (MSG_BACKEND_NEW, MSG_CONN_*) and frees its TLS session
 * (no close_notify: the server sees the connection end). */
void msg_conn_close(struct msg *m);
