/* routines: the names of the stored functions a backend knows. Transaction pooling cannot see
 * what a stored function does (GET_LOCK, user variables) and pins a session whose statement
 * calls one (protocol/query_state.h); the maintenance thread fetches the names with this, as
 * each backend user, and tells every worker. */
#pragma once

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

struct name_set;

/* Adds to `into` every stored function my's user can see. False (err written) on failure. */
bool routines_fetch(MYSQL *my, struct name_set *into, char *err, size_t errlen);
