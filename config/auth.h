/* auth: the config's auth: section (config/auth.c), for config.c: logins of users the config
 * does not list, checked against the server's own accounts. Internal to config/. */
#pragma once

#include "config/loader.h"

/* The top-level auth: mapping (t: struct cfg). */
void cfg_set_auth(struct loader *ld, const yaml_node_t *v, void *t);
/* After every section: its defaults (the lookup user, the connection cap). */
void cfg_check_auth(struct loader *ld);
void cfg_auth_free(struct cfg *cfg);
