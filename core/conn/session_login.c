/* session_login: greeting, HandshakeResponse, auth switch and COM_CHANGE_USER. */
#include "core/conn/session_int.h"

#include <errno.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/conn/backend.h"
#include "core/conn/stmt_meta.h"
#include "core/io/io.h"
#include "core/worker/worker.h"
#include "protocol/auth.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/xlat.h"
#include "ringsql_version.h"

/* The longest login read: connect attributes up to 64 KiB (libmysqlclient's limit; Java and
 * Node drivers send hundreds of bytes routinely) plus user, auth data, database and plugin. */
enum { SESSION_LOGIN_MAX = 128 << 10 };

/* Capabilities ringsql handles itself whatever its backends negotiated; every other one is
 * offered to a client only when the backend connections have it. */
#define SELF_CAPS                                                                                  \
    (PROTO_CLIENT_LONG_FLAG | PROTO_CLIENT_CONNECT_WITH_DB | PROTO_CLIENT_NO_SCHEMA |              \
     PROTO_CLIENT_ODBC | PROTO_CLIENT_INTERACTIVE | PROTO_CLIENT_IGNORE_SIGPIPE |                  \
     PROTO_CLIENT_SECURE_CONNECTION | PROTO_CLIENT_MULTI_STATEMENTS | PROTO_CLIENT_PLUGIN_AUTH |   \
     PROTO_CLIENT_CONNECT_ATTRS | PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA |                           \
     PROTO_CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS)
#define BACKEND_CAPS                                                                               \
    (PROTO_CLIENT_FOUND_ROWS | PROTO_CLIENT_LOCAL_FILES | PROTO_CLIENT_IGNORE_SPACE |              \
     PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_MULTI_RESULTS |           \
     PROTO_CLIENT_PS_MULTI_RESULTS | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF |     \
     PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS | PROTO_XLAT_LAYOUT)

/* ---------- greeting and login ---------- */

/* The backend's capabilities, and DEPRECATE_EOF, which xlat adds for clients that ask. */
static uint64_t offered_caps(const struct worker *w)
{
    uint64_t backend = w->binfo[0].caps;
    return SELF_CAPS | (backend & BACKEND_CAPS) | PROTO_CLIENT_DEPRECATE_EOF;
}

static void make_scramble(struct worker *w, uint8_t *out)
{
    /* Drawn from OpenSSL a batch at a time: each RAND_bytes call checks for a fork with
     * getpid(), a system call. */
    if (w->random_left < PROTO_SCRAMBLE_LEN) {
        if (RAND_bytes(w->random, sizeof w->random) != 1) {
            for (size_t i = 0; i < sizeof w->random; i++)
                w->random[i] = (uint8_t)rand();
        }
        w->random_left = sizeof w->random;
    }
    w->random_left -= PROTO_SCRAMBLE_LEN;
    memcpy(out, w->random + w->random_left, PROTO_SCRAMBLE_LEN);
    explicit_bzero(w->random + w->random_left, PROTO_SCRAMBLE_LEN);
    /* Scrambles are sent NUL-terminated and read as 7-bit text by some clients. */
    for (int i = 0; i < PROTO_SCRAMBLE_LEN; i++) {
        out[i] &= 0x7f;
        if (out[i] == 0 || out[i] == '$')
            out[i] = (uint8_t)('a' + i);
    }
}

/* The framer's head while a login packet is read: grown on the heap (up to SESSION_LOGIN_MAX)
 * as a login longer than the session's own head arrives. */
static void login_head_grow(struct framer *fr, uint32_t need)
{
    struct session *s = (struct session *)((char *)fr - offsetof(struct session, fr));
    if (need > SESSION_LOGIN_MAX)
        return; /* the login is refused once it has arrived (login_packet) */
    uint32_t cap = fr->head_cap * 2 > need ? fr->head_cap * 2 : need;
    if (cap > SESSION_LOGIN_MAX)
        cap = SESSION_LOGIN_MAX;
    uint8_t *p = fr->head == s->head ? malloc(cap) : realloc(fr->head, cap);
    if (!p)
        return;
    if (fr->head == s->head)
        memcpy(p, s->head, fr->head_len);
    fr->head = p;
    fr->head_cap = cap;
}

