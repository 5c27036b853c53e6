/* liveness: what the maintenance thread says to an idle backend socket a worker handed it.
 * Blocking calls bounded by a timeout: never for a worker. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Sends COM_QUIT (best effort) and closes fd. */
void liveness_quit(int fd);
/* Sends COM_PING and waits at most timeout_ms for its OK. Returns 0, or -errno with a
 * sentence in err. The socket is left open either way. */
int liveness_ping(int fd, uint64_t timeout_ms, char *err, size_t errlen);
