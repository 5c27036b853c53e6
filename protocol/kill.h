/* kill: what a COM_QUERY's text says about KILL. In a pooled mode a client's KILL names a
 * ringsql session (the thread id of ringsql's greeting), never a backend thread, so ringsql
 * answers it itself; it must find every KILL statement a text holds, or the server would
 * read a session id as one of its thread ids and kill another client's query.
 *
 *   KILL [HARD | SOFT] [CONNECTION | QUERY] id [;]   the whole text: PROTO_KILL_ONE
 *   KILL USER ..., KILL QUERY ID ..., KILL with an expression, a KILL among other
 *   statements (after a ';')                         PROTO_KILL_OTHER
 *   no statement starts with KILL                    PROTO_KILL_NONE */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_kill_kind { PROTO_KILL_NONE, PROTO_KILL_ONE, PROTO_KILL_OTHER };

struct proto_kill {
    uint32_t id;
    bool query_only; /* KILL QUERY: the statement, not the connection */
};

/* sql: a COM_QUERY's text (without the command byte). */
enum proto_kill_kind proto_kill_parse(const uint8_t *sql, size_t len, struct proto_kill *out);
