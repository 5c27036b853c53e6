#include "core/base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Atomic because a reload may change them while workers log. */
static _Atomic int log_level = CFG_LOG_INFO;
static _Atomic int log_format = CFG_LOG_LOGFMT;

void log_init(enum cfg_log_level level, enum cfg_log_format format)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
    atomic_store_explicit(&log_format, (int)format, memory_order_relaxed);
}

bool log_enabled(enum cfg_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
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

/* Appends s[0..n) to out as the inside of a JSON string. */
static size_t json_escape(char *out, size_t pos, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && pos + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    return pos;
}

static bool is_integer(const char *s, size_t n)
{
    size_t i = (n > 1 && s[0] == '-') ? 1 : 0;
    if (i == n || n > 19 || (s[i] == '0' && n > i + 1))
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

size_t log_logfmt_to_json(const char *in, char *out, size_t cap)
{
    size_t pos = 0;
    if (cap < 8)
        return 0;
    out[pos++] = '{';
    const char *p = in;
    while (*p && pos + 16 < cap) {
        while (*p == ' ')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t klen = (size_t)(p - key);
        if (!klen)
            break;
        const char *val = p;
        size_t vlen = 0;
        bool quoted = false;
        char unq[1024];
        if (*p == '=') {
            p++;
            if (*p == '"') { /* a quoted value: \" and \\ inside */
                quoted = true;
                p++;
                while (*p && *p != '"' && vlen < sizeof unq) {
                    if (*p == '\\' && p[1])
                        p++;
                    unq[vlen++] = *p++;
                }
                if (*p == '"')
                    p++;
                val = unq;
            } else {
                val = p;
                while (*p && *p != ' ')
                    p++;
                vlen = (size_t)(p - val);
            }
        }
        if (pos > 1)
            out[pos++] = ',';
        out[pos++] = '"';
        pos = json_escape(out, pos, cap, key, klen);
        out[pos++] = '"';
        out[pos++] = ':';
        if (!quoted && is_integer(val, vlen)) {
            pos = json_escape(out, pos, cap, val, vlen);
        } else {
            out[pos++] = '"';
            pos = json_escape(out, pos, cap, val, vlen);
            out[pos++] = '"';
        }
    }
    out[pos++] = '}';
    return pos;
}

const char *log_safe(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (; text && *text && n + 1 < cap; text++) {
        unsigned char c = (unsigned char)*text;
        out[n++] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : (char)c;
    }
    if (cap > 0)
        out[n] = '\0';
    return out;
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
    line[n] = '\0';
    if (atomic_load_explicit(&log_format, memory_order_relaxed) == CFG_LOG_JSON) {
        char json[4096];
        size_t len = log_logfmt_to_json(line, json, sizeof json - 1);
        json[len++] = '\n';
        fwrite(json, 1, len, stderr);
        return;
    }
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
