/* connection_id: CONNECTION_ID() in a statement's text, made to say the id the client was
 * greeted with (ringsql's session id, the one its KILL takes) rather than the thread id of
 * whichever backend connection runs the statement. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Rewrites, in place, each call CONNECTION_ID() (any case, spaces allowed before and inside
 * the parentheses; not in strings or comments) of sql into id's digits, padded with spaces to
 * the call's length, which never grows. Returns how many it rewrote. */
size_t proto_sql_rewrite_connection_id(uint8_t *sql, size_t len, uint32_t id);
