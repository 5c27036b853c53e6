/* netio: blocking socket helpers (protocol/ does no I/O itself) for the load generator's
 * protocol-level client, the protocol tests and the capture tool. Packets are read and
 * written whole, header included. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/client.h"

/* TCP connect to host:port; -errno on failure. */
int net_connect(const char *host, unsigned port);
/* A listening socket on 127.0.0.1 with an ephemeral port (written to *port). */
int net_listen(unsigned *port);
int net_write_all(int fd, const void *p, size_t n);
/* Reads one physical packet (header included) into buf. Returns 0, -ETIMEDOUT when nothing
 * arrives within timeout_ms, -ECONNRESET on EOF, -EMSGSIZE when it does not fit. */
int net_read_packet(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms);
/* Logs in as l over fd: reads the handshake, answers it (and an auth switch), expects OK.
 * On success stores the negotiated caps and the OK's status flags. On failure writes a
 * sentence into err and returns -errno (-EACCES for an ERR from the server). */
int net_login(int fd, const struct proto_login *l, uint64_t *caps, uint16_t *status, char *err,
              size_t errlen);
