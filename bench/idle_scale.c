/* idle-scale: opens N authenticated clients and holds them; reports the accept rate and the
 * measured process's RSS per idle client, then checks every held client is still served. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "bench/loadgen.h"

/* Descriptors kept back for stdio, libraries and the odd extra socket. */
#define FD_RESERVE 64

/* Raises the soft descriptor limit to the hard one; returns how many clients fit. */
static unsigned raise_fd_limit(unsigned wanted, rlim_t *cap)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    *cap = rl.rlim_cur;
    rlim_t room = rl.rlim_cur > FD_RESERVE ? rl.rlim_cur - FD_RESERVE : 0;
    return wanted < room ? wanted : (unsigned)room;
}

static bool still_served(MYSQL *m)
{
    if (mysql_query(m, "SELECT 1") != 0)
        return false;
    MYSQL_RES *res = mysql_store_result(m);
    bool ok = res && mysql_num_rows(res) == 1;
    if (res)
        mysql_free_result(res);
    return ok;
}

int lg_idle_scale(const struct lg_options *o)
{
    rlim_t cap;
    unsigned n = raise_fd_limit(o->clients, &cap);
    if (n < o->clients)
        fprintf(stderr, "idle-scale: descriptor limit %llu allows %u of %u clients\n",
                (unsigned long long)cap, n, o->clients);
    MYSQL **conns = calloc(n ? n : 1, sizeof *conns);
    if (!conns)
        return 1;

    long rss0 = lg_proc_rss_kib(o->pid);
    double t0 = lg_now(), deadline = t0 + o->seconds;
    struct lg_errors errors = {0};
    unsigned opened = 0;
    for (unsigned i = 0; i < n && lg_now() < deadline; i++) {
        unsigned err;
        conns[opened] = lg_connect(o, &err);
        if (conns[opened])
            opened++;
        else
            lg_errors_add(&errors, err);
    }
    double accept_s = lg_now() - t0;
    long rss1 = lg_proc_rss_kib(o->pid);

    unsigned served = 0;
    for (unsigned i = 0; i < opened; i++)
        served += still_served(conns[i]);
    for (unsigned i = 0; i < opened; i++)
        mysql_close(conns[i]);
    free(conns);

    printf("{\"workload\":\"idle-scale\",\"target\":\"%s\",\"clients_wanted\":%u,"
           "\"fd_limit\":%llu,\"clients_open\":%u,\"clients_served\":%u,\"accept_per_s\":%.1f,",
           o->target, o->clients, (unsigned long long)cap, opened, served,
           accept_s > 0 ? opened / accept_s : 0.0);
    if (rss0 >= 0 && rss1 >= 0 && opened)
        printf("\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_bytes_per_client\":%.0f,",
               rss0, rss1, (double)(rss1 - rss0) * 1024.0 / opened);
    lg_errors_print_json(&errors);
    printf("}\n");
    return 0;
}