void greet(struct session *s)
{
    struct worker *w = s->w;
    const struct worker_backend_info *info = &w->binfo[0];
    char version[160];
    /* MariaDB announces itself as "5.5.5-<version>" so that old MySQL clients parse it. */
    snprintf(version, sizeof version, "%s%s-ringsql-%s",
             strstr(info->version, "MariaDB") ? "5.5.5-" : "", info->version, RINGSQL_VERSION);
    make_scramble(s->w, s->scramble);
    s->server_caps = offered_caps(w);
    if (w->tls_ctx)
        s->server_caps |= PROTO_CLIENT_SSL;
    struct proto_handshake hs = {
        .protocol_version = 10,
        .server_version = {(const uint8_t *)version, strlen(version)},
        .conn_id = (uint32_t)s->id,
        .scramble_len = PROTO_SCRAMBLE_LEN,
        .caps = s->server_caps,
        .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
        .status = PROTO_SERVER_STATUS_AUTOCOMMIT,
        .auth_plugin = {(const uint8_t *)PROTO_PLUGIN_NATIVE, strlen(PROTO_PLUGIN_NATIVE)},
    };
    memcpy(hs.scramble, s->scramble, PROTO_SCRAMBLE_LEN);
    ssize_t n = proto_build_handshake(s->out, sizeof s->out, &hs);
    if (n < 0) {
        close_session(s, true, "could not build the handshake");
        return;
    }
    s->out_len = (uint32_t)n;
    s->seq = 1; /* the HandshakeResponse's */
    s->fr.grow = login_head_grow;
    set_state(s, SS_LOGIN);
    send_own_then_recv(s);
}

void start_tls(struct session *s)
{
    struct worker *w = s->w;
    s->tls_start = false;
    /* The client's ClientHello may have come in the same receive as its SSLRequest. */
    const uint8_t *pre = s->in.p + s->in.scan;
    size_t pre_len = s->in.len - s->in.scan;
    SSL *ssl = w->tls_ctx ? SSL_new(w->tls_ctx) : NULL;
    int rc = -ENOMEM;
    if (ssl) {
        SSL_set_accept_state(ssl);
        rc = io_tls_attach(w->io, s->fd, ssl, pre, pre_len);
    }
    worker_buf_release(w, &s->in);
    if (rc < 0) {
        SSL_free(ssl);
        close_session(s, true, "could not start TLS");
        return;
    }
    s->tls = true;
    STAT_INC(w->st.clients_tls);
    arm_client_recv(s); /* the handshake runs inside it; it ends with the HandshakeResponse */
}

static void deny(struct session *s, const char *user, bool with_password)
{
    char msg[256];
    snprintf(msg, sizeof msg, "Access denied for user '%s'@'%s' (using password: %s)", user,
             peer(s), with_password ? "YES" : "NO");
    STAT_INC(s->w->st.rejected[REJECT_AUTH]);
    /* Untouched (at login) straight back to available; used (COM_CHANGE_USER) reset first. */
    unbind(s, true);
    reject(s, PROTO_ER_ACCESS_DENIED, "28000", msg);
}

