/* session_int.h: what the pieces of a session (core/conn/session*.c) share, and only they. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conn/session.h"
#include "core/conn/stmt_cache.h"
#include "core/conn/stmt_meta.h"
#include "core/worker/worker.h"
#include "protocol/constants.h"
#include "protocol/lenenc.h"

/* The pieces of a session, lowest first: each calls only the pieces listed before it, never
 * one listed after it, so that no files call each other in a circle (check_layers.py).
 *   session.c          a session's life: allocation and freeing, its own sends and receives,
 *                      ERRs, unbinding, closing, deadlines and timeouts, a backend that failed
 *   session_txn.c      transaction pooling's decisions: pinning, giving the connection back
 *                      between transactions, which commands need one, LAST_INSERT_ID()
 *   session_stmt.c     transaction pooling's prepared statements: ringsql's ids, each
 *                      connection's own, a statement prepared again where it is missing
 *   session_route.c    which backend a bind takes (a primary, a replica), split's choice
 *   session_bind.c     taking a connection (or waiting for one), applying the client's
 *                      database, options and character set on it, the login's OK
 *   session_kill.c     KILL [QUERY] of a session
 *   session_auth.c     credentials against the config, each plugin's exchange
 *   session_login.c    greeting, SSLRequest, HandshakeResponse, COM_CHANGE_USER
 *   session_forward.c  commands to the backend and responses back (through xlat), the
 *                      completions that drive them, and session_start
 * Where a lower piece goes on in a higher one, it calls through s->up (struct session_up). */

enum session_state {
    SS_GREETING,
    SS_LOGIN,
    SS_AUTH_SWITCH,
    SS_BIND,
    SS_IDLE,
    SS_FORWARD,
    SS_INFILE,
    SS_WAIT,
    SS_REJECT,
    SS_CLOSED,
};

/* SS_AUTH_SWITCH: what the client's next packet answers (session_auth.c). */
enum auth_step {
    AUTH_NATIVE,        /* a switch to mysql_native_password */
    AUTH_SHA2,          /* a switch to caching_sha2_password */
    AUTH_SHA2_FULL,     /* "perform full authentication", or the public key sent */
    AUTH_ED25519,       /* a switch to client_ed25519: its signature of s->nonce */
    AUTH_LOOKUP_NATIVE, /* a switch to mysql_native_password for a server user's check */
    AUTH_LOOKUP,        /* the server user's check under way (nothing is read from the client) */
};

enum bind_step {
    BIND_RESET,
    BIND_CLEAR_DB, /* no database wanted, one kept by a reset: COM_CHANGE_USER clears it */
    BIND_MULTI,
    BIND_CHARSET,
    BIND_DB, /* after the character set: the server's errors come in the client's */
    BIND_TRACK,
    BIND_INSERT_ID,
    BIND_STMT, /* transaction pooling: the held command's statement prepared (session_stmt.c) */
    BIND_DONE
};

/* What stmt_check_command() made of the command at s->in.scan. */
enum stmt_check {
    STMT_GO_ON,         /* forward it as it is now (its id rewritten where it has one) */
    STMT_ANSWERED,      /* ringsql answered it (an ERR or OK on its way) */
    STMT_CONSUMED,      /* taken, no answer due (COM_STMT_CLOSE...) */
    STMT_PREPARE_FIRST, /* its connection needs a bind step first (stmt_step_send) */
    STMT_FAILED,        /* it cannot be handled (its id past the receive): the session ends */
};

/* Where a bind takes its connection (routing): a primary, or a replica in the read set (the
 * primaries where none is readable). */
enum target { TARGET_PRIMARY, TARGET_READ };

enum { SESSION_HEAD_CAP = 512, SESSION_OUT_CAP = 1024, SESSION_DB_CAP = 256 };

/* What a COM_CHANGE_USER changes before its credentials are checked, kept to give back when
 * they are wrong: the server keeps the connection, with the user and database it had. */
struct change_user_undo {
    uint32_t user;
    bool user_known;
    uint8_t charset;
    size_t db_len;
    char user_name[80];
    char db[SESSION_DB_CAP];
};

