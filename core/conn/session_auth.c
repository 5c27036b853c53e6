/* session_auth: checking a login's credentials (a HandshakeResponse or a COM_CHANGE_USER)
 * against the config, and the exchanges a plugin needs on the way (SS_AUTH_SWITCH, s->auth):
 *   mysql_native_password      the scramble's answer against SHA1(SHA1(password))
 *   caching_sha2_password      the fast path against SHA256(SHA256(password)) when ringsql
 *                              knows it (a plaintext password, or a full authentication of this
 *                              user before on this worker: the cache MySQL keeps too); else
 *                              full authentication: AuthMoreData 0x04, then the password in
 *                              clear over TLS, or RSA-encrypted with ringsql's key (the client
 *                              asks for it with 0x02) without TLS
 *   client_ed25519             for a user stored as its public key: a switch to it with a
 *                              32-byte nonce, and the client's signature checked
 *   anything else              switched to mysql_native_password, or to caching_sha2_password
 *                              for a user stored as its hash ($A$005$...)
 * A user the config does not list, with auth.from_backend, answers mysql_native_password too,
 * and the maintenance thread checks the answer with the server's account (AUTH_LOOKUP, see
 * core/base/user_lookup.h); so does a server user ringsql learnt that way, every
 * auth.recheck_after and whenever its answer does not match the hash ringsql keeps. */
#include "core/conn/session_int.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/msg.h"
#include "core/base/post.h"
#include "core/base/shared.h"
#include "core/base/user_lookup.h"
#include "core/worker/worker.h"
#include "protocol/auth.h"
#include "protocol/constants.h"
#include "protocol/ed25519.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/response.h"
#include "protocol/sha2_crypt.h"
#include "protocol/sha2_rsa.h"

void make_scramble(struct worker *w, uint8_t *out)
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

/* Wrong credentials in a COM_CHANGE_USER: as the server does, the ERR answers it and the
 * session goes on as the user it was, in its database (session variables stay, where the
 * server clears them). */
static void change_user_denied(struct session *s, uint16_t code, const char *state, const char *msg)
{
    struct change_user_undo *u = s->cu_undo;
    s->cu_undo = NULL;
    s->change_user_failures++;
    s->user = u->user;
    s->user_known = u->user_known;
    s->charset = u->charset;
    s->db_len = u->db_len;
    memcpy(s->user_name, u->user_name, sizeof s->user_name);
    memcpy(s->db, u->db, sizeof s->db);
    free(u);
    s->reset_first = false;
    struct log_ctx c;
    char safe[300];
    log_info("change_user_denied", "%s error=\"%s\"", ctx(s, &c), log_safe(msg, safe, sizeof safe));
    ssize_t n =
        proto_build_err(s->out, sizeof s->out, s->seq, s->caps, code, state, msg, strlen(msg));
    if (n < 0) {
        close_session(s, true, "could not build ERR");
        return;
    }
    s->out_len = (uint32_t)n;
    set_state(s, SS_IDLE);
    send_own(s);
}

/* A login or COM_CHANGE_USER refused with this ERR. */
static void refuse_login(struct session *s, uint16_t code, const char *state, const char *msg)
{
    STAT_INC(s->w->st.rejected[REJECT_AUTH]);
    if (s->cu_undo) {
        change_user_denied(s, code, state, msg);
        return;
    }
    /* Untouched (at login) straight back to available; used (COM_CHANGE_USER) reset first. */
    unbind(s, true);
    reject(s, code, state, msg);
}

static void deny(struct session *s, const char *user, bool with_password)
{
    char msg[256];
    snprintf(msg, sizeof msg, "Access denied for user '%s'@'%s' (using password: %s)", user,
             peer(s), with_password ? "YES" : "NO");
    refuse_login(s, PROTO_ER_ACCESS_DENIED, "28000", msg);
}

/* The maintenance thread checks s's answer (mysql_native_password, 0 or 20 bytes) with the
 * server's account; the session waits for the verdict (session_user_ready). */
