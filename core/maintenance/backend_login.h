/* backend_login: ringsql's own login to a backend over TLS (see backend_login.c). */
#pragma once

#include <openssl/ssl.h>
#include <stddef.h>

#include "config/config.h"
#include "core/base/msg.h"

/* Connects to be as u, TLS with ctx as be->tls.mode says (preferred: plaintext when the
 * server offers no TLS; ctx NULL: plaintext), and fills out as connect_pooled() does. 0, or -errno
 * with err; -ECONNREFUSED when the server answered with an ERR (its code and SQL state in
 * out->code and out->sqlstate). */
int backend_login(const struct cfg *cfg, const struct cfg_backend *be, SSL_CTX *ctx,
                  const struct cfg_user *u, struct msg *out, char *err, size_t errlen);
