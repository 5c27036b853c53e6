/* connect: the maintenance thread's connections to a backend. Pooled ones go on to a worker,
 * which speaks raw protocol on the socket (and its TLS session); the others (KILL on the
 * server, the stored routines' names) stay with libmariadb. Blocking, each step bounded by
 * timeouts.connect. */
#pragma once

#include <mysql.h>
#include <openssl/ssl.h>
#include <stddef.h>

#include "config/config.h"
#include "core/base/msg.h"

/* A backend's TLS context (NULL when its tls.mode is disabled, or with why in err when it
 * could not be built: then its connections fail with that reason). */
struct backend_tls {
    SSL_CTX *ctx;
    char err[256];
};
/* The contexts of cfg's backends, [cfg->nbackends], built now (certificates read again on
 * each SIGHUP); NULL when out of memory. */
struct backend_tls *connect_tls_build(const struct cfg *cfg);
void connect_tls_free(struct backend_tls *t, size_t nbackends);

/* A libmariadb connection as user u, with TLS as be->tls says; NULL with err written. */
MYSQL *connect_admin(const struct cfg *cfg, const struct cfg_backend *be, const struct cfg_user *u,
                     char *err, size_t errlen);
/* A connection for the pool: out gets its socket (out->fd), its TLS session (out->ssl, when
 * be->tls.mode is not disabled; bt is the backend's context) and what the worker must know
 * of it (caps, charset, status, server connection id, version, scramble). 0, or -errno with
 * err written. */
int connect_pooled(const struct cfg *cfg, const struct cfg_backend *be,
                   const struct backend_tls *bt, const struct cfg_user *u, struct msg *out,
                   char *err, size_t errlen);
