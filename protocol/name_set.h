/* name_set: a set of SQL names (ASCII case-insensitive, as MariaDB compares routine names),
 * built by one thread, then shared read-only by others and freed by the last holder. Here:
 * the stored functions the backends know, which a transaction-pooled statement that calls one
 * pins for (query_state.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct name_set;

/* An empty set with one reference, or NULL when memory ran out. */
struct name_set *name_set_new(void);

/* Adds a name (its bytes, case folded). False when memory ran out (the set is unchanged). Only
 * before the set is shared. */
bool name_set_add(struct name_set *set, const uint8_t *name, size_t len);

/* Adds every name of from. False when memory ran out. */
bool name_set_add_all(struct name_set *set, const struct name_set *from);

size_t name_set_count(const struct name_set *set);

/* Whether the set (NULL: empty) holds the name. */
bool name_set_has(const struct name_set *set, const uint8_t *name, size_t len);

/* Another holder (any thread); set may be NULL. Returns set. */
struct name_set *name_set_ref(struct name_set *set);

/* A holder lets go (any thread); the last one frees the set. NULL is ignored. */
void name_set_unref(struct name_set *set);
