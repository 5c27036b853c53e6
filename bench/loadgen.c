/* ringsql-loadgen: command line for the workloads in loadgen.h. */
#include <getopt.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/loadgen.h"

static void usage(FILE *out)
{
    fputs("usage: ringsql-loadgen WORKLOAD [options]\n"
          "\n"
          "workloads:\n"
          "  connect-storm   each client loops: connect, SELECT 1, quit\n"
          "  idle-scale      open --clients idle authenticated clients and hold them\n"
          "  pool-exhausted  --clients connect at once and hold; count ERR codes\n"
          "  point-select-proto  sysbench's point select from a protocol-level client that\n"
          "                  negotiates --caps (needs sbtest1 of 10 000 rows)\n"
          "\n"
          "options:\n"
          "  --host H --port P --user U --password W [--database D]\n"
          "  --target NAME     label in the results (default: the address)\n"
          "  --clients N       concurrent clients (default 16)\n"
          "  --seconds S       time bound (default 10)\n"
          "  --max-ops N       operation bound (default 10000000)\n"
          "  --pid PID         process whose CPU and RSS to measure\n"
          "  --caps SET        point-select-proto: libmariadb (default), mysqlnd, deprecate-eof\n"
          "\n"
          "Prints one JSON line of results on stdout.\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},     {"port", required_argument, NULL, 'P'},
        {"user", required_argument, NULL, 'u'},     {"password", required_argument, NULL, 'p'},
        {"database", required_argument, NULL, 'd'}, {"target", required_argument, NULL, 't'},
        {"clients", required_argument, NULL, 'c'},  {"seconds", required_argument, NULL, 's'},
        {"max-ops", required_argument, NULL, 'm'},  {"pid", required_argument, NULL, 'i'},
        {"caps", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct lg_options o = {.host = "127.0.0.1", .port = 3306, .user = "root", .password = "",
                           .clients = 16, .seconds = 10, .max_ops = 10000000,
                           .caps = "libmariadb"};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'H': o.host = optarg; break;
        case 'P': o.port = (unsigned)atoi(optarg); break;
        case 'u': o.user = optarg; break;
        case 'p': o.password = optarg; break;
        case 'd': o.database = optarg; break;
        case 't': o.target = optarg; break;
        case 'c': o.clients = (unsigned)atoi(optarg); break;
        case 's': o.seconds = atof(optarg); break;
        case 'm': o.max_ops = strtoull(optarg, NULL, 10); break;
        case 'i': o.pid = atoi(optarg); break;
        case 'C': o.caps = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || o.clients == 0 || o.seconds <= 0 || o.port == 0) {
        usage(stderr);
        return 2;
    }
    char label[300];
    if (!o.target) {
        snprintf(label, sizeof label, "%s:%u", o.host, o.port);
        o.target = label;
    }
    mysql_library_init(0, NULL, NULL);
    const char *workload = argv[optind];
    int rc = 2;
    if (strcmp(workload, "connect-storm") == 0)
        rc = lg_connect_storm(&o);
    else if (strcmp(workload, "idle-scale") == 0)
        rc = lg_idle_scale(&o);
    else if (strcmp(workload, "pool-exhausted") == 0)
        rc = lg_pool_exhausted(&o);
    else if (strcmp(workload, "point-select-proto") == 0)
        rc = lg_point_select_raw(&o);
    else
        fprintf(stderr, "ringsql-loadgen: unknown workload '%s'\n", workload);
    mysql_library_end();
    return rc;
}
