/* tls: the config's TLS sections (config/tls.c), for config.c. Internal to config/. */
#pragma once

#include "config/loader.h"

/* The top-level tls: mapping into cfg->tls (t: struct cfg). */
void cfg_set_tls(struct loader *ld, const yaml_node_t *v, void *t);
/* A backend's tls: mapping (t: struct cfg_backend). */
void cfg_set_backend_tls(struct loader *ld, const yaml_node_t *v, void *t);
void cfg_tls_free(struct cfg *cfg);
