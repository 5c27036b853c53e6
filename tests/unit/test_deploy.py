#!/usr/bin/python3
"""The packaging files parse and agree with ringsql: every Kubernetes manifest is valid YAML
with the fields Kubernetes requires, probes name declared ports and ringsql's admin paths,
every ringsql config embedded in a ConfigMap passes `ringsql --check`, every pod meets the
"restricted" Pod Security Standard (no Unconfined seccomp profile: RuntimeDefault, where
ringsql runs on epoll, or a Localhost profile shipped in deploy/seccomp/), the Dockerfile runs
ringsql as a numeric non-root user that the manifests name, and
deploy/seccomp/ringsql-io-uring.json is a deny-by-default seccomp profile that allows io_uring
and what ringsql needs besides. Usage: test_deploy.py RINGSQL_BIN (from the source root).
Prints TAP."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ringsql = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def pod_spec(doc):
    """The pod spec of a workload (or of a Pod), {} for other kinds."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"):
        return spec.get("template", {}).get("spec", {}) or {}
    return {}


def containers(doc):
    return pod_spec(doc).get("containers", [])


SHIPPED_PROFILE = "deploy/seccomp/ringsql-io-uring.json"


def seccomp_ok(profile, where):
    """A seccompProfile is RuntimeDefault, or Localhost naming a profile in deploy/seccomp/."""
    kind = (profile or {}).get("type")
    if kind == "RuntimeDefault":
        return True, ""
    if kind == "Localhost":
        name = profile.get("localhostProfile", "")
        return os.path.isfile(os.path.join("deploy/seccomp", name)), f"{where}: {profile}"
    return False, f"{where}: {profile}"


# The Dockerfile's final stage's last USER: numeric, not root; the manifests run ringsql as it.
with open("Dockerfile") as f:
    dockerfile = f.read()
final_stage = re.split(r"(?m)^FROM\s", dockerfile)[-1]
users = re.findall(r"(?m)^USER\s+(\S+)\s*$", final_stage)
image_user = users[-1] if users else ""
m = re.fullmatch(r"(\d+)(?::(\d+))?", image_user)
image_uid = int(m.group(1)) if m else None
image_gid = int(m.group(2)) if m and m.group(2) else None
check("Dockerfile's final USER is numeric uid:gid", m and image_gid is not None, image_user)
check("Dockerfile's final USER is not root", m and image_uid != 0 and image_gid != 0, image_user)


def duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * units[unit]
    raise ValueError(text)


drain_s = {}  # manifest path -> shutdown.drain_timeout of its ConfigMap's ringsql config
for path in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and "ringsql.yaml" in doc.get("data", {}):
            conf = yaml.safe_load(doc["data"]["ringsql.yaml"])
            drain_s[path] = duration_s(conf.get("shutdown", {}).get("drain_timeout", "30s"))
    check(f"{path} holds manifests", docs)
    for doc in docs:
        what = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        check(f"{what} has apiVersion, kind, metadata.name",
              doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"))
        pod = pod_spec(doc)
        if pod:
            # The "restricted" Pod Security Standard, container by container (a container's
            # securityContext overrides its pod's for runAsNonRoot, runAsUser, seccompProfile).
            psc = pod.get("securityContext") or {}
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                check(f"{what} pod has no {key}", not pod.get(key))
            check(f"{what} pod's seccompProfile is not Unconfined",
                  (psc.get("seccompProfile") or {}).get("type") != "Unconfined",
                  str(psc.get("seccompProfile")))
            for c in pod.get("initContainers", []) + pod.get("containers", []):
                who = f"{what} container {c.get('name')}"
                sc = c.get("securityContext") or {}
                prof = sc.get("seccompProfile") or psc.get("seccompProfile")
                check(f"{who} seccompProfile is not Unconfined",
                      (sc.get("seccompProfile") or {}).get("type") != "Unconfined", str(prof))
                ok, detail = seccomp_ok(prof, "seccompProfile")
                check(f"{who} runs under RuntimeDefault or a shipped Localhost profile",
                      ok, detail)
                check(f"{who} has runAsNonRoot: true",
                      sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True)
                for key in ("runAsUser", "runAsGroup"):
                    v = sc.get(key, psc.get(key))
                    check(f"{who} {key} is unset or a non-root number",
                          v is None or (type(v) is int and v > 0), str(v))
                check(f"{who} has allowPrivilegeEscalation: false",
                      sc.get("allowPrivilegeEscalation") is False)
                check(f"{who} is not privileged", sc.get("privileged") is not True)
                caps = sc.get("capabilities") or {}
                check(f"{who} drops ALL capabilities and adds none (but NET_BIND_SERVICE)",
                      "ALL" in (caps.get("drop") or [])
                      and set(caps.get("add") or []) <= {"NET_BIND_SERVICE"}, str(caps))
                check(f"{who} has readOnlyRootFilesystem: true",
                      sc.get("readOnlyRootFilesystem") is True)
                if c.get("name") == "ringsql":
                    check(f"{who} runs as the image's user ({image_user})",
                          sc.get("runAsUser", psc.get("runAsUser")) == image_uid
                          and sc.get("runAsGroup", psc.get("runAsGroup")) == image_gid,
                          f"runAsUser {sc.get('runAsUser', psc.get('runAsUser'))}, "
                          f"runAsGroup {sc.get('runAsGroup', psc.get('runAsGroup'))}")
        if doc.get("kind") == "Deployment":
            sel = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            check(f"{what} selector matches its pod labels",
                  all(labels.get(k) == v for k, v in sel.items()))
            for c in containers(doc):
                check(f"{what} container {c.get('name')} has an image", c.get("image"))
                if c.get("name") != "ringsql":
                    continue
                ports = {p["name"] for p in c.get("ports", [])}
                for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = c.get(probe, {}).get("httpGet", {})
                    check(f"{what} {probe} asks {want} on a declared port",
                          get.get("path") == want and get.get("port") in ports, str(get))
                # SIGTERM drains: preStop + shutdown.drain_timeout must fit in the grace period.
                pod = doc["spec"]["template"]["spec"]
                grace = pod.get("terminationGracePeriodSeconds", 30)
                pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
                pre_s = int(pre[-1]) if pre and pre[0].endswith("sleep") else 0
                check(f"{what} has a preStop pause before the drain", pre_s > 0, str(pre))
                check(f"{what} grace period covers preStop + drain_timeout",
                      grace > pre_s + drain_s.get(path, 30),
                      f"grace {grace}s, preStop {pre_s}s, drain {drain_s.get(path, 30)}s")
        if doc.get("kind") == "ConfigMap" and "ringsql.yaml" in doc.get("data", {}):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
                tmp.write(doc["data"]["ringsql.yaml"])
            env = dict(os.environ, RINGSQL_APP_PASSWORD="example")
            proc = subprocess.run([ringsql, "--check", "-c", tmp.name], capture_output=True,
                                  text=True, env=env)
            os.unlink(tmp.name)
            check(f"{what} config passes ringsql --check", proc.returncode == 0,
                  proc.stderr.strip())

check("Dockerfile starts ringsql -c /etc/ringsql/ringsql.yaml",
      '"-c", "/etc/ringsql/ringsql.yaml"' in dockerfile)
with open("deploy/systemd/ringsql.service") as f:
    unit = f.read()
check("systemd unit runs ringsql -c and reloads with SIGHUP",
      "ExecStart=/usr/bin/ringsql -c " in unit and "kill -HUP" in unit)
stop = [int(line.split("=")[1]) for line in unit.splitlines() if line.startswith("TimeoutStopSec=")]
check("systemd unit waits longer than the default drain_timeout (30s) on stop",
      "KillSignal=SIGTERM" in unit and stop and stop[0] > 30, str(stop))
check("Dockerfile stops with SIGTERM (the drain)", "\nSTOPSIGNAL SIGTERM" in dockerfile)

# The Localhost profile the manifests' notes and docs/operations.md point to, for io_uring.
for path in sorted(glob.glob("deploy/kubernetes/*.yaml")) + ["docs/operations.md"]:
    with open(path) as f:
        named = re.findall(r"localhostProfile:\s*([\w./-]+)", f.read())
    check(f"{path} names the shipped Localhost profile for io_uring",
          named and all(os.path.join("deploy/seccomp", n) == SHIPPED_PROFILE for n in named),
          str(named))

try:
    with open(SHIPPED_PROFILE) as f:
        profile = json.load(f)
    check(f"{SHIPPED_PROFILE} is valid JSON", isinstance(profile, dict))
except (OSError, ValueError) as e:
    profile = {}
    check(f"{SHIPPED_PROFILE} is valid JSON", False, str(e))
ACTIONS = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
           "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG",
           "SCMP_ACT_NOTIFY"}
