#!/usr/bin/python3
"""The benchmark's load generator against the real MariaDB server: every workload runs
within its bounds and reports what happened (sessions, clients held and served, errors by
code). Usage: test_loadgen.py LOADGEN. Prints TAP."""
import json
import os
import subprocess
import sys

loadgen = sys.argv[1]
port = os.environ.get("RINGSQL_TEST_MARIADB_PORT")
if not port:
    print("Bail out! RINGSQL_TEST_MARIADB_PORT is not set (run through scripts/test.sh)")
    sys.exit(1)
pid = open(os.path.join(os.environ["RINGSQL_TEST_MARIADB_DIR"], "mariadbd.pid")).read().strip()
base = ["--host", "127.0.0.1", "--port", port, "--user", "ringsql_test", "--password",
        "test_pass", "--database", "ringsql_test", "--pid", pid]
results = []


def run(workload, *extra):
    proc = subprocess.run([loadgen, workload, *base, *extra], capture_output=True, text=True,
                          timeout=60)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"stderr": proc.stderr}


storm = run("connect-storm", "--clients", "4", "--seconds", "5", "--max-ops", "200")
results.append(("connect-storm stops at its session bound",
                storm.get("sessions") == 200 and storm.get("failures") == 0, storm))
results.append(("connect-storm measures the server's CPU",
                storm.get("cpu_us_per_session", -1) >= 0, storm))

idle = run("idle-scale", "--clients", "50", "--seconds", "10")
results.append(("idle-scale holds and serves every client",
                idle.get("clients_open") == 50 and idle.get("clients_served") == 50, idle))
results.append(("idle-scale reports RSS per client", "rss_bytes_per_client" in idle, idle))

bad = run("connect-storm", "--clients", "2", "--seconds", "5", "--max-ops", "10",
          "--password", "wrong")
results.append(("failures are counted by MySQL error code",
                bad.get("sessions") == 0 and bad.get("errors") == {"1045": 10}, bad))

held = run("pool-exhausted", "--clients", "20")
results.append(("pool-exhausted admits what the server allows",
                held.get("admitted") == 20 and held.get("rejected") == 0, held))

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        print(f"#   {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
