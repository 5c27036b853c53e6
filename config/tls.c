/* tls: the config's TLS sections: towards clients (top-level tls:) and towards each backend
 * (backends[].tls). Files are checked for readability here; OpenSSL parses them when the proxy
 * builds its contexts (at start and on SIGHUP), where a bad certificate is reported. */
#include "config/tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_file(struct loader *ld, const yaml_node_t *v, const char *key, char **out)
{
    ld_set_string(ld, v, key, out);
    if (*out && access(*out, R_OK) != 0)
        node_error(ld, v, "key '%s': cannot read '%s': %s", key, *out, strerror(errno));
}

static void set_cert(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.cert", &((struct cfg_tls *)t)->cert);
}

static void set_key(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.key", &((struct cfg_tls *)t)->key);
}

static void set_ca(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.ca", &((struct cfg_tls *)t)->ca);
}

static void set_min_version(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const char *const names[] = {[CFG_TLS_1_2] = "1.2", [CFG_TLS_1_3] = "1.3"};
    int ver = (int)((struct cfg_tls *)t)->min_version;
    ld_set_choice(ld, v, "tls.min_version", names, countof(names), &ver);
    ((struct cfg_tls *)t)->min_version = (enum cfg_tls_version)ver;
}

void cfg_set_tls(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"cert", true, set_cert},
        {"key", true, set_key},
        {"ca", false, set_ca},
        {"min_version", false, set_min_version},
    };
    struct cfg_tls *tls = &((struct cfg *)t)->tls;
    ld_walk_mapping(ld, v, "tls", specs, countof(specs), tls);
    tls->enabled = tls->cert && tls->key;
}

static const char *const mode_names[] = {
    [CFG_BTLS_DISABLED] = "disabled",
    [CFG_BTLS_PREFERRED] = "preferred",
    [CFG_BTLS_REQUIRED] = "required",
    [CFG_BTLS_VERIFY_CA] = "verify_ca",
    [CFG_BTLS_VERIFY_IDENTITY] = "verify_identity",
};

const char *cfg_backend_tls_mode_name(enum cfg_backend_tls_mode mode)
{
    return mode_names[mode];
}

static void set_mode(struct loader *ld, const yaml_node_t *v, void *t)
{
    int mode = (int)((struct cfg_backend_tls *)t)->mode;
    ld_set_choice(ld, v, "tls.mode", mode_names, countof(mode_names), &mode);
    ((struct cfg_backend_tls *)t)->mode = (enum cfg_backend_tls_mode)mode;
}

static void set_backend_ca(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.ca", &((struct cfg_backend_tls *)t)->ca);
}

static void set_backend_cert(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.cert", &((struct cfg_backend_tls *)t)->cert);
}

static void set_backend_key(struct loader *ld, const yaml_node_t *v, void *t)
{
    set_file(ld, v, "tls.key", &((struct cfg_backend_tls *)t)->key);
}

void cfg_set_backend_tls(struct loader *ld, const yaml_node_t *v, void *t)
{
    static const struct key_spec specs[] = {
        {"mode", true, set_mode},
        {"ca", false, set_backend_ca},
        {"cert", false, set_backend_cert},
        {"key", false, set_backend_key},
    };
    struct cfg_backend_tls *tls = &((struct cfg_backend *)t)->tls;
    ld_walk_mapping(ld, v, "tls", specs, countof(specs), tls);
    if (!tls->cert != !tls->key)
        node_error(ld, v, "tls: give both 'cert' and 'key' (a client certificate), or neither");
}

void cfg_tls_free(struct cfg *cfg)
{
    free(cfg->tls.cert);
    free(cfg->tls.key);
    free(cfg->tls.ca);
    for (size_t i = 0; i < cfg->nbackends; i++) {
        free(cfg->backends[i].tls.ca);
        free(cfg->backends[i].tls.cert);
        free(cfg->backends[i].tls.key);
    }
}
