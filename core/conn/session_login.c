/* session_login: greeting, HandshakeResponse, auth switch and COM_CHANGE_USER. */
#include "core/conn/session_int.h"

#include <errno.h>
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
     PROTO_CLIENT_COMPRESS | PROTO_CLIENT_ODBC | PROTO_CLIENT_INTERACTIVE |                        \
     PROTO_CLIENT_IGNORE_SIGPIPE | PROTO_CLIENT_SECURE_CONNECTION |                                \
     PROTO_CLIENT_MULTI_STATEMENTS | PROTO_CLIENT_PLUGIN_AUTH | PROTO_CLIENT_CONNECT_ATTRS |       \
     PROTO_CLIENT_PLUGIN_AUTH_LENENC_DATA | PROTO_CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS)
#define BACKEND_CAPS                                                                               \
    (PROTO_CLIENT_FOUND_ROWS | PROTO_CLIENT_LOCAL_FILES | PROTO_CLIENT_IGNORE_SPACE |              \
     PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS | PROTO_CLIENT_MULTI_RESULTS |           \
     PROTO_CLIENT_PS_MULTI_RESULTS | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF |     \
     PROTO_MARIADB_CLIENT_STMT_BULK_OPERATIONS | PROTO_XLAT_LAYOUT)

/* ---------- greeting and login ---------- */

/* The backend's capabilities, and DEPRECATE_EOF, which xlat adds for clients that ask. */
static uint64_t offered_caps(const struct worker *w)
{
    uint64_t backend = worker_known_backend(w)->caps;
    return SELF_CAPS | (backend & BACKEND_CAPS) | PROTO_CLIENT_DEPRECATE_EOF;
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
    const struct worker_backend_info *info = worker_known_backend(w);
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
    if (s->change_user_failures >= 3) {
        /* As MariaDB against password guessing (MDEV-3915): three refused per connection. */
        answer_command(s, seq, PROTO_ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command");
        return;
    }
    s->seq = proto_seq_next(seq);
    set_state(s, SS_LOGIN);
    s->login_deadline_ms = s->w->now_ms + s->w->cfg->timeouts.handshake_ms; /* a new login */
    if (proto_change_user_parse(p, len, s->caps, &cu) < 0) {
        reject(s, PROTO_ER_HANDSHAKE_ERROR, "08S01", "Bad COM_CHANGE_USER packet");
        return;
    }
    /* Kept for wrong credentials (without memory for it, they end the session). */
    struct change_user_undo *u = s->cu_undo ? s->cu_undo : malloc(sizeof *u);
    if (u) {
        *u = (struct change_user_undo){.user = s->user,
                                       .user_known = s->user_known,
                                       .charset = s->charset,
                                       .db_len = s->db_len};
        memcpy(u->user_name, s->user_name, sizeof u->user_name);
        memcpy(u->db, s->db, sizeof u->db);
    }
    s->cu_undo = u;
    if (set_db(s, cu.database) < 0)
        return;
    if (cu.charset > 0 && cu.charset <= UINT8_MAX)
        s->charset = (uint8_t)cu.charset;
    s->sha2_fast = false;
    s->reset_first = true;
    struct log_ctx c;
    log_info("session_change_user", "%s", ctx(s, &c)); /* user=: the one it changes from */
    authenticate(s, cu.user, cu.auth_response, cu.auth_plugin);
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
        auth_reply(s, head, head_len, seq);
    }
    login_head_drop(s);
    return 1;
}