static void login_ok(struct session *s)
{
    uint32_t user = s->user;
    if (s->b && (s->b->pc.shard->retired || s->b->pc.shard->user != user)) {
        /* Bound to another user's shard (pre-bound at accept, or COM_CHANGE_USER): give it
         * back, untouched or through a reset. */
        unbind(s, true);
        s->reset_first = false;
    }
    if (s->txn) {
        /* A login, or a COM_CHANGE_USER (which resets the backend it keeps), starts clean. */
        s->pinned = false;
        s->diag_held = false;
        s->last_insert_id = 0;
        if (!s->b)
            s->reset_first = false;
        if (!s->b && s->db_len == 0) {
            /* Nothing to apply and nothing to check on a backend: bound at the first command. */
            if (layout_known(s, s->w->binfo[0].caps))
                send_login_ok(s);
            return;
        }
    }
    if (!s->b && !take_backend(s, user)) {
        (void)connection_in_sight(s->w, user); /* grows the shard for the next client */
        if (s->txn && wait_for_backend(s)) {
            s->login_wait = true;
            return;
        }
        reject_no_backend(s, user);
        return;
    }
    bind_for_login(s);
}

static bool bytes_eq(struct proto_bytes b, const char *str)
{
    size_t n = strlen(str);
    return b.len == n && memcmp(b.ptr, str, n) == 0;
}

/* The database a client asked for; refused when too long. */
static int set_db(struct session *s, struct proto_bytes db)
{
    if (db.len >= sizeof s->db) {
        reject(s, PROTO_ER_BAD_DB_ERROR, "42000", "Database name is too long");
        return -ENAMETOOLONG;
    }
    if (db.len > 0)
        memcpy(s->db, db.ptr, db.len);
    s->db_len = db.len;
    s->db[s->db_len] = '\0';
    return 0;
}

/* Checks the credentials of a HandshakeResponse or a COM_CHANGE_USER against the config:
 * mysql_native_password, or the caching_sha2_password fast path; any other plugin is asked
 * to switch to mysql_native_password. Binds on success. */
static void authenticate(struct session *s, struct proto_bytes user, struct proto_bytes auth,
                         struct proto_bytes plugin)
{
    struct worker *w = s->w;
    size_t ul = user.len < sizeof s->user_name - 1 ? user.len : sizeof s->user_name - 1;
    if (ul > 0)
        memcpy(s->user_name, user.ptr, ul);
    s->user_name[ul] = '\0';
    if (memchr(s->user_name, '\'', ul))
        s->user_name[0] = '\0';
    const struct cfg_user *cu = cfg_find_user(w->cfg, s->user_name);
    bool with_pw = auth.len > 0;
    if (!cu || user.len != ul) {
        deny(s, s->user_name, with_pw);
        return;
    }
    s->user = (uint32_t)(cu - w->cfg->users);
    s->user_known = true;
    if (cu->require_tls && !s->tls) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Access denied for user '%s'@'%s': this user must connect with TLS "
                 "(--ssl, ssl-mode=REQUIRED)",
                 s->user_name, peer(s));
        STAT_INC(s->w->st.rejected[REJECT_AUTH]);
        unbind(s, true);
        reject(s, PROTO_ER_ACCESS_DENIED, "28000", msg);
        return;
    }
    const struct worker_user *wu = &w->users[s->user];
    const uint8_t *stored = wu->empty ? NULL : wu->native;
    if (plugin.len == 0 || bytes_eq(plugin, PROTO_PLUGIN_NATIVE)) {
        if (!proto_native_verify(s->scramble, auth.ptr, auth.len, stored)) {
            deny(s, s->user_name, with_pw);
            return;
        }
        login_ok(s);
        return;
    }
    /* An empty sha2 answer from a user with a password: the client kept its scramble for the
     * plugin the greeting named (libmariadb does) and waits to be switched. */
    if (bytes_eq(plugin, PROTO_PLUGIN_CACHING_SHA2) &&
        (wu->empty || (wu->has_sha2 && auth.len > 0))) {
        if (!proto_sha2_verify(s->scramble, auth.ptr, auth.len, wu->empty ? NULL : wu->sha2)) {
            deny(s, s->user_name, with_pw);
            return;
        }
        s->sha2_fast = !wu->empty;
        login_ok(s);
        return;
    }
    /* Any other plugin (client_ed25519, mysql_clear_password, ...; sha2 when only a native hash
     * is configured): switch to native, as a server whose user has that plugin does. */
    ssize_t n = proto_build_auth_switch(s->out, sizeof s->out, s->seq, PROTO_PLUGIN_NATIVE,
                                        s->scramble, PROTO_SCRAMBLE_LEN);
    if (n < 0) {
        close_session(s, true, "could not build the auth switch");
        return;
    }
    s->seq = proto_seq_next(s->seq);
    s->out_len = (uint32_t)n;
    set_state(s, SS_AUTH_SWITCH);
    send_own_then_recv(s);
}

