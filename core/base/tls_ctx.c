/* tls_ctx: see tls_ctx.h. */
#include "core/base/tls_ctx.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/sha2_rsa.h"

void tls_ctx_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char text[200] = "unknown error";
    if (e)
        ERR_error_string_n(e, text, sizeof text);
    snprintf(err, errlen, "%s: %s", what, text);
    ERR_clear_error();
}

static int min_version(enum cfg_tls_version v)
{
    return v == CFG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

SSL_CTX *tls_ctx_server(const struct cfg_tls *t, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_ctx_error(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, min_version(t->min_version));
    /* Sessions are not resumed: a MySQL client reconnects rarely, and a cache shared by the
     * workers would need a lock. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    const char *step = "tls.cert";
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
        goto fail;
    step = "tls.key";
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)
        goto fail;
    step = "tls.key (does not match tls.cert)";
    if (SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    if (t->ca) {
        step = "tls.ca";
        if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1)
            goto fail;
        /* A client certificate is asked for and, when sent, must chain to the CA. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
fail:
    tls_ctx_error(err, errlen, step);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_ctx_backend(const struct cfg_backend_tls *t, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_ctx_error(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const char *step = "tls.ca";
    if (t->mode >= CFG_BTLS_VERIFY_CA) {
        int ok = t->ca ? SSL_CTX_load_verify_locations(ctx, t->ca, NULL)
                       : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1)
            goto fail;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (t->cert) {
        step = "tls.cert";
        if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
            goto fail;
        step = "tls.key";
        if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)
            goto fail;
    }
    return ctx;
fail:
    tls_ctx_error(err, errlen, step);
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_ctx_rsa(const struct cfg *cfg, EVP_PKEY **key, char **pem, char *err, size_t errlen)
{
    bool need = false;
    for (size_t i = 0; i < cfg->nusers; i++)
        need |= cfg->users[i].password && cfg_password_is_sha2_crypt(cfg->users[i].password);
    if (!need || *key)
        return 0;
    EVP_PKEY *k;
    char text[2048];
    int rc = proto_rsa_key_new(&k, 2048);
    if (rc < 0) {
        snprintf(err, errlen, "cannot make an RSA key: %s", strerror(-rc));
        return rc;
    }
    size_t n = proto_rsa_public_pem(k, text, sizeof text);
    char *copy = n ? strdup(text) : NULL;
    if (!copy) {
        EVP_PKEY_free(k);
        snprintf(err, errlen, "cannot write the RSA public key");
        return -ENOMEM;
    }
    *key = k;
    *pem = copy;
    return 0;
}