static void look_up(struct session *s, const uint8_t *answer, size_t len)
{
    if (len != 0 && len != PROTO_NATIVE_HASH_LEN) {
        deny(s, s->user_name, len > 0);
        return;
    }
    struct user_lookup *lu = calloc(1, sizeof *lu);
    struct msg *m = lu ? calloc(1, sizeof *m) : NULL;
    if (!m) {
        free(lu);
        close_session(s, true, "out of memory for a user lookup");
        return;
    }
    *lu = (struct user_lookup){.worker = s->w->id, .session = s->id, .answer_len = (uint8_t)len};
    snprintf(lu->user, sizeof lu->user, "%s", s->user_name);
    memcpy(lu->scramble, s->scramble, sizeof lu->scramble);
    if (len > 0)
        memcpy(lu->answer, answer, len);
    *m = (struct msg){.kind = MSG_USER_LOOKUP, .fd = -1, .lookup = lu};
    s->auth = AUTH_LOOKUP;
    set_state(s, SS_AUTH_SWITCH);
    post_to_maintenance(s->w->proxy, m);
}

/* A server user's check: with the answer the client gave, if mysql_native_password's, else
 * after a switch to it. */
static void look_up_native(struct session *s, struct proto_bytes auth, struct proto_bytes plugin);

/* A wrong native answer: a server user's hash may have changed on the server since. */
static void native_mismatch(struct session *s, const uint8_t *answer, size_t len)
{
    if (s->user_known && s->w->users[s->user].cfg->from_server)
        look_up(s, answer, len);
    else
        deny(s, s->user_name, len > 0);
}

/* Whether a server user's login goes to the server to be checked: not since the last SIGHUP
 * on this worker, or longer ago than auth.recheck_after. */
static bool check_due(const struct worker *w, const struct worker_user *wu)
{
    return wu->checked_ms == 0 || w->now_ms - wu->checked_ms >= w->cfg->auth.recheck_after_ms;
}

void session_user_ready(struct worker *w, const struct user_lookup *lu)
{
    struct session *s = session_find(w, lu->session);
    if (!s || s->state != SS_AUTH_SWITCH || s->auth != AUTH_LOOKUP)
        return; /* gone meanwhile */
    if (lu->code != 0) {
        if (lu->code == PROTO_ER_ACCESS_DENIED && !lu->message[0])
            deny(s, s->user_name, lu->answer_len > 0);
        else
            refuse_login(s, lu->code, lu->state, lu->message);
        return;
    }
    const struct cfg_user *cu = cfg_find_user(w->cfg, s->user_name);
    const struct worker_user *wu = cu ? &w->users[cu - w->cfg->users] : NULL;
    if (!wu || !proto_native_verify(s->scramble, lu->answer, lu->answer_len,
                                    wu->empty ? NULL : wu->native)) {
        deny(s, s->user_name, lu->answer_len > 0);
        return;
    }
    s->user = (uint32_t)(cu - w->cfg->users);
    s->user_known = true;
    if (cu->from_server)
        w->users[s->user].checked_ms = w->now_ms;
    login_ok(s);
}

static bool bytes_eq(struct proto_bytes b, const char *str)
{
    size_t n = strlen(str);
    return b.len == n && memcmp(b.ptr, str, n) == 0;
}

/* s->out (an AuthSwitchRequest or AuthMoreData, n bytes or an error) goes out; the client's
 * answer is step's. */
static void ask(struct session *s, ssize_t n, enum auth_step step)
{
    if (n < 0) {
        close_session(s, true, "could not build an authentication packet");
        return;
    }
    s->seq = proto_seq_next(s->seq);
    s->out_len = (uint32_t)n;
    s->auth = step;
    set_state(s, SS_AUTH_SWITCH);
    send_own_then_recv(s);
}

static void switch_to(struct session *s, const char *plugin, enum auth_step step)
{
    ask(s,
        proto_build_auth_switch(s->out, sizeof s->out, s->seq, plugin, s->scramble,
                                PROTO_SCRAMBLE_LEN),
        step);
}

