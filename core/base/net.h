/* net: the one place that turns a configured address into a bound socket. */
#pragma once

#include <stdbool.h>

#include "config/config.h"

/* A TCP socket bound to addr (the first of its resolutions that binds), SOCK_CLOEXEC plus
 * sock_flags (e.g. SOCK_NONBLOCK), SO_REUSEADDR, TCP_NODELAY (the sockets it accepts have it
 * too) and SO_REUSEPORT when reuseport. Not yet listening. Returns the descriptor, or -errno. */
int net_bind(const struct cfg_addr *addr, int sock_flags, bool reuseport);
