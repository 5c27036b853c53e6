/* Scalar value syntax shared by the config loader: durations, addresses, level names. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cfg_parse_duration(const char *text, uint64_t *ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};

    if (!isdigit((unsigned char)text[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (n > UINT64_MAX / units[i].ms)
            return false;
        *ms = n * units[i].ms;
        return true;
    }
    return false;
}

static bool parse_port(const char *text, unsigned long min, uint16_t *port)
{
    if (!isdigit((unsigned char)text[0]) || strlen(text) > 5)
        return false;
    char *end;
    unsigned long n = strtoul(text, &end, 10);
    if (*end || n < min || n > 65535)
        return false;
    *port = (uint16_t)n;
    return true;
}

static bool parse_addr(const char *text, unsigned long min_port, struct cfg_addr *out)
{
    const char *host = text, *colon;
    size_t hostlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        host = text + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return false; /* a bare IPv6 address must be written in brackets */
        hostlen = (size_t)(colon - text);
    }
    if (hostlen == 0 || hostlen >= sizeof out->host)
        return false;
    if (!parse_port(colon + 1, min_port, &out->port))
        return false;
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    return true;
}

bool cfg_parse_addr(const char *text, struct cfg_addr *out)
{
    return parse_addr(text, 1, out);
}

bool cfg_parse_addr_port0(const char *text, struct cfg_addr *out)
{
    return parse_addr(text, 0, out);
}

const char *cfg_log_level_name(enum cfg_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (unsigned)level < sizeof names / sizeof names[0] ? names[level] : "?";
}

const struct cfg_user *cfg_find_user(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nusers; i++)
        if (strcmp(cfg->users[i].name, name) == 0)
            return &cfg->users[i];
    return NULL;
}

const struct cfg_backend *cfg_find_backend(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbackends; i++)
        if (strcmp(cfg->backends[i].name, name) == 0)
            return &cfg->backends[i];
    return NULL;
}

const char *cfg_addr_str(const struct cfg_addr *a, char *buf, size_t cap)
{
    if (a->unix_socket)
        snprintf(buf, cap, "unix:%s", a->host);
    else if (strchr(a->host, ':'))
        snprintf(buf, cap, "[%s]:%u", a->host, a->port);
    else
        snprintf(buf, cap, "%s:%u", a->host, a->port);
    return buf;
}
