#!/usr/bin/env python3
"""ringsql at its descriptor limit: started under `prlimit --nofile=64`, it is sent more
clients than it has descriptors for. Accepting pauses instead of failing in a loop: its CPU
stays low, accept_failed is logged about once a second with a count, the failures show in
/metrics, and once the clients leave a new one is served. Usage: test_fd_limit.py RINGSQL_BIN.
Prints TAP."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taplib import Tap, free_port, ringsql_config, wait_until  # noqa: E402

LIMIT = 64
CLIENTS = 120
WINDOW_S = 2.0

bin_path = sys.argv[1]
if not os.environ.get("RINGSQL_TEST_MARIADB_PORT"):
    print("Bail out! RINGSQL_TEST_MARIADB_PORT is not set (run through scripts/test.sh)")
    sys.exit(1)
tap = Tap()






def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")




def serves(listen):
    r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{listen}", "-uapp",
                        "-psecret", "--connect-timeout=2", "-N", "-e", "SELECT 7"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and r.stdout.strip() == "7"


work = tempfile.mkdtemp(prefix="ringsql-fdlimit-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
listen, admin = free_port(), free_port()
with open(os.path.join(work, "ringsql.yaml"), "w") as f:
    f.write(ringsql_config(listen, admin))
log_path = os.path.join(work, "ringsql.log")
log = open(log_path, "w")
proc = subprocess.Popen(["prlimit", f"--nofile={LIMIT}:{LIMIT}", "--", bin_path, "-c",
                         os.path.join(work, "ringsql.yaml")], stderr=log)
clients = []
try:
    if not wait_until(lambda: serves(listen), 20):
        print("Bail out! ringsql did not serve")
        sys.exit(1)
    for _ in range(CLIENTS):
        c = socket.create_connection(("127.0.0.1", listen), timeout=5)
        clients.append(c)
    # Every descriptor taken: the accepts that follow fail (or wait).
    saw_failure = wait_until(lambda: "accept_failed" in open(log_path).read(), 10)
    tap(saw_failure, "accept fails once the descriptors are gone")
    lines0 = open(log_path).read().count("accept_failed")
    cpu0, t0 = cpu_s(proc.pid), time.monotonic()
    time.sleep(WINDOW_S)  # the window the CPU and the log lines are measured over
    cpu = cpu_s(proc.pid) - cpu0
    elapsed = time.monotonic() - t0
    lines = open(log_path).read().count("accept_failed") - lines0
    tap(cpu < 0.25 * elapsed, "no busy loop at the limit", f"{cpu:.2f} s CPU in {elapsed:.1f} s")
    tap(lines <= elapsed + 2, "accept_failed logged about once a second",
        f"{lines} lines in {elapsed:.1f} s")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    count = [l for l in metrics.splitlines() if l.startswith("ringsql_accept_errors_total ")]
    tap(bool(count) and float(count[0].split()[1]) > 0, "ringsql_accept_errors_total counts them",
        count[0] if count else "missing")
    for c in clients:
        c.close()
    clients = []
    tap(wait_until(lambda: serves(listen), 10), "a client is served once descriptors are free")
finally:
    for c in clients:
        c.close()
    proc.terminate()
    try:
        rc = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -9
    tap(rc == 0, "SIGTERM: clean exit", f"status {rc}")
    if tap.failed:
        for line in open(log_path).read().splitlines()[-15:]:
            print("# " + line)
    tap.plan()
sys.exit(1 if tap.failed else 0)
