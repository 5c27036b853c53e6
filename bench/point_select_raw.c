/* point-select-proto: sysbench's point select (text protocol) from a client built on
 * protocol/ that negotiates the capabilities it is told (--caps), so that sessions whose
 * layout matches the backend's and sessions ringsql rewrites (protocol/xlat.h) are measured
 * with the same client, side by side. Each thread: one connection, then queries until the
 * time or the query budget runs out. Reports QPS and the proxy's CPU per query. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "bench/netio.h"
#include "protocol/constants.h"
#include "protocol/packet.h"
#include "protocol/tracker.h"

enum { TABLE_ROWS = 10000, READ_TIMEOUT_MS = 5000 };

/* Response-layout capabilities of the drivers this stands in for. */
#define BASE_CAPS                                                                                  \
    (PROTO_CLIENT_PROTOCOL_41 | PROTO_CLIENT_TRANSACTIONS |          \
     PROTO_CLIENT_SECURE_CONNECTION | PROTO_CLIENT_MULTI_RESULTS | PROTO_CLIENT_PLUGIN_AUTH)
static const struct {
    const char *name;
    uint64_t caps;
} cap_sets[] = {
    /* libmariadb (sysbench, the mariadb CLI): the backend connections' own layout. */
    {"libmariadb", BASE_CAPS | PROTO_CLIENT_SESSION_TRACK | PROTO_MARIADB_CLIENT_PROGRESS |
                       PROTO_MARIADB_CLIENT_EXTENDED_METADATA |
                       PROTO_MARIADB_CLIENT_CACHE_METADATA},
    /* PHP mysqlnd, PyMySQL, Go: no session tracking, none of MariaDB's extensions. */
    {"mysqlnd", BASE_CAPS},
    /* MySQL Connector/J style: session tracking and DEPRECATE_EOF. */
    {"deprecate-eof", BASE_CAPS | PROTO_CLIENT_SESSION_TRACK | PROTO_CLIENT_DEPRECATE_EOF},
};

struct raw {
    const struct lg_options *o;
    uint64_t caps;
    double deadline;
    atomic_uint_fast64_t started;
};

struct raw_thread {
    struct raw *raw;
    unsigned seed;
    uint64_t queries;
    struct lg_errors errors;
};

/* Sends one point select and reads its response whole; 0 or a MySQL/client error code. */
static unsigned one_query(int fd, uint64_t caps, struct proto_tracker *t, unsigned *seed)
{
    uint8_t pkt[256];
    int n = snprintf((char *)pkt + 5, sizeof pkt - 5, "SELECT c FROM sbtest1 WHERE id=%u",
                     1 + (unsigned)rand_r(seed) % TABLE_ROWS);
    pkt[0] = (uint8_t)(n + 1);
    pkt[1] = pkt[2] = pkt[3] = 0;
    pkt[4] = PROTO_COM_QUERY;
    if (net_write_all(fd, pkt, (size_t)n + 5) < 0)
        return 2013; /* CR_SERVER_LOST */
    proto_tracker_begin(t, PROTO_COM_QUERY, caps);
    static _Thread_local uint8_t buf[1 << 16];
    for (;;) {
        size_t len;
        if (net_read_packet(fd, buf, sizeof buf, &len, READ_TIMEOUT_MS) < 0)
            return 2013;
        int v = proto_tracker_feed_packet(t, buf, len);
        if (v < 0)
            return 2027; /* CR_MALFORMED_PACKET: not the layout this client negotiated */
        if (v == PROTO_TRACK_DONE)
            return t->error ? t->error_code : 0;
    }
}

static void *raw_run(void *arg)
{
    struct raw_thread *th = arg;
    struct raw *r = th->raw;
    const struct lg_options *o = r->o;
    int fd = net_connect(o->host, o->port);
    struct proto_login l = {.user = o->user, .password = o->password, .database = o->database,
                            .caps = r->caps, .charset = PROTO_CHARSET_UTF8MB4_GENERAL_CI,
                            .max_packet = 1 << 24};
    uint64_t caps;
    uint16_t status;
    char err[256];
    if (fd < 0 || net_login(fd, &l, &caps, &status, err, sizeof err) < 0) {
        lg_errors_add(&th->errors, 1045);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct proto_tracker t;
    proto_tracker_init(&t, status);
    while (lg_now() < r->deadline && atomic_fetch_add(&r->started, 1) < o->max_ops) {
        unsigned code = one_query(fd, caps, &t, &th->seed);
        if (code == 0) {
            th->queries++;
            continue;
        }
        lg_errors_add(&th->errors, code);
        if (code >= 2000)
            break; /* the connection is gone or out of step */
    }
    close(fd);
    return NULL;
}

int lg_point_select_raw(const struct lg_options *o)
{
    struct raw r = {.o = o};
    bool found = false;
    for (size_t i = 0; i < sizeof cap_sets / sizeof cap_sets[0]; i++) {
        if (strcmp(cap_sets[i].name, o->caps) == 0) {
            r.caps = cap_sets[i].caps;
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "ringsql-loadgen: unknown --caps '%s' (libmariadb, mysqlnd, "
                        "deprecate-eof)\n", o->caps);
        return 2;
    }
    struct raw_thread *threads = calloc(o->clients, sizeof *threads);
    pthread_t *ids = calloc(o->clients, sizeof *ids);
    if (!threads || !ids)
        return 1;
    double cpu0 = lg_proc_cpu_seconds(o->pid), t0 = lg_now();
    r.deadline = t0 + o->seconds;
    for (unsigned i = 0; i < o->clients; i++) {
        threads[i].raw = &r;
        threads[i].seed = i + 1;
        pthread_create(&ids[i], NULL, raw_run, &threads[i]);
    }
    uint64_t queries = 0;
    struct lg_errors errors = {0};
    for (unsigned i = 0; i < o->clients; i++) {
        pthread_join(ids[i], NULL);
        queries += threads[i].queries;
        lg_errors_merge(&errors, &threads[i].errors);
    }
    double elapsed = lg_now() - t0, cpu1 = lg_proc_cpu_seconds(o->pid);
    printf("{\"workload\":\"point-select-proto\",\"caps\":\"%s\",\"target\":\"%s\","
           "\"clients\":%u,\"seconds\":%.3f,\"queries\":%llu,\"qps\":%.1f,\"failures\":%llu,",
           o->caps, o->target, o->clients, elapsed, (unsigned long long)queries,
           (double)queries / elapsed, (unsigned long long)lg_errors_total(&errors));
    if (cpu0 >= 0 && cpu1 >= 0 && queries)
        printf("\"cpu_us_per_query\":%.2f,", (cpu1 - cpu0) * 1e6 / (double)queries);
    lg_errors_print_json(&errors);
    printf("}\n");
    free(threads);
    free(ids);
    return 0;
}
