/* Sizing `workers: 0`: one worker per CPU the process may really run on. A container limited
 * to 2 CPUs on a 64-core node would otherwise start 64 workers that the CFS quota throttles
 * in turn (the problem Go's automaxprocs and the JVM's container support solve). */
#include "config/cpus.h"

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Quota and period of one cgroup directory, v2 then v1; false when it sets none. */
static bool read_quota(const char *dir, bool v2, unsigned long long *quota,
                       unsigned long long *period)
{
    char path[PATH_MAX + 32], text[64] = "";
    snprintf(path, sizeof path, v2 ? "%s/cpu.max" : "%s/cpu.cfs_quota_us", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(text, sizeof text, f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    if (v2) /* "max 100000" (no limit) or "QUOTA PERIOD" */
        return sscanf(text, "%llu %llu", quota, period) == 2;
    long long q;
    if (sscanf(text, "%lld", &q) != 1 || q <= 0) /* -1: no limit */
        return false;
    *quota = (unsigned long long)q;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    f = fopen(path, "r");
    if (!f)
        return false;
    ok = fscanf(f, "%llu", period) == 1;
    fclose(f);
    return ok;
}

/* The tightest quota from mount/path up to mount itself (each ancestor may set its own). */
static unsigned limit_along(const char *mount, const char *path, bool v2)
{
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s%s", mount, strcmp(path, "/") ? path : "");
    if (n < 0 || (size_t)n >= sizeof dir)
        return 0;
    size_t floor = strlen(mount);
    unsigned best = 0;
    for (;;) {
        unsigned long long quota, period;
        if (read_quota(dir, v2, &quota, &period) && period > 0) {
            unsigned long long cpus = (quota + period - 1) / period;
            unsigned c = cpus == 0 ? 1 : cpus < UINT_MAX ? (unsigned)cpus : UINT_MAX;
            if (!best || c < best)
                best = c;
        }
        if (strlen(dir) <= floor)
            return best;
        char *slash = strrchr(dir, '/');
        dir[slash && (size_t)(slash - dir) >= floor ? (size_t)(slash - dir) : floor] = '\0';
    }
}

/* One line of /proc/self/cgroup, "ID:CONTROLLERS:PATH": v2 is "0::PATH", and a v1 line with
 * "cpu" among its controllers names the CPU hierarchy. */
static unsigned line_limit(char *line, const char *root)
{
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return 0;
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (!ctrls[0])
        return limit_along(root, path, true);
    char list[256], mount[PATH_MAX];
    snprintf(list, sizeof list, ",%s,", ctrls);
    if (!strstr(list, ",cpu,"))
        return 0;
    snprintf(mount, sizeof mount, "%s/%s", root, ctrls);
    unsigned c = limit_along(mount, path, false);
    if (!c) /* in a container, its own cgroup is the mount's root */
        c = limit_along(mount, "/", false);
    return c;
}

unsigned cfg_cgroup_cpu_limit(const char *proc_cgroup, const char *cgroup_root)
{
    unsigned best = 0;
    for (const char *line = proc_cgroup; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[PATH_MAX];
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            unsigned c = line_limit(buf, cgroup_root);
            if (c && (!best || c < best))
                best = c;
        }
        line = end ? end + 1 : NULL;
    }
    return best;
}

unsigned cfg_usable_cpus(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = online > 0 ? (unsigned)online : 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        n = (unsigned)CPU_COUNT(&set);
    char text[4096];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        unsigned limit = cfg_cgroup_cpu_limit(text, "/sys/fs/cgroup");
        if (limit && limit < n)
            n = limit;
    }
    return n;
}