/* What the lower pieces go on with in the higher ones, which they do not call by name: one
 * table, in session_forward.c, that session_start gives every session (s->up). */
struct session_up {
    /* A connection went back to the worker's pool (session_pool_ready: those waiting take it). */
    void (*pool_ready)(struct worker *w);
    /* The command held in s->in has its connection bound (bind_next): it is forwarded. */
    void (*command_bound)(struct session *s);
};

struct session {
    struct session *next_live, *prev_live;
    struct buf_wait bw;
    struct worker *w;
    const struct session_up *up; /* see struct session_up */
    uint64_t id;
    int fd;
    uint32_t route;            /* index into cfg->routes: the listener it came in through */
    enum target target;        /* what its next bind takes */
    uint64_t primary_until_ms; /* split: its reads go to the primary until then (after a write) */
    /* split: the facts (PROTO_QF_*) of the COM_QUERY whose packet starts at facts_at, read
     * to route it; its forwarding takes them instead of reading the text again. */
    const uint8_t *facts_at;
    unsigned facts;
    enum session_state state;
    struct backend *b;
    uint32_t user; /* index into cfg->users, once known */
    bool user_known;
    bool user_gone; /* its user left the config (SIGHUP): it gets no backend connection again */
    uint8_t change_user_failures; /* COM_CHANGE_USER refused so far (3 at most, as MariaDB) */
    unsigned inflight;            /* submissions tagged with this session not completed yet */
    bool recv_armed;
    bool hup_watched;  /* a POLLRDHUP watch on the client socket is in flight */
    bool own_send;     /* s->out on its way to the client */
    bool send_linked;  /* ... with the receive of the client's answer behind it */
    bool say_shutdown; /* shutting down: ERR 1053 once that receive ends */
    bool c2b_busy;     /* s->in bytes on their way to the backend */
    bool b2c_busy;     /* b->in bytes on their way to the client */
    bool quit;         /* COM_QUIT seen */
    bool expect_response;
    /* Transaction pooling: its last statement left warnings or an error on its connection:
     * the connection stays for its next statement (SHOW WARNINGS reads them there), and is
     * reset before anyone else gets it. */
    bool diag_held;
    bool cmd_reads_diag;     /* the command under way is SHOW WARNINGS, GET DIAGNOSTICS... */
    uint64_t last_insert_id; /* the last id one of its inserts generated (LAST_INSERT_ID()) */
    bool kill_wait;          /* its KILL's verdict is on its way from another worker */
    bool query_killed;       /* KILL QUERY while its command waited for a connection */
    uint32_t kill_id;        /* the session its KILL named */
    bool response_done;
    bool infile;
    bool sha2_fast;
    enum auth_step auth;
    bool tls;           /* the client's socket speaks TLS (after its SSLRequest) */
    bool compress_next; /* CLIENT_COMPRESS: compressed from the packet after the login's OK */
    bool compressed;    /* ... and so it is now */
    bool tls_start;     /* its SSLRequest came: TLS starts with the bytes after it */
    bool buried;
    bool touched;      /* ringsql has sent the backend something for this session */
    bool reset_first;  /* COM_CHANGE_USER on the same backend: reset it before binding */
    bool client_reset; /* the client's COM_RESET_CONNECTION is being applied (SS_BIND) */
    bool xa;           /* it ran an XA statement: its connection is closed, not reset */
    bool relay;
    /* It may have left state that only COM_RESET_CONNECTION clears (a statement the server
     * does not report, a reported change, diagnostics, an insert id): its connection is reset
     * when it lets it go. A session that left none gives it back as it is. */
    bool state_left;
    /* The client named session_track_state_change: the state-change entries transaction
     * pooling turned on reach it (else the last OK of a response loses them). */
    bool client_tracks_state;
    uint64_t last_len;
    /* the response packet the tracker saw last, its length */ /* s->out holds what the server
                                                                  said unasked before it closed
                                                                */
    struct change_user_undo *cu_undo; /* a COM_CHANGE_USER under way (NULL: none) */
    bool sets_global;     /* the command under way is a SET GLOBAL (proxy.globals_epoch) */
    bool txn;             /* pool.mode transaction: the backend is bound per transaction */
    bool pinned;          /* txn, but the session left state on its backend: bound until it ends */
    bool bind_for_cmd;    /* txn: binding for the command held in s->in, not for a login */
    bool db_sent;         /* the bind sent COM_INIT_DB: the backend's database once it is OK */
    struct deadline wait; /* SS_WAIT: in w->pool_waiters, until timeouts.pool_wait */
    bool login_wait;      /* SS_WAIT for a login (its database to check), not a command */
    struct __kernel_timespec wait_ts;
    uint64_t login_deadline_ms; /* accept + timeouts.handshake: for the whole login */
    bool resp_started;          /* some of the current command's response reached the client */
    uint8_t cmd_seq;            /* sequence id of the current command's first packet */
    /* The client reads another response layout than its backend writes: responses go
     * through protocol/xlat.h. Without CACHE_METADATA (the backend with it) the session
     * keeps each statement's column definitions to put back those the server leaves out. */
    bool xlat;
    bool keep_meta;
    uint32_t exec_stmt; /* the COM_STMT_EXECUTE being answered */
    struct stmt_meta_cache meta;
    /* Transaction pooling's prepared statements (session_stmt.c): the client's ids, the
     * statement whose COM_STMT_PREPARE is on its way (its id given at the answer), the one a
     * bind step prepares again, the client id of the statement command under way, and
     * whether stmt_check_command() passed the next packet. */
    struct stmt_ids stmts;
    struct stmt_text *preparing;
    struct stmt_text *step_prepare;
    uint32_t cmd_stmt;
    bool stmt_checked;
    enum bind_step bind;
    uint64_t server_caps; /* offered in the greeting */
    uint64_t caps;        /* negotiated with the client */
    uint8_t charset;
    uint8_t seq; /* next sequence id ringsql sends during login */
    uint8_t scramble[PROTO_SCRAMBLE_LEN];
    uint8_t nonce[32]; /* client_ed25519's: the scramble and 12 more random bytes */
    char peer[64];
    char user_name[80];
    char db[SESSION_DB_CAP];
    size_t db_len;
    struct rbuf in;
    struct framer fr;
    struct deadline dl; /* on w->deadlines[dl_kind] while its receive runs under a timeout */
    uint8_t dl_kind;
    bool timed_out; /* its deadline passed: the receive's cancellation is a timeout */
    uint32_t out_len, out_sent;
    uint8_t out[SESSION_OUT_CAP];
    uint8_t head[SESSION_HEAD_CAP];
};

