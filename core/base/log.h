/* log: one line per event on stderr, logfmt ("ts=... level=info event=name key=value ...")
 * or, with log.format: json, the same pairs as one JSON object per line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

void log_init(enum cfg_log_level level, enum cfg_log_format format);
bool log_enabled(enum cfg_log_level level);

/* Turns a logfmt line into a JSON object (integers stay numbers, the rest become strings).
 * Returns the length written to out (no NUL), at most cap. */
size_t log_logfmt_to_json(const char *in, char *out, size_t cap);

/* Copies text that came from outside (a client's user name, a message quoting it) into out
 * so that it is safe inside a quoted log value: '"', '\\' and anything outside printable
 * ASCII become '?', so a client can neither end the value, forge a key, nor break the line.
 * Returns out. */
const char *log_safe(const char *text, char *out, size_t cap);

/* event is a short snake_case name; kv is a printf format of further key=value pairs
 * (quote values that may hold spaces: msg=\"%s\"). Never pass a password. */
__attribute__((format(printf, 3, 4))) void log_event(enum cfg_log_level level, const char *event,
                                                     const char *kv, ...);

#define log_error(event, ...) log_event(CFG_LOG_ERROR, event, __VA_ARGS__)
#define log_warn(event, ...) log_event(CFG_LOG_WARN, event, __VA_ARGS__)
#define log_info(event, ...) log_event(CFG_LOG_INFO, event, __VA_ARGS__)
#define log_debug(event, ...)                                                                      \
    do {                                                                                           \
        if (log_enabled(CFG_LOG_DEBUG))                                                            \
            log_event(CFG_LOG_DEBUG, event, __VA_ARGS__);                                          \
    } while (0)
