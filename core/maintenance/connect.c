/* connect: see connect.h. Plaintext pooled connections are opened by libmariadb and detached
 * from it; TLS ones by ringsql's own login (backend_login.c), since libmariadb's TLS session
 * cannot outlive its handle. */
#include "core/maintenance/connect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/tls_ctx.h"
#include "core/maintenance/backend_login.h"

/* libmariadb's TLS options for be->tls (admin connections). verify_ca checks the name too:
 * libmariadb verifies the chain only together with the host name. */
static void tls_options(MYSQL *my, const struct cfg_backend_tls *t)
{
    if (t->mode == CFG_BTLS_DISABLED)
        return;
    mysql_ssl_set(my, t->key, t->cert, t->ca, NULL, NULL);
    my_bool enforce = t->mode >= CFG_BTLS_REQUIRED;
    my_bool verify = t->mode >= CFG_BTLS_VERIFY_CA;
    mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

/* A libmariadb connection to backend be as user u (timeouts.connect for every step), or
 * NULL with err written. */
static MYSQL *connect_backend(const struct cfg *cfg, const struct cfg_backend *be,
                              const struct cfg_user *u, unsigned long flags, char *err,
                              size_t errlen)
{
    MYSQL *my = mysql_init(NULL);
    if (!my) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    unsigned timeout_s = (unsigned)((cfg->timeouts.connect_ms + 999) / 1000);
    if (timeout_s == 0)
        timeout_s = 1;
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
    mysql_optionsv(my, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
    mysql_optionsv(my, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (flags & CLIENT_LOCAL_FILES) {
        unsigned int on = 1;
        mysql_optionsv(my, MYSQL_OPT_LOCAL_INFILE, &on);
    }
    tls_options(my, &be->tls);
    bool unix_socket = be->addr.unix_socket; /* libmariadb: host "localhost" and the path */
    if (!mysql_real_connect(my, unix_socket ? "localhost" : be->addr.host, u->backend_user,
                            u->backend_password, NULL, be->addr.port,
                            unix_socket ? be->addr.host : NULL, flags)) {
        snprintf(err, errlen, "%u %s", mysql_errno(my), mysql_error(my));
        mysql_close(my);
        return NULL;
    }
    return my;
}

MYSQL *connect_admin(const struct cfg *cfg, const struct cfg_backend *be, const struct cfg_user *u,
                     char *err, size_t errlen)
{
    return connect_backend(cfg, be, u, 0, err, errlen);
}

struct backend_tls *connect_tls_build(const struct cfg *cfg)
{
    struct backend_tls *t = calloc(cfg->nbackends, sizeof *t);
    for (size_t i = 0; t && i < cfg->nbackends; i++) {
        const struct cfg_backend *be = &cfg->backends[i];
        if (be->tls.mode == CFG_BTLS_DISABLED)
            continue;
        t[i].ctx = tls_ctx_backend(&be->tls, t[i].err, sizeof t[i].err);
        if (!t[i].ctx)
            log_error("backend_tls_failed", "backend=%s error=\"%s\"", be->name, t[i].err);
    }
    return t;
}

void connect_tls_free(struct backend_tls *t, size_t nbackends)
{
    for (size_t i = 0; t && i < nbackends; i++)
        SSL_CTX_free(t[i].ctx);
    free(t);
}

int connect_pooled(const struct cfg *cfg, const struct cfg_backend *be,
                   const struct backend_tls *bt, const struct cfg_user *u, struct msg *out,
                   char *err, size_t errlen)
{
    if (be->tls.mode != CFG_BTLS_DISABLED) {
        if (!bt || !bt->ctx) {
            snprintf(err, errlen, "%s", bt ? bt->err : "out of memory for its TLS context");
            return -EPROTO;
        }
        return backend_login(cfg, be, bt->ctx, u, out, err, errlen);
    }
    /* libmariadb always asks for MariaDB's CACHE_METADATA, which transaction pooling must
     * not have (see backend_login.c): ringsql's own login leaves it out. It is also the one
     * that logs in with SHA1(password) alone (a server user's). */
    if (cfg->pool.mode == CFG_POOL_TRANSACTION || u->from_server)
        return backend_login(cfg, be, NULL, u, out, err, errlen);
    MYSQL *my = connect_backend(cfg, be, u,
                                CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |
                                    CLIENT_PS_MULTI_RESULTS | CLIENT_LOCAL_FILES,
                                err, errlen);
    if (!my)
        return -ECONNREFUSED;
    unsigned long client_caps = 0, server_caps = 0, ext_caps = 0;
    unsigned int status = 0;
    mariadb_get_infov(my, MARIADB_CONNECTION_CLIENT_CAPABILITIES, &client_caps);
    mariadb_get_infov(my, MARIADB_CONNECTION_SERVER_CAPABILITIES, &server_caps);
    mariadb_get_infov(my, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext_caps);
    mariadb_get_infov(my, MARIADB_CONNECTION_SERVER_STATUS, &status);
    uint64_t caps = client_caps & 0xffffffffu;
    /* libmariadb asks a MariaDB server for every extended capability it supports. */
    if (!(server_caps & CLIENT_MYSQL))
        caps |= ((uint64_t)ext_caps & (MARIADB_CLIENT_SUPPORTED_FLAGS >> 32)) << 32;
    MY_CHARSET_INFO cs;
    mysql_get_character_set_info(my, &cs);
    out->caps = caps;
    out->charset = (uint8_t)cs.number;
    out->status = (uint16_t)status;
    out->server_conn_id = (uint32_t)mysql_thread_id(my);
    snprintf(out->version, sizeof out->version, "%s", mysql_get_server_info(my));
    memcpy(out->scramble, my->scramble_buff, sizeof out->scramble);

    /* Hand-off: the worker keeps the TCP socket and speaks raw protocol on it. We keep a
     * duplicate and point libmariadb's descriptor at /dev/null, so that mysql_close() frees
     * the handle and "sends" its COM_QUIT into /dev/null instead of ending the session. */
    int fd = mysql_get_socket(my);
    int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (keep < 0 || devnull < 0 || dup2(devnull, fd) < 0) {
        snprintf(err, errlen, "could not detach the socket: %s", strerror(errno));
        if (keep >= 0)
            close(keep);
        if (devnull >= 0)
            close(devnull);
        mysql_close(my);
        return -EIO;
    }
    close(devnull);
    mysql_close(my);
    /* libmariadb made it non-blocking; the ring waits for readiness itself. */
    int fl = fcntl(keep, F_GETFL);
    if (fl >= 0)
        fcntl(keep, F_SETFL, fl & ~O_NONBLOCK);
    out->fd = keep;
    return 0;
}