rules = profile.get("syscalls") if isinstance(profile.get("syscalls"), list) else []
check(f"{SHIPPED_PROFILE} denies by default (defaultAction neither ALLOW nor LOG)",
      profile.get("defaultAction") in ACTIONS - {"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"},
      str(profile.get("defaultAction")))
check(f"{SHIPPED_PROFILE} covers x86_64 and aarch64",
      {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"} <= set(profile.get("architectures") or []),
      str(profile.get("architectures")))
check(f"{SHIPPED_PROFILE} rules each name syscalls and a known action",
      rules and all(isinstance(r, dict) and r.get("names") and r.get("action") in ACTIONS
                    for r in rules))
allowed = {n for r in rules if isinstance(r, dict) and r.get("action") == "SCMP_ACT_ALLOW"
           and not r.get("args") for n in r.get("names") or []}
allowed_some = {n for r in rules if isinstance(r, dict) and r.get("action") == "SCMP_ACT_ALLOW"
                for n in r.get("names") or []}
for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
    check(f"{SHIPPED_PROFILE} allows {name}", name in allowed)
# What ringsql (glibc, pthreads, liburing, jemalloc, OpenSSL, libmariadb) calls, either engine.
NEEDED = """read write close openat fstat newfstatat statx lseek pread64 readlink fcntl ioctl dup dup3
    pipe2 mmap munmap mprotect madvise mremap brk futex set_robust_list rseq set_tid_address
    rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack prlimit64 getrlimit setrlimit
    sched_getaffinity sched_yield getrandom clock_gettime clock_nanosleep nanosleep exit
    exit_group getpid gettid tgkill uname sysinfo poll ppoll epoll_create1 epoll_ctl epoll_wait
    epoll_pwait eventfd2 signalfd4 bind listen accept4 connect setsockopt getsockopt getsockname
    getpeername shutdown sendto recvfrom sendmsg recvmsg sendmmsg prctl getuid geteuid getgid
    getegid""".split()
missing = [n for n in NEEDED if n not in allowed]
check(f"{SHIPPED_PROFILE} allows what ringsql calls besides io_uring", not missing, str(missing))
check(f"{SHIPPED_PROFILE} allows socket and clone (arguments may be filtered)",
      {"socket", "clone"} <= allowed_some)
clone3 = [r for r in rules if isinstance(r, dict) and "clone3" in (r.get("names") or [])]
check(f"{SHIPPED_PROFILE} allows clone3 or fails it with ENOSYS (glibc then uses clone)",
      "clone3" in allowed or any(r.get("action") == "SCMP_ACT_ERRNO" and r.get("errnoRet") == 38
                                 for r in clone3), str(clone3))

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"#   {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
