/* maintenance: the one thread that may block. It opens backend connections with libmariadb
 * (connect, authenticate, timeouts.connect), hands each socket to its worker, opens a
 * replacement for every connection a worker reports lost (stale, broken, dirty), and backs
 * off from a backend that does not answer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/base/msg.h"

struct proxy;
struct maintenance;

/* Starts the thread; it fills every shard once, then reports through ready_fd (an eventfd
 * it writes 1 to when at least one connection was opened, 2 when none could be). */
struct maintenance *maintenance_start(struct proxy *p, int ready_fd);
void maintenance_post(struct maintenance *m, struct msg *msg);
void maintenance_stop(struct maintenance *m);