static void on_handshake_response(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    s->seq = proto_seq_next(seq);
    if (proto_is_ssl_request(p, len)) {
        if (!(s->server_caps & PROTO_CLIENT_SSL) || s->tls) {
            reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01",
                   s->tls ? "Bad handshake: a second SSLRequest"
                          : "ringsql has no TLS configured (no tls: in its config) and did not "
                            "offer it; connect without TLS (--ssl=0, ssl-mode=DISABLED)");
            return;
        }
        s->tls_start = true; /* once the framer is past it (session_forward.c) */
        return;
    }
    struct proto_handshake_response r;
    if (proto_handshake_response_parse(p, len, s->server_caps, &r) < 0) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
        return;
    }
    s->caps = proto_caps_negotiate(r.caps, s->server_caps);
    s->charset = r.charset;
    if (set_db(s, r.database) < 0)
        return;
    authenticate(s, r.user, r.auth_response, r.auth_plugin);
}

/* COM_CHANGE_USER from a logged-in client: a login without a new greeting (the answer is
 * checked against the session's first scramble, as servers do). The same user keeps its
 * backend, which is reset; another user's session swaps it for one of that user's pool. A
 * failure ends the session, as after a failed login. */
void on_change_user(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    struct proto_change_user cu;
    s->seq = proto_seq_next(seq);
    set_state(s, SS_LOGIN);
    s->login_deadline_ms = s->w->now_ms + s->w->cfg->timeouts.handshake_ms; /* a new login */
    if (proto_change_user_parse(p, len, s->caps, &cu) < 0) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", "Bad COM_CHANGE_USER packet");
        return;
    }
    if (set_db(s, cu.database) < 0)
        return;
    if (cu.charset > 0 && cu.charset <= UINT8_MAX)
        s->charset = (uint8_t)cu.charset;
    s->sha2_fast = false;
    s->reset_first = true;
    stmt_meta_clear(&s->meta); /* the backend is reset or swapped: its statements are gone */
    struct log_ctx c;
    log_info("session_change_user", "%s", ctx(s, &c)); /* user=: the one it changes from */
    authenticate(s, cu.user, cu.auth_response, cu.auth_plugin);
}

static void on_auth_switch_reply(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    const struct worker_user *wu = &s->w->users[s->user];
    s->seq = proto_seq_next(seq);
    if (!proto_native_verify(s->scramble, p, len, wu->empty ? NULL : wu->native)) {
        deny(s, s->user_name, len > 0);
        return;
    }
    login_ok(s);
}

int login_packet(void *ctx, const uint8_t *head, size_t head_len, uint64_t len, uint8_t seq)
{
    struct session *s = ctx;
    if (seq != s->seq) {
        s->seq = proto_seq_next(seq);
        reject(s, PROTO_ER_NET_PACKETS_OUT_OF_ORDER, "08S01", "Got packets out of order");
    } else if (head_len != len) {
        s->seq = proto_seq_next(seq);
        reject(s, PROTO_ER_NET_PACKET_TOO_LARGE, "08S01",
               "Got a packet bigger than ringsql reads at login (128 KiB)");
    } else if (s->state == SS_LOGIN) {
        on_handshake_response(s, head, head_len, seq);
    } else {
        on_auth_switch_reply(s, head, head_len, seq);
    }
    login_head_drop(s);
    return 1;
}
