#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum cfg_log_level log_level = CFG_LOG_INFO;

void log_init(enum cfg_log_level level)
{
    log_level = level;
}

bool log_enabled(enum cfg_log_level level)
{
    return level <= log_level;
}

static void format_time(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_event(enum cfg_log_level level, const char *event, const char *kv, ...)
{
    if (!log_enabled(level))
        return;
    /* One buffer and one write, so lines from several threads never interleave. */
    char line[2048], ts[40];
    format_time(ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s", ts, cfg_log_level_name(level),
                     event);
    if (n < 0)
        return;
    if (kv && *kv && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, kv);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, kv, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
