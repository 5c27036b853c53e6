/* How many CPUs ringsql may use, for `workers: 0`. */
#pragma once

/* The CPUs in this process's affinity mask, capped by a cgroup CPU quota (a container's CPU
 * limit, as Kubernetes sets it) rounded up; at least 1. */
unsigned cfg_usable_cpus(void);

/* The tightest cgroup CPU quota over the process's cgroup and its parents, in CPUs rounded
 * up, or 0 when there is none. proc_cgroup is the text of /proc/self/cgroup; cgroup_root
 * where the hierarchy is mounted (/sys/fs/cgroup). Both v2 (cpu.max) and v1
 * (cpu.cfs_quota_us) are read. */
unsigned cfg_cgroup_cpu_limit(const char *proc_cgroup, const char *cgroup_root);
