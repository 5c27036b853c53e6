/* ringsql-query-facts: the cost of split routing's per-statement decision in isolation:
 * proto_query_facts() (protocol/query_state.h), which split calls once per COM_QUERY before it
 * binds (core/conn/session_route.c), timed over sysbench's read-only statements as its text
 * protocol sends them (oltp_common.lua's five shapes, values in place of the '?'), a bounded
 * number of times each. Prints a table of ns per statement; exits 1 if any of them would not
 * go to a replica. bench/run.sh --replicas runs it. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "protocol/name_set.h"
#include "protocol/query_state.h"

enum { VARIANTS = 64, TEXT_MAX = 160, TABLES = 4, TABLE_ROWS = 10000, RANGE_SIZE = 100 };

/* oltp_common.lua's read-only statements: SELECT, table sbtest%u, then WHERE id=? (a point)
 * or id BETWEEN ? AND ? (a range: id, id + 99), then what follows. */
static const struct {
    const char *name;
    const char *select; /* up to the table */
    bool range;
    const char *tail;
    int per_txn; /* how many oltp_read_only sends per transaction (its defaults) */
} shapes[] = {
    {"point select", "SELECT c FROM", false, "", 10},
    {"simple range", "SELECT c FROM", true, "", 1},
    {"sum range", "SELECT SUM(k) FROM", true, "", 1},
    {"order range", "SELECT c FROM", true, " ORDER BY c", 1},
    {"distinct range", "SELECT DISTINCT c FROM", true, " ORDER BY c", 1},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static char texts[NSHAPES][VARIANTS][TEXT_MAX];
static size_t lens[NSHAPES][VARIANTS];

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(FILE *out)
{
    fputs("usage: ringsql-query-facts [--iterations N] [--rounds R]\n"
          "  --iterations N  statements scanned per shape and round (default 100000)\n"
          "  --rounds R      rounds; the table gives the median and the best (default 5)\n",
          out);
}

int main(int argc, char **argv)
{
    long iterations = 100000, rounds = 5;
    static const struct option opts[] = {{"iterations", required_argument, NULL, 'i'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'i')
            iterations = strtol(optarg, NULL, 10);
        else if (c == 'r')
            rounds = strtol(optarg, NULL, 10);
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (iterations < 1 || iterations > 1000000000L || rounds < 1 || rounds > 100) {
        usage(stderr);
        return 2;
    }
    /* What a worker holds once the backends' stored functions are known: a set (here empty),
     * looked up for every word followed by '('. */
    struct name_set *routines = name_set_new();
    if (!routines) {
        fputs("ringsql-query-facts: out of memory\n", stderr);
        return 1;
    }
    /* VARIANTS texts per shape with sysbench-like random ids, cycled through. */
    unsigned seed = 12345;
    int misrouted = 0;
    for (size_t s = 0; s < NSHAPES; s++)
        for (size_t v = 0; v < VARIANTS; v++) {
            seed = seed * 1103515245u + 12345u;
            unsigned table = 1 + (seed >> 16) % TABLES;
            seed = seed * 1103515245u + 12345u;
            unsigned id = 1 + (seed >> 8) % (TABLE_ROWS - RANGE_SIZE);
            int n =
                shapes[s].range
                    ? snprintf(texts[s][v], TEXT_MAX, "%s sbtest%u WHERE id BETWEEN %u AND %u%s",
                               shapes[s].select, table, id, id + RANGE_SIZE - 1, shapes[s].tail)
                    : snprintf(texts[s][v], TEXT_MAX, "%s sbtest%u WHERE id=%u%s", shapes[s].select,
                               table, id, shapes[s].tail);
            lens[s][v] = (size_t)n;
            unsigned facts = proto_query_facts((const uint8_t *)texts[s][v], lens[s][v], routines);
            if (facts & (PROTO_QF_WRITES | PROTO_QF_LEAVES_STATE)) {
                fprintf(stderr, "ringsql-query-facts: split would send to the primary: %s\n",
                        texts[s][v]);
                misrouted = 1;
            }
        }

    double *ns = calloc((size_t)(NSHAPES * rounds), sizeof *ns);
    if (!ns)
        return 1;
    volatile unsigned sink = 0;
    for (long r = 0; r < rounds; r++)
        for (size_t s = 0; s < NSHAPES; s++) {
            unsigned acc = 0;
            double t0 = now_ns();
            for (long i = 0; i < iterations; i++) {
                size_t v = (size_t)i % VARIANTS;
                acc += proto_query_facts((const uint8_t *)texts[s][v], lens[s][v], routines);
            }
            ns[s * (size_t)rounds + (size_t)r] = (now_ns() - t0) / (double)iterations;
            sink += acc;
        }
    (void)sink;

    printf("proto_query_facts() per statement, %ld rounds of %ld statements per shape "
           "(median, best):\n\n",
           rounds, iterations);
    printf("| statement (oltp_read_only, text protocol) | bytes | ns median | ns best |\n"
           "|---|---|---|---|\n");
    double mix_med = 0, mix_best = 0;
    int mix_n = 0;
    for (size_t s = 0; s < NSHAPES; s++) {
        double *row = ns + s * (size_t)rounds;
        qsort(row, (size_t)rounds, sizeof *row, cmp_double);
        double med = rounds % 2 ? row[rounds / 2] : (row[rounds / 2 - 1] + row[rounds / 2]) / 2;
        printf("| %s: `%s` | %zu | %.1f | %.1f |\n", shapes[s].name, texts[s][0], lens[s][0], med,
               row[0]);
        mix_med += med * shapes[s].per_txn;
        mix_best += row[0] * shapes[s].per_txn;
        mix_n += shapes[s].per_txn;
    }
    printf("| oltp_read_only's mix (%d point selects, 1 of each range) | – | %.1f | %.1f |\n",
           shapes[0].per_txn, mix_med / mix_n, mix_best / mix_n);
    free(ns);
    name_set_unref(routines);
    return misrouted;
}