/* MariaDB's server switches an ed25519 user to its plugin with a 32-byte nonce. */
static void switch_to_ed25519(struct session *s)
{
    uint8_t more[PROTO_SCRAMBLE_LEN];
    make_scramble(s->w, more);
    memcpy(s->nonce, s->scramble, PROTO_SCRAMBLE_LEN);
    memcpy(s->nonce + PROTO_SCRAMBLE_LEN, more, sizeof s->nonce - PROTO_SCRAMBLE_LEN);
    ask(s,
        proto_build_auth_switch_exact(s->out, sizeof s->out, s->seq, PROTO_PLUGIN_ED25519, s->nonce,
                                      sizeof s->nonce),
        AUTH_ED25519);
}

static void more_data(struct session *s, const void *data, size_t len)
{
    ask(s, proto_build_auth_more_data(s->out, sizeof s->out, s->seq, data, len), AUTH_SHA2_FULL);
}

/* The password a full authentication brought, against what the config stores; a match also
 * fills the user's fast-path cache on this worker. */
static bool password_ok(struct worker_user *wu, const uint8_t *pw, size_t len)
{
    bool ok;
    if (wu->crypt_only) {
        ok = proto_sha2_crypt_verify(&wu->crypt, pw, len);
    } else {
        uint8_t h[PROTO_NATIVE_HASH_LEN];
        proto_native_hash(pw, len, h);
        ok = CRYPTO_memcmp(h, wu->native, sizeof h) == 0;
    }
    if (ok && !wu->has_sha2) {
        proto_sha2_hash(pw, len, wu->sha2);
        wu->has_sha2 = true;
    }
    return ok;
}

/* A caching_sha2_password answer to the scramble (32 bytes): the fast path, or full
 * authentication when ringsql does not know SHA256(SHA256(password)) yet or it does not
 * match. */
static void sha2_answer(struct session *s, struct proto_bytes auth)
{
    const struct worker_user *wu = &s->w->users[s->user];
    if (wu->empty && !proto_sha2_verify(s->scramble, auth.ptr, auth.len, NULL)) {
        deny(s, s->user_name, auth.len > 0);
        return;
    }
    if (wu->empty ||
        (wu->has_sha2 && proto_sha2_verify(s->scramble, auth.ptr, auth.len, wu->sha2))) {
        s->sha2_fast = !wu->empty;
        login_ok(s);
        return;
    }
    /* Not in the cache, or no match: full authentication, as MySQL does (a client that
     * scrambled with another nonce, PyMySQL after a switch, still gets in with its password). */
    if (auth.len != PROTO_SHA2_HASH_LEN) {
        deny(s, s->user_name, auth.len > 0);
        return;
    }
    uint8_t full = PROTO_CSHA2_PERFORM_FULL_AUTH;
    more_data(s, &full, 1);
}

/* The client's answer to "perform full authentication": its password (over TLS), a request
 * for ringsql's public key, or the password encrypted with it. */
static void sha2_full(struct session *s, const uint8_t *p, size_t len)
{
    struct worker_user *wu = &s->w->users[s->user];
    EVP_PKEY *key = s->w->proxy->rsa_key;
    uint8_t pw[PROTO_SHA2_CRYPT_MAX_PASSWORD + 1];
    size_t pw_len = 0;
    bool got = false;
    if (s->tls) {
        pw_len = len > 0 && p[len - 1] == 0 ? len - 1 : len;
        got = pw_len <= PROTO_SHA2_CRYPT_MAX_PASSWORD;
        if (got)
            memcpy(pw, p, pw_len);
    } else if (len == 1 && p[0] == PROTO_CSHA2_REQUEST_PUBLIC_KEY) {
        if (key) {
            const char *pem = s->w->proxy->rsa_pem;
            more_data(s, pem, strlen(pem));
            return;
        }
    } else if (key) {
        got = proto_sha2_rsa_password(key, p, len, s->scramble, pw, sizeof pw, &pw_len) == 0;
    }
    /* Anything else (a password in clear without TLS above all) is refused. */
    bool ok = got && password_ok(wu, pw, pw_len);
    explicit_bzero(pw, sizeof pw);
    if (ok)
        login_ok(s);
    else
        deny(s, s->user_name, true);
}

