/* prom: writes the Prometheus text exposition format (version 0.0.4) into a fixed buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_buf {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow; /* set once something did not fit; nothing more is written */
};

/* "# HELP" and "# TYPE" lines, once per metric family; type is "counter" or "gauge". */
void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help);

/* One sample: name{k1="v1",k2="v2"} value. labels is NULL or a NULL-terminated list of
 * key, value, key, value...; values are escaped as the format requires. */
void prom_sample(struct prom_buf *b, const char *name, const char *const *labels, uint64_t value);
