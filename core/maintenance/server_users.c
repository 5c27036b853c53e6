/* server_users: the maintenance thread's half of a login by a user the config does not list
 * (auth.from_backend; the round trip is in core/base/user_lookup.h). The account's stored
 * hashes are read from the backend (mysql.global_priv, as auth.user), the client's
 * mysql_native_password answer is checked against each, and the one it matches gives
 * SHA1(password), with which ringsql logs in to the backend as the user: the server's own
 * verdict (host, lock, expiry, max_user_connections) is the last word, and that connection
 * becomes the user's first pooled one. */
#include "core/maintenance/server_users.h"

#include <errno.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/msg.h"
#include "core/base/user_lookup.h"
#include "core/maintenance/connect.h"
#include "protocol/auth.h"
#include "protocol/constants.h"

/* The refusal the client gets: ringsql's own words (code 1045 with message "": the server's
 * usual "Access denied ..." with the client's address, written by the worker). */
static void refuse(struct user_lookup *lu, uint16_t code, const char *state)
{
    lu->code = code;
    snprintf(lu->state, sizeof lu->state, "%s", state);
}

/* The account's row whose stored hash the client's answer matches: true with lu->account
 * filled. *other gets the plugin of a row ringsql cannot check (ed25519, ...), if any. */
static bool match_row(struct user_lookup *lu, MYSQL_ROW row, char *other, size_t other_len)
{
    const char *plugin = row[0] ? row[0] : "", *stored = row[1] ? row[1] : "";
    if (plugin[0] && strcmp(plugin, PROTO_PLUGIN_NATIVE) != 0) {
        snprintf(other, other_len, "%s", plugin);
        return false;
    }
    struct cfg_server_user *a = &lu->account;
    if (stored[0] == '\0') { /* no password: only an empty answer */
        if (lu->answer_len != 0)
            return false;
        a->password[0] = '\0';
        a->has_stage1 = false;
        return true;
    }
    uint8_t hash[PROTO_NATIVE_HASH_LEN];
    if (proto_native_hash_parse(stored, strlen(stored), hash) < 0 ||
        !proto_native_recover(lu->scramble, lu->answer, lu->answer_len, hash, a->stage1))
        return false;
    snprintf(a->password, sizeof a->password, "%s", stored);
    a->has_stage1 = true;
    return true;
}

/* The rows of user and of the anonymous accounts, its own first: from MariaDB's own table
 * (its mysql.user is a view, which stops working when a test drops its definer, mariadb.sys),
 * else from MySQL's mysql.user. NULL when neither can be read. */
static MYSQL_RES *read_rows(MYSQL *my, const char *user)
{
    static const char *const selects[] = {
        "SELECT JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string') "
        "FROM mysql.global_priv",
        "SELECT plugin, authentication_string FROM mysql.user",
    };
    char esc[2 * sizeof((struct user_lookup *)0)->user + 1], sql[sizeof esc + 256];
    mysql_real_escape_string(my, esc, user, (unsigned long)strlen(user));
    for (size_t i = 0; i < sizeof selects / sizeof selects[0]; i++) {
        int n = snprintf(sql, sizeof sql, "%s WHERE User IN ('%s', '') ORDER BY User = ''",
                         selects[i], esc);
        if (mysql_real_query(my, sql, (unsigned long)n) == 0)
            return mysql_store_result(my);
        if (mysql_errno(my) != ER_NO_SUCH_TABLE)
            return NULL;
    }
    return NULL;
}

/* Reads the account's rows, and then the anonymous accounts' (User ''), which the server
 * matches a name it has no account for with; 1 when one matched, 0 when none did (lu
 * refused), -1 when the server could not be asked (lu refused). Which row the server picks
 * (the most specific host first) its own login decides after. */
