#!/usr/bin/env python3
"""ringsql's I/O engine choice (`io:` in the config, RINGSQL_IO in the environment). Under a
seccomp filter that blocks io_uring as Docker's and containerd's default profiles do
(tests/lib/no_io_uring.c), `io: auto` falls back to epoll, says why in its log and serves;
`io: io_uring` refuses to start with a clear error instead; `io: epoll` and RINGSQL_IO choose
epoll; an unknown RINGSQL_IO is refused. Usage: test_io_engine.py RINGSQL_BIN NO_IO_URING_BIN.
Prints TAP."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taplib import Tap, free_port, ringsql_config, wait_until  # noqa: E402

bin_path, no_uring = sys.argv[1], sys.argv[2]
if not os.environ.get("RINGSQL_TEST_MARIADB_PORT"):
    print("Bail out! RINGSQL_TEST_MARIADB_PORT is not set (run through scripts/test.sh)")
    sys.exit(1)
tap = Tap()
work = tempfile.mkdtemp(prefix="ringsql-io-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
# Each case says which engine it wants: the suite's own RINGSQL_IO (meson's epoll setup) is not
# passed on.
base_env = {k: v for k, v in os.environ.items() if k != "RINGSQL_IO"}


def serves(listen):
    r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{listen}", "-uapp",
                        "-psecret", "--connect-timeout=2", "-N", "-e", "SELECT 6 * 7"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and r.stdout.strip() == "42"


def run_case(name, io, wrap=False, env_io=None):
    """Starts ringsql with `io: io` (None: no key); returns (process, listen port, log path)."""
    listen, admin = free_port(), free_port()
    cfg = os.path.join(work, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write(ringsql_config(listen, admin, workers=2, extra=f"io: {io}\n" if io else ""))
    env = dict(base_env)
    if env_io is not None:
        env["RINGSQL_IO"] = env_io
    log_path = os.path.join(work, f"{name}.log")
    cmd = ([no_uring] if wrap else []) + [bin_path, "-c", cfg]
    proc = subprocess.Popen(cmd, stderr=open(log_path, "w"), env=env)
    return proc, listen, log_path


def engine_line(log_path):
    m = re.search(r"event=io_engine .*", open(log_path).read())
    return m.group(0) if m else ""


def stop(proc):
    proc.terminate()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -9


def serving_case(name, io, want_line, wrap=False, env_io=None):
    proc, listen, log_path = run_case(name, io, wrap, env_io)
    try:
        ok = wait_until(lambda: serves(listen), 20)
        line = engine_line(log_path)
        tap(want_line in line, f"{name}: log says {want_line}", line or "no io_engine line")
        tap(ok, f"{name}: serves a query")
    finally:
        rc = stop(proc)
    tap(rc == 0, f"{name}: SIGTERM, clean exit", f"status {rc}")
    return log_path


def refused_case(name, io, want, wrap=False, env_io=None):
    proc, _, log_path = run_case(name, io, wrap, env_io)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = stop(proc)
        rc = "still running" if rc == 0 else rc
    text = open(log_path).read()
    tap(rc not in (0, "still running") and want in text, f"{name}: refused to start ({want})",
        f"status {rc}; log: {text[-300:]!r}")


# Where io_uring is blocked.
serving_case("auto_blocked", "auto",
             'engine=epoll reason="io_uring_setup: Operation not permitted"', wrap=True)
serving_case("default_blocked", None,
             'engine=epoll reason="io_uring_setup: Operation not permitted"', wrap=True)
refused_case("uring_blocked", "io_uring", "event=io_engine_failed engine=io_uring", wrap=True)
# Chosen by hand.
serving_case("epoll", "epoll", 'engine=epoll reason="config says epoll"')
serving_case("env_epoll", "io_uring", 'engine=epoll reason="RINGSQL_IO says epoll"',
             env_io="epoll")
refused_case("env_unknown", None, "event=io_unknown RINGSQL_IO=kqueue", env_io="kqueue")
# Where io_uring is allowed (this machine, unless it blocks it itself).
proc, listen, log_path = run_case("auto_allowed", "auto")
try:
    wait_until(lambda: serves(listen), 20)
    line = engine_line(log_path)
finally:
    stop(proc)
if "engine=epoll" in line:
    print(f"ok {tap.n + 1} - auto_allowed: io_uring # SKIP io_uring is blocked here too ({line})")
    tap.n += 1
else:
    tap('engine=io_uring reason="config says auto"' in line, "auto_allowed: io_uring", line)
if tap.failed:
    for f in sorted(os.listdir(work)):
        if f.endswith(".log"):
            for line in open(os.path.join(work, f)).read().splitlines()[-6:]:
                print(f"# {f}: {line}")
tap.plan()
sys.exit(1 if tap.failed else 0)
