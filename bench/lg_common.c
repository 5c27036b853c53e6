/* Shared pieces of ringsql-loadgen: error tallies, /proc readings, connecting. */
#include <mysql.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/loadgen.h"

void lg_errors_add(struct lg_errors *e, unsigned code)
{
    for (int i = 0; i < LG_MAX_CODES; i++) {
        if (e->count[i] && e->code[i] != code)
            continue;
        e->code[i] = code;
        e->count[i]++;
        return;
    }
}

void lg_errors_merge(struct lg_errors *into, const struct lg_errors *from)
{
    for (int i = 0; i < LG_MAX_CODES; i++)
        for (uint64_t n = 0; n < from->count[i]; n++)
            lg_errors_add(into, from->code[i]);
}

uint64_t lg_errors_total(const struct lg_errors *e)
{
    uint64_t total = 0;
    for (int i = 0; i < LG_MAX_CODES; i++)
        total += e->count[i];
    return total;
}

void lg_errors_print_json(const struct lg_errors *e)
{
    printf("\"errors\":{");
    const char *sep = "";
    for (int i = 0; i < LG_MAX_CODES; i++) {
        if (!e->count[i])
            continue;
        printf("%s\"%u\":%llu", sep, e->code[i], (unsigned long long)e->count[i]);
        sep = ",";
    }
    printf("}");
}

double lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double lg_proc_cpu_seconds(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces: skip to the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long utime, stime;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long lg_proc_rss_kib(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

struct st_mysql *lg_connect(const struct lg_options *o, unsigned *err)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        *err = 2008; /* CR_OUT_OF_MEMORY */
        return NULL;
    }
    unsigned timeout = 5;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    if (!mysql_real_connect(m, o->host, o->user, o->password, o->database, o->port, NULL, 0)) {
        *err = mysql_errno(m);
        mysql_close(m);
        return NULL;
    }
    *err = 0;
    return m;
}