static int check_account(MYSQL *my, struct user_lookup *lu)
{
    MYSQL_RES *res = read_rows(my, lu->user);
    if (!res) {
        refuse(lu, PROTO_ER_ACCESS_DENIED, "28000");
        snprintf(lu->message, sizeof lu->message,
                 "ringsql could not read user '%s' from the server (auth.user needs SELECT on "
                 "mysql.global_priv, or on MySQL's mysql.user): %s",
                 lu->user, mysql_error(my));
        return -1;
    }
    char other[64] = "";
    bool found = false;
    MYSQL_ROW row;
    while (!found && (row = mysql_fetch_row(res)))
        found = match_row(lu, row, other, sizeof other);
    mysql_free_result(res);
    if (found) {
        snprintf(lu->account.name, sizeof lu->account.name, "%s", lu->user);
        return 1;
    }
    refuse(lu, PROTO_ER_ACCESS_DENIED, "28000");
    if (other[0])
        snprintf(lu->message, sizeof lu->message,
                 "Access denied for user '%s': ringsql checks server users of "
                 "mysql_native_password only, and this account uses %s; list it under users: "
                 "in ringsql's config",
                 lu->user, other);
    return 0;
}

/* The backend to check on: the first up (as this thread last saw), else the first. */
static size_t pick_backend(const struct cfg *cfg, const int8_t *state)
{
    for (size_t b = 0; b < cfg->nbackends; b++)
        if (state[b] == 1)
            return b;
    return 0;
}

/* Logs in to be as the account: the connection, or the server's refusal in lu. */
static struct msg *login_as(const struct cfg *cfg, const struct cfg_backend *be,
                            const struct backend_tls *bt, struct user_lookup *lu)
{
    struct cfg_user u = {.name = lu->user,
                         .backend_user = lu->user,
                         .from_server = true,
                         .has_stage1 = lu->account.has_stage1};
    memcpy(u.stage1, lu->account.stage1, sizeof u.stage1);
    struct msg *conn = calloc(1, sizeof *conn);
    char err[256] = "out of memory";
    int rc = conn ? connect_pooled(cfg, be, bt, &u, conn, err, sizeof err) : -ENOMEM;
    explicit_bzero(u.stage1, sizeof u.stage1);
    if (rc == 0)
        return conn;
    if (rc == -ECONNREFUSED && conn->code) {
        /* The server's ERR as it is, after "CODE " in err. */
        const char *text = strchr(err, ' ');
        refuse(lu, conn->code, conn->sqlstate);
        snprintf(lu->message, sizeof lu->message, "%s", text ? text + 1 : err);
    } else {
        refuse(lu, PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "08S01");
        snprintf(lu->message, sizeof lu->message,
                 "ringsql could not log in to backend '%s' to check the user: %s", be->name, err);
    }
    free(conn);
    return NULL;
}

void server_user_check(const struct cfg *cfg, uint32_t gen, const int8_t *state,
                       const struct backend_tls *tls, uint64_t globals_epoch,
                       struct user_lookup *lu)
{
    size_t bi = pick_backend(cfg, state);
    const struct cfg_backend *be = &cfg->backends[bi];
    struct cfg_user admin = {.name = cfg->auth.user,
                             .backend_user = cfg->auth.user,
                             .backend_password = cfg->auth.password};
    char err[256];
    MYSQL *my = cfg->auth.user ? connect_admin(cfg, be, &admin, err, sizeof err) : NULL;
    char safe[2][450];
    if (!my) {
        refuse(lu, PROTO_ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "08S01");
        snprintf(lu->message, sizeof lu->message,
                 "ringsql could not log in to backend '%s' as auth.user to check the user: %s",
                 be->name, cfg->auth.user ? err : "no auth.user");
        log_warn("server_user_check_failed", "user=\"%s\" backend=%s error=\"%s\"",
                 log_safe(lu->user, safe[0], sizeof safe[0]), be->name,
                 log_safe(lu->message, safe[1], sizeof safe[1]));
        return;
    }
    int found = check_account(my, lu);
    mysql_close(my);
    if (found == 1 && (lu->conn = login_as(cfg, be, tls ? &tls[bi] : NULL, lu))) {
        lu->conn->kind = MSG_BACKEND_NEW;
        lu->conn->worker = lu->worker;
        lu->conn->globals_epoch = globals_epoch;
        lu->backend = (uint32_t)bi;
        lu->gen = gen;
    }
    log_safe(lu->user, safe[0], sizeof safe[0]);
    if (lu->conn)
        log_info("server_user_checked", "user=\"%s\" backend=%s", safe[0], be->name);
    else
        log_info("server_user_refused", "user=\"%s\" backend=%s code=%u error=\"%s\"", safe[0],
                 be->name, lu->code,
                 log_safe(lu->message[0] ? lu->message : "no matching account", safe[1],
                          sizeof safe[1]));
}
