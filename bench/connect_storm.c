/* connect-storm: each client thread loops connect, SELECT 1, quit, until the time or the
 * session budget runs out. Reports sessions per second and failures by error code. */
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/loadgen.h"

struct storm {
    const struct lg_options *o;
    double deadline;
    atomic_uint_fast64_t started;
};

struct storm_thread {
    struct storm *storm;
    uint64_t sessions;
    struct lg_errors errors;
};

static bool one_session(const struct lg_options *o, unsigned *err)
{
    MYSQL *m = lg_connect(o, err);
    if (!m)
        return false;
    bool ok = mysql_query(m, "SELECT 1") == 0;
    MYSQL_RES *res = ok ? mysql_store_result(m) : NULL;
    ok = ok && res && mysql_num_rows(res) == 1;
    if (res)
        mysql_free_result(res);
    *err = ok ? 0 : (mysql_errno(m) ? mysql_errno(m) : 2027 /* CR_MALFORMED_PACKET */);
    mysql_close(m);
    return ok;
}

static void *storm_run(void *arg)
{
    struct storm_thread *t = arg;
    struct storm *s = t->storm;
    mysql_thread_init();
    while (lg_now() < s->deadline && atomic_fetch_add(&s->started, 1) < s->o->max_ops) {
        unsigned err;
        if (one_session(s->o, &err))
            t->sessions++;
        else
            lg_errors_add(&t->errors, err);
    }
    mysql_thread_end();
    return NULL;
}

int lg_connect_storm(const struct lg_options *o)
{
    struct storm s = {.o = o};
    struct storm_thread *threads = calloc(o->clients, sizeof *threads);
    pthread_t *ids = calloc(o->clients, sizeof *ids);
    if (!threads || !ids)
        return 1;
    double cpu0 = lg_proc_cpu_seconds(o->pid), t0 = lg_now();
    s.deadline = t0 + o->seconds;
    for (unsigned i = 0; i < o->clients; i++) {
        threads[i].storm = &s;
        pthread_create(&ids[i], NULL, storm_run, &threads[i]);
    }
    uint64_t sessions = 0;
    struct lg_errors errors = {0};
    for (unsigned i = 0; i < o->clients; i++) {
        pthread_join(ids[i], NULL);
        sessions += threads[i].sessions;
        lg_errors_merge(&errors, &threads[i].errors);
    }
    double elapsed = lg_now() - t0, cpu1 = lg_proc_cpu_seconds(o->pid);

    printf("{\"workload\":\"connect-storm\",\"target\":\"%s\",\"clients\":%u,\"seconds\":%.3f,"
           "\"sessions\":%llu,\"sessions_per_s\":%.1f,\"failures\":%llu,",
           o->target, o->clients, elapsed, (unsigned long long)sessions,
           (double)sessions / elapsed, (unsigned long long)lg_errors_total(&errors));
    if (cpu0 >= 0 && cpu1 >= 0 && sessions)
        printf("\"cpu_us_per_session\":%.2f,", (cpu1 - cpu0) * 1e6 / (double)sessions);
    lg_errors_print_json(&errors);
    printf("}\n");
    free(threads);
    free(ids);
    return 0;
}
