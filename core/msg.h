/* msg: the only way threads talk to each other. A multi-producer, single-consumer queue of
 * heap messages (a lock-free stack taken whole and reversed), plus an eventfd that wakes the
 * consumer: a worker keeps a read of it on its ring, the maintenance thread polls it. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum msg_kind {
    MSG_BACKEND_NEW,  /* maintenance -> worker: a connected, authenticated backend socket */
    MSG_BACKEND_LOST, /* worker -> maintenance: a shard lost a connection; open a replacement */
    MSG_LISTEN,       /* main -> worker: pools are filled, start accepting */
    MSG_STOP,         /* main -> worker or maintenance: shut down */
    MSG_DRAIN,        /* main -> worker: stop accepting, let the sessions finish */
    MSG_RELOAD,       /* main -> worker or maintenance: switch to cfg, then acknowledge */
};

struct cfg;

struct msg {
    struct msg *next;
    enum msg_kind kind;
    uint32_t worker; /* MSG_BACKEND_LOST: whose shard */
    uint32_t shard;  /* index into a worker's shards: backend * nusers + user */
    uint32_t gen;    /* BACKEND_NEW/LOST: the config generation shard refers to; RELOAD: new */
    /* MSG_BACKEND_NEW */
    int fd;
    uint32_t server_conn_id;
    uint64_t caps;    /* negotiated with the backend, MariaDB's extended half included */
    uint8_t charset;  /* collation id the connection was opened with */
    uint16_t status;  /* server status after login */
    char version[96]; /* the backend's version string */
    uint8_t scramble[20]; /* the server's handshake scramble (for COM_CHANGE_USER) */
    const struct cfg *cfg; /* MSG_RELOAD */
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
