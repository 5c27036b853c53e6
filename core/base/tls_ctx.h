/* tls_ctx: OpenSSL contexts built from the config: the one clients' TLS sessions come from
 * (tls:) and a backend's (backends[].tls). Built by the main and maintenance threads; an
 * SSL_CTX is reference counted and safe to share, so workers hold their own reference. */
#pragma once

#include <openssl/ssl.h>
#include <stddef.h>

#include "config/config.h"

/* The context for clients' sessions, or NULL with why in err (a file OpenSSL cannot read, a
 * key that does not match its certificate). */
SSL_CTX *tls_ctx_server(const struct cfg_tls *t, char *err, size_t errlen);
/* The context a backend's connections use (mode above disabled), or NULL with why in err. */
SSL_CTX *tls_ctx_backend(const struct cfg_backend_tls *t, char *err, size_t errlen);
/* caching_sha2_password's RSA key (full authentication without TLS), made when one of cfg's
 * users has a password stored as its hash and *key is still NULL; *pem gets its public half.
 * 0, or -errno with err written. */
int tls_ctx_rsa(const struct cfg *cfg, EVP_PKEY **key, char **pem, char *err, size_t errlen);
/* OpenSSL's last error as text (and its queue cleared), after what (a step's name). */
void tls_ctx_error(char *err, size_t errlen, const char *what);
