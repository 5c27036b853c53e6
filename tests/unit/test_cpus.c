/* Unit tests for config/cpus.c: cgroup CPU limits read from a fake hierarchy in a temporary
 * directory, v2 (cpu.max) and v1 (cpu.cfs_quota_us), nested, absent and malformed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config/cpus.h"

static char root[64];

static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/ringsql-cpus-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
}

static void drop_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

/* Writes text to root/rel, creating the directories on the way. */
static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (CHECK(f != NULL)) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_v2_limit_is_rounded_up(void)
{
    make_root();
    put("kubepods/pod1/ctr/cpu.max", "max 100000\n");
    put("kubepods/pod1/cpu.max", "250000 100000\n");
    put("kubepods/cpu.max", "max 100000\n");
    CHECK_UINT(cfg_cgroup_cpu_limit("0::/kubepods/pod1/ctr\n", root), 3);
    drop_root();
}

static void test_v2_tightest_ancestor_wins(void)
{
    make_root();
    put("a/b/cpu.max", "400000 100000\n");
    put("a/cpu.max", "50000 100000\n"); /* half a CPU: one worker */
    CHECK_UINT(cfg_cgroup_cpu_limit("0::/a/b\n", root), 1);
    drop_root();
}

static void test_v2_no_limit(void)
{
    make_root();
    put("a/cpu.max", "max 100000\n");
    CHECK_UINT(cfg_cgroup_cpu_limit("0::/a\n", root), 0);
    CHECK_UINT(cfg_cgroup_cpu_limit("0::/\n", root), 0); /* no cpu.max at the root */
    CHECK_UINT(cfg_cgroup_cpu_limit("0::/missing/dir\n", root), 0);
    drop_root();
}

static void test_v1_quota_and_period(void)
{
    make_root();
    put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
    put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    const char *proc = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n";
    CHECK_UINT(cfg_cgroup_cpu_limit(proc, root), 2);
    drop_root();
}

static void test_v1_container_sees_its_cgroup_at_the_root(void)
{
    make_root();
    /* /proc/self/cgroup names the host's path, the mount shows only the container's own. */
    put("cpu/cpu.cfs_quota_us", "100000\n");
    put("cpu/cpu.cfs_period_us", "100000\n");
    CHECK_UINT(cfg_cgroup_cpu_limit("3:cpu:/kubepods/besteffort/pod9/xyz\n", root), 1);
    drop_root();
}

static void test_v1_unlimited_and_malformed(void)
{
    make_root();
    put("cpu/cpu.cfs_quota_us", "-1\n");
    put("cpu/cpu.cfs_period_us", "100000\n");
    CHECK_UINT(cfg_cgroup_cpu_limit("3:cpu:/\n", root), 0);
    put("cpu/cpu.cfs_quota_us", "lots\n");
    CHECK_UINT(cfg_cgroup_cpu_limit("3:cpu:/\n", root), 0);
    CHECK_UINT(cfg_cgroup_cpu_limit("garbage without colons\n\n", root), 0);
    CHECK_UINT(cfg_cgroup_cpu_limit("", root), 0);
    drop_root();
}

static void test_usable_cpus_is_at_least_one_and_at_most_online(void)
{
    unsigned n = cfg_usable_cpus();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(n >= 1);
    CHECK(online < 1 || n <= (unsigned)online);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_v2_limit_is_rounded_up),
        CHECK_CASE(test_v2_tightest_ancestor_wins),
        CHECK_CASE(test_v2_no_limit),
        CHECK_CASE(test_v1_quota_and_period),
        CHECK_CASE(test_v1_container_sees_its_cgroup_at_the_root),
        CHECK_CASE(test_v1_unlimited_and_malformed),
        CHECK_CASE(test_usable_cpus_is_at_least_one_and_at_most_online),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
