/* ringsql-loadgen: the workloads sysbench cannot run (connect storm, idle scale, pool
 * exhaustion), against any MySQL-protocol address. Bounded in count and time; prints one
 * JSON line of results per run on stdout, progress on stderr. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct lg_options {
    const char *host;
    unsigned port;
    const char *user;
    const char *password;
    const char *database; /* may be NULL */
    const char *target;   /* a label for the results ("direct", "ringsql", ...) */
    unsigned clients;     /* concurrent clients (threads or held connections) */
    double seconds;       /* how long a timed workload runs */
    uint64_t max_ops;     /* upper bound on operations, whatever the time */
    pid_t pid;            /* process to measure (CPU, RSS); 0 = none */
    const char *caps;     /* point-select-proto: the capability set (libmariadb, mysqlnd...) */
};

/* MySQL error codes seen, and how often (a small open-addressed table). */
#define LG_MAX_CODES 32
struct lg_errors {
    unsigned code[LG_MAX_CODES];
    uint64_t count[LG_MAX_CODES];
};

void lg_errors_add(struct lg_errors *e, unsigned code);
void lg_errors_merge(struct lg_errors *into, const struct lg_errors *from);
uint64_t lg_errors_total(const struct lg_errors *e);
/* Prints "\"errors\":{\"1040\":3,...}" (no leading comma). */
void lg_errors_print_json(const struct lg_errors *e);

double lg_now(void);
/* utime+stime of pid in seconds, or -1. */
double lg_proc_cpu_seconds(pid_t pid);
/* VmRSS of pid in KiB, or -1. */
long lg_proc_rss_kib(pid_t pid);

/* Opens one client connection (timeouts of a few seconds). Returns NULL and sets *err. */
struct st_mysql *lg_connect(const struct lg_options *o, unsigned *err);

int lg_connect_storm(const struct lg_options *o);
int lg_idle_scale(const struct lg_options *o);
int lg_pool_exhausted(const struct lg_options *o);
int lg_point_select_raw(const struct lg_options *o);