/* What every event line of a session says first: worker, session id, client address, the
 * user it logged in as (or tried to) and the backend it is bound to. */
struct log_ctx {
    char text[320];
};

/* session.c */
const char *peer(struct session *s);
/* This worker's session of that id, or NULL. */
struct session *session_find(struct worker *w, uint64_t id);
const char *ctx(struct session *s, struct log_ctx *c);
void set_state(struct session *s, enum session_state to);
struct session *session_alloc(struct worker *w);
void login_head_drop(struct session *s);
void maybe_free(struct session *s);
/* Forgets the session's prepared statements (its end, COM_RESET_CONNECTION, COM_CHANGE_USER). */
void stmt_session_clear(struct session *s);
void give_back_untouched(struct session *s);
void stop_waiting(struct session *s);
void unbind(struct session *s, bool clean);
void close_session(struct session *s, bool clean, const char *why);
void say_shutdown(struct session *s);
void arm_client_recv(struct session *s);
void send_own(struct session *s);
void send_own_then_recv(struct session *s);
/* The login's OK is out: the client's next bytes are compressed (false: the session ended). */
bool start_compression(struct session *s);
void reject(struct session *s, uint16_t code, const char *sqlstate, const char *msg);
void answer_command(struct session *s, uint8_t seq, uint16_t code, const char *state,
                    const char *msg);
void on_client_timeout(struct session *s);
/* Watches the client for a hang-up while its command runs or its response streams (once per
 * session: it stays armed until the client hangs up or the session ends). */
void watch_client_hup(struct session *s);