/* Checks the credentials of a HandshakeResponse or a COM_CHANGE_USER against the config.
 * Binds on success. */
void authenticate(struct session *s, struct proto_bytes user, struct proto_bytes auth,
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
    if (!cu && user.len == ul && ul > 0 && w->cfg->auth.from_backend) {
        s->user_known = false;
        look_up_native(s, auth, plugin);
        return;
    }
    if (!cu || user.len != ul) {
        deny(s, s->user_name, with_pw);
        return;
    }
    s->user = (uint32_t)(cu - w->cfg->users);
    s->user_known = true;
    if (cu->from_server && check_due(w, &w->users[s->user])) {
        look_up_native(s, auth, plugin);
        return;
    }
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
    bool sha2 = bytes_eq(plugin, PROTO_PLUGIN_CACHING_SHA2);
    if (wu->ed25519_only) {
        switch_to_ed25519(s); /* whatever the client answered the greeting with */
        return;
    }
    if (wu->crypt_only) {
        /* Only caching_sha2_password can check this user. */
        if (sha2 && auth.len == PROTO_SHA2_HASH_LEN)
            sha2_answer(s, auth);
        else
            switch_to(s, PROTO_PLUGIN_CACHING_SHA2, AUTH_SHA2);
        return;
    }
    if (plugin.len == 0 || bytes_eq(plugin, PROTO_PLUGIN_NATIVE)) {
        if (!proto_native_verify(s->scramble, auth.ptr, auth.len, wu->empty ? NULL : wu->native)) {
            native_mismatch(s, auth.ptr, auth.len);
            return;
        }
        login_ok(s);
        return;
    }
    /* An empty sha2 answer from a user with a password: the client kept its scramble for the
     * plugin the greeting named (libmariadb does) and waits to be switched. */
    if (sha2 && (wu->empty || (wu->has_sha2 && auth.len > 0))) {
        sha2_answer(s, auth);
        return;
    }
    /* Any other plugin (client_ed25519, mysql_clear_password, ...; sha2 when only a native hash
     * is configured): switch to native, as a server whose user has that plugin does. */
    switch_to(s, PROTO_PLUGIN_NATIVE, AUTH_NATIVE);
}

static void look_up_native(struct session *s, struct proto_bytes auth, struct proto_bytes plugin)
{
    if (plugin.len == 0 || bytes_eq(plugin, PROTO_PLUGIN_NATIVE))
        look_up(s, auth.ptr, auth.len);
    else
        switch_to(s, PROTO_PLUGIN_NATIVE, AUTH_LOOKUP_NATIVE);
}

void auth_reply(struct session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    const struct worker_user *wu = &s->w->users[s->user];
    s->seq = proto_seq_next(seq);
    struct proto_bytes answer = {p, len};
    switch (s->auth) {
    case AUTH_NATIVE:
        if (!proto_native_verify(s->scramble, p, len, wu->empty ? NULL : wu->native)) {
            native_mismatch(s, p, len);
            return;
        }
        login_ok(s);
        return;
    case AUTH_LOOKUP_NATIVE:
        look_up(s, p, len);
        return;
    case AUTH_LOOKUP:
        close_session(s, true, "the client spoke while its user was being checked");
        return;
    case AUTH_SHA2:
        sha2_answer(s, answer);
        return;
    case AUTH_SHA2_FULL:
        sha2_full(s, p, len);
        return;
    case AUTH_ED25519:
        if (!proto_ed25519_verify(wu->ed25519, s->nonce, sizeof s->nonce, p, len)) {
            deny(s, s->user_name, len > 0);
            return;
        }
        login_ok(s);
        return;
    }
}
