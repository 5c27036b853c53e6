/* pool-exhausted: more clients than pool slots connect at once and hold what they get.
 * Reports how many got in, the errors by code (ringsql must answer 1040), how long a
 * rejection took, and that nothing hung (every attempt ended within the client timeout). */
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/loadgen.h"

struct attempt {
    const struct lg_options *o;
    pthread_barrier_t *all_tried;
    double seconds;
    unsigned err;
};

static void *attempt_run(void *arg)
{
    struct attempt *a = arg;
    mysql_thread_init();
    double t0 = lg_now();
    MYSQL *m = lg_connect(a->o, &a->err);
    a->seconds = lg_now() - t0;
    /* Hold the connection until every client has tried, so the pool stays exhausted. */
    pthread_barrier_wait(a->all_tried);
    if (m)
        mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int lg_pool_exhausted(const struct lg_options *o)
{
    struct attempt *att = calloc(o->clients, sizeof *att);
    pthread_t *ids = calloc(o->clients, sizeof *ids);
    double *reject_s = calloc(o->clients, sizeof *reject_s);
    if (!att || !ids || !reject_s)
        return 1;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, o->clients);
    for (unsigned i = 0; i < o->clients; i++) {
        att[i] = (struct attempt){.o = o, .all_tried = &barrier};
        pthread_create(&ids[i], NULL, attempt_run, &att[i]);
    }
    unsigned admitted = 0, rejected = 0;
    struct lg_errors errors = {0};
    double slowest = 0;
    for (unsigned i = 0; i < o->clients; i++) {
        pthread_join(ids[i], NULL);
        if (att[i].seconds > slowest)
            slowest = att[i].seconds;
        if (!att[i].err) {
            admitted++;
            continue;
        }
        lg_errors_add(&errors, att[i].err);
        reject_s[rejected++] = att[i].seconds;
    }
    pthread_barrier_destroy(&barrier);
    qsort(reject_s, rejected, sizeof *reject_s, cmp_double);

    printf("{\"workload\":\"pool-exhausted\",\"target\":\"%s\",\"clients\":%u,\"admitted\":%u,"
           "\"rejected\":%u,\"slowest_attempt_ms\":%.2f,",
           o->target, o->clients, admitted, rejected, slowest * 1e3);
    if (rejected)
        printf("\"reject_p50_ms\":%.3f,\"reject_p95_ms\":%.3f,", reject_s[rejected / 2] * 1e3,
               reject_s[rejected * 95 / 100] * 1e3);
    lg_errors_print_json(&errors);
    printf("}\n");
    free(att);
    free(ids);
    free(reject_s);
    return 0;
}