/* session_txn.c */
void pin(struct session *s, const char *why);
unsigned command_facts(struct session *s, const uint8_t *head, size_t head_len, uint64_t len);
bool command_pins(uint8_t command, unsigned facts);
bool command_may_change_db(uint8_t command, unsigned facts);
bool needs_backend(const struct session *s);
bool insert_id_is_another(const struct session *s);
void release_if_free(struct session *s);
/* The response just walked ends in an OK whose state-change entry the client did not ask for
 * (ringsql turned session tracking on): the entry is cut from the buffer. */
void strip_state_change(struct session *s);

/* session_stmt.c */
/* Before the command at s->in.scan (whole or its first bytes) is walked, with the session
 * idle between packets: see enum stmt_check. */
enum stmt_check stmt_check_command(struct session *s);
/* The bind step: closes the connection's evicted statements and prepares the held command's
 * statement where it lacks it. 1: sent (the answer is the tracker's), 0: nothing to do, or
 * -errno. */
int stmt_step_send(struct session *s);
/* The step's answer came (ok: the statement is prepared there). */
void stmt_step_done(struct session *s, bool ok);
/* The client's COM_STMT_PREPARE of text goes to the connection. Returns 0 or -ENOMEM. */
int stmt_prepare_forwarded(struct session *s, const uint8_t *text, size_t len, unsigned facts);
/* Its answer's first packet (payload, NULL when not in one piece): the client's id in it. */
int stmt_prepare_answered(struct session *s, uint8_t *payload);
/* What the text of the statement under way says (PROTO_QF_*). */
unsigned stmt_exec_facts(struct session *s);

/* session_route.c */
bool take_backend(struct session *s, uint32_t user);
/* Every backend that serves t is down (or none serves it): why, for the client's ERR. */
bool backend_down_msg(struct worker *w, enum target t, char *msg, size_t cap);
/* split: where the command held in s->in goes. */
enum target command_target(struct session *s);
/* A new session of route (cfg->routes): where its binds go, and whether it can be served at
 * all (false: refused, every backend it needs is down, or none is known yet). */
bool admit_session(struct session *s, uint32_t route);
bool connection_in_sight(struct worker *w, uint32_t user, enum target t);
/* Why user's pool has no connection to give (counted as a rejection): the ERR's code, its SQL
 * state in *state and the message in msg. */
uint16_t no_backend_error(struct session *s, uint32_t user, char *msg, size_t cap,
                          const char **state);
void reject_no_backend(struct session *s, uint32_t user);

/* session_bind.c */
bool layout_known(struct session *s, uint64_t backend_caps);
void bind_for_login(struct session *s);
void send_login_ok(struct session *s);
void bind_data(struct session *s);
bool wait_for_backend(struct session *s);
void login_ok(struct session *s);
void reset_for_client(struct session *s, uint8_t seq);
void bind_for_command(struct session *s);
/* The held statement command needs its statement prepared on the bound connection first. */
void bind_stmt_first(struct session *s);

/* session_kill.c */
void on_kill(struct session *s, uint8_t seq, uint32_t id, bool query_only);
/* A COM_PROCESS_KILL, or a COM_QUERY that may be a KILL, from the client (head: its payload,
 * whole: all of it is in head and unsent): 1 answered here, -EPROTO, or 0 to forward it (not
 * a KILL, or a server thread id's in session pooling). */
int kill_command(struct session *s, const uint8_t *head, size_t head_len, uint64_t len, bool whole,
                 uint8_t seq);

/* session_auth.c */
/* Fills out with a fresh 20-byte scramble (7-bit, no NUL). */
void make_scramble(struct worker *w, uint8_t *out);
void authenticate(struct session *s, struct proto_bytes user, struct proto_bytes auth,
                  struct proto_bytes plugin);
/* The client's answer to an AuthSwitchRequest or AuthMoreData (s->auth says which). */
void auth_reply(struct session *s, const uint8_t *p, size_t len, uint8_t seq);

/* session_login.c */
void greet(struct session *s);
/* The client's SSLRequest was read from s->in: TLS on its socket from the next byte on. */
void start_tls(struct session *s);
void on_change_user(struct session *s, const uint8_t *p, size_t len, uint8_t seq);
int login_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq);
