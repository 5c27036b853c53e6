#!/usr/bin/env python3
"""Side-by-side benchmark of direct MariaDB, ringsql and any peer proxy (BENCHMARKING.md).

Every workload runs against every target in the same run, interleaved (direct, ringsql,
peer, direct, ...), several times; the report quotes medians and ratios to direct.
Writes results.md (a table), results.jsonl (one line per measurement) and a PNG plot
(gnuplot) under the results folder. Started by bench/run.sh, which can also start its own
throwaway MariaDB and ringsql.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

SYSBENCH_WORKLOADS = {
    # name: (sysbench test, extra options)
    "point-select": ("oltp_point_select", ["--db-ps-mode=auto"]),
    "point-select-text": ("oltp_point_select", ["--db-ps-mode=disable"]),
    "read-only": ("oltp_read_only", ["--db-ps-mode=auto"]),
    # Results larger than one receive buffer (1 000 rows of 120-byte strings, about 125 KB),
    # forwarded in several sends: what a proxy that leaves Nagle on stalls on.
    "range-select": ("oltp_read_only", ["--db-ps-mode=auto", "--skip-trx=on",
                                        "--point-selects=0", "--simple-ranges=1",
                                        "--sum-ranges=0", "--order-ranges=0",
                                        "--distinct-ranges=0", "--range-size=1000"]),
}
LOADGEN_WORKLOADS = ("connect-storm", "idle-scale", "pool-exhausted")
# The point select from ringsql-loadgen's protocol-level client, per capability set: the
# backend's own layout (forwarded as is) and the layouts ringsql rewrites responses into.
PROTO_WORKLOADS = {"point-select-matched": "libmariadb", "point-select-mysqlnd": "mysqlnd",
                   "point-select-deprecate-eof": "deprecate-eof"}
# BENCHMARKING.md's rules, and --quick's shorter version of them (one thread count, one run).
FULL = {"threads": "1,16,64", "seconds": 10, "runs": 3, "table_size": 100000,
        "idle_clients": 15000}
QUICK = {"threads": "16", "seconds": 5, "runs": 1, "table_size": 10000, "idle_clients": 2000}


def parse_target(text):
    name, _, addr = text.rpartition("=") if "=" in text else ("", "", text)
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        sys.exit(f"bench: bad address '{text}' (want [NAME=]HOST:PORT)")
    return name, host, int(port)


def cpu_seconds(pid):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def rss_kib(pid):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def sysbench_cmd(args, target, test, extra, threads=None, action="run"):
    cmd = ["sysbench", test, f"--mysql-host={target['host']}",
           f"--mysql-port={target['port']}", f"--mysql-user={args.user}",
           f"--mysql-password={args.password}", f"--mysql-db={args.database}",
           f"--tables={args.tables}", f"--table-size={args.table_size}",
           "--db-driver=mysql", f"--mysql-ssl={'on' if target.get('tls') else 'off'}"] + extra
    if threads:
        cmd += [f"--threads={threads}", f"--time={args.seconds}", "--report-interval=0",
                "--histogram=off", f"--events={args.max_events}"]
    return cmd + [action]


def run_sysbench(args, target, workload, threads):
    test, extra = SYSBENCH_WORKLOADS[workload]
    cpu0 = cpu_seconds(target["pid"])
    rss0 = rss_kib(target["pid"])
    # sysbench 1.0's --mysql-ssl reads cacert.pem, client-cert.pem and client-key.pem from
    # its working directory.
    proc = subprocess.run(sysbench_cmd(args, target, test, extra, threads),
                          capture_output=True, text=True, timeout=args.seconds + 60,
                          cwd=args.tls_dir if target.get("tls") else None)
    cpu1 = cpu_seconds(target["pid"])
    out = proc.stdout
    queries = re.search(r"queries:\s+(\d+)\s+\(([\d.]+) per sec", out)
    p95 = re.search(r"95th percentile:\s+([\d.]+)", out)
    ignored = re.search(r"ignored errors:\s+(\d+)", out)
    row = {"workload": workload, "target": target["name"], "threads": threads,
           "ok": proc.returncode == 0 and queries is not None}
    if row["ok"]:
        row["queries"] = int(queries.group(1))
        row["qps"] = float(queries.group(2))
        row["p95_ms"] = float(p95.group(1)) if p95 else None
        row["errors"] = sysbench_errors(proc.stderr + out, int(ignored.group(1)) if ignored else 0)
        if cpu0 is not None and cpu1 is not None and row["queries"]:
            row["cpu_us_per_query"] = (cpu1 - cpu0) * 1e6 / row["queries"]
        row["rss_kib"] = rss0
    else:
        row["error"] = (proc.stderr or out).strip().splitlines()[-3:]
        row["errors"] = sysbench_errors(proc.stderr + out, 0)
    return row


def sysbench_errors(text, ignored):
    """MySQL error codes in sysbench's messages ("... returned error 1040 (Too many ...)"),
    counted; ignored errors it counted without naming a code go under "ignored"."""
    errors = {}
    for code in re.findall(r"\berror\s+(\d{4})\b", text):
        errors[code] = errors.get(code, 0) + 1
    if ignored > sum(errors.values()):
        errors["ignored"] = ignored - sum(errors.values())
    return errors


def errors_text(rows):
    """ "1040×12, 2013×1" over rows (their "errors" dicts), or "0"."""
    total = {}
    for r in rows:
        for code, n in (r.get("errors") or {}).items():
            total[code] = total.get(code, 0) + n
    return ", ".join(f"{code}×{n}" for code, n in sorted(total.items())) or "0"


def run_loadgen(args, target, workload, threads):
    caps = PROTO_WORKLOADS.get(workload)
    cmd = [args.loadgen, "point-select-proto" if caps else workload, "--host", target["host"], "--port", str(target["port"]),
           "--user", args.user, "--password", args.password, "--target", target["name"],
           "--seconds", str(args.seconds)]
    if workload == "idle-scale":
        cmd += ["--clients", str(args.idle_clients)]
    elif workload == "pool-exhausted":
        cmd += ["--clients", str(args.exhaust_clients)]
    else:
        cmd += ["--clients", str(threads), "--database", args.database]
    if caps:
        cmd += ["--caps", caps]
    if target["pid"]:
        cmd += ["--pid", str(target["pid"])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 120)
    try:
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["ok"] = proc.returncode == 0
    except (IndexError, ValueError):
        row = {"workload": workload, "target": target["name"], "ok": False,
               "error": proc.stderr.strip().splitlines()[-3:]}
    row["workload"] = workload
    row["threads"] = threads
    return row


def prepare(args, targets):
    direct = next((t for t in targets if t["name"] == "direct"), targets[0])
    for test in ("oltp_read_only",):
        cmd = sysbench_cmd(args, direct, test, [], action="cleanup")
        subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        cmd = sysbench_cmd(args, direct, test, [], action="prepare")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            sys.exit("bench: sysbench prepare failed:\n" + proc.stderr + proc.stdout)


# Figures taken from the first run, not the median: a process keeps (and reuses) the memory
# an earlier run's clients had, so later runs show almost no growth.
FIRST_RUN_ONLY = {"rss_bytes_per_client"}


def median(rows, key):
    values = [r[key] for r in rows if r.get("ok") and r.get(key) is not None]
    if key in FIRST_RUN_ONLY:
        return values[0] if values else None
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


# The headline figure and the efficiency figure of each workload.
FIGURES = {
    "point-select": ("qps", "cpu_us_per_query", "p95_ms"),
    "point-select-text": ("qps", "cpu_us_per_query", "p95_ms"),
    "read-only": ("qps", "cpu_us_per_query", "p95_ms"),
    "range-select": ("qps", "cpu_us_per_query", "p95_ms"),
    "connect-storm": ("sessions_per_s", "cpu_us_per_session", None),
    **{w: ("qps", "cpu_us_per_query", None) for w in PROTO_WORKLOADS},
    "idle-scale": ("clients_served", "rss_bytes_per_client", "accept_per_s"),
    "pool-exhausted": ("admitted", "reject_p95_ms", "rejected"),
}


def report(args, rows, targets):
    lines = [f"# ringsql benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}", "",
             f"{args.runs} interleaved runs of {args.seconds}s each; medians. "
             f"Machine: {os.cpu_count()} CPUs. Ratios are to 'direct'.", "",
             "| workload | threads | target | main | ratio | cpu µs/op or bytes/client | p95 ms / other | "
             "errors (MySQL code×count) |",
             "|---|---|---|---|---|---|---|---|"]
    for workload in args.workloads:
        main_key, eff_key, other_key = FIGURES[workload]
        for threads in thread_counts(args, workload):
            group = [r for r in rows if r["workload"] == workload and r["threads"] == threads]
            direct_main = median([r for r in group if r["target"] == "direct"], main_key)
            for t in targets:
                mine = [r for r in group if r["target"] == t["name"]]
                m = median(mine, main_key)
                ratio = m / direct_main if m is not None and direct_main else None
                errs = errors_text(mine)
                failed = sum(not r.get("ok") for r in mine)
                lines.append(f"| {workload} | {threads} | {t['name']} | {main_key} {fmt(m)} | "
                             f"{fmt(ratio, 2)} | {fmt(median(mine, eff_key), 2)} | "
                             f"{fmt(median(mine, other_key), 2) if other_key else '–'} | "
                             f"{errs}{f' ({failed} runs failed)' if failed else ''} |")
    return "\n".join(lines) + "\n"


def plot(args, rows, targets):
    """QPS against threads for each sysbench workload and target, one PNG."""
    sysbench = [w for w in args.workloads if w in SYSBENCH_WORKLOADS]
    if not sysbench:
        return None
    data_path = os.path.join(args.out, "plot.dat")
    series = []
    with open(data_path, "w") as f:
        for w in sysbench:
            for t in targets:
                f.write(f"# {w} {t['name']}\n")
                for threads in args.threads:
                    q = median([r for r in rows if r["workload"] == w and r["target"] == t["name"]
                                and r["threads"] == threads], "qps")
                    if q is not None:
                        f.write(f"{threads} {q}\n")
                f.write("\n\n")
                series.append(f"{w} / {t['name']}")
    png = os.path.join(args.out, "qps.png")
    plots = ", ".join(f"'{data_path}' index {i} with linespoints title '{s}'"
                      for i, s in enumerate(series))
    script = (f"set terminal png size 1000,600; set output '{png}'; set logscale x 2; "
              f"set xlabel 'client threads'; set ylabel 'queries per second (median)'; "
              f"set key outside; set grid; plot {plots}")
    try:
        subprocess.run(["gnuplot", "-e", script], check=True, capture_output=True, timeout=60)
        return png
    except (OSError, subprocess.SubprocessError) as e:
        print(f"bench: no plot ({e})", file=sys.stderr)
        return None


def thread_counts(args, workload):
    if workload in ("idle-scale", "pool-exhausted"):
        return [0]  # one configuration: the client count is its own option
    return args.threads


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--direct", required=True, help="HOST:PORT of the MariaDB server")
    p.add_argument("--ringsql", help="HOST:PORT of ringsql")
    p.add_argument("--peer", action="append", default=[], help="NAME=HOST:PORT, repeatable")
    p.add_argument("--pid-of", action="append", default=[], help="NAME=PID, repeatable")
    p.add_argument("--user", default="ringsql_test")
    p.add_argument("--password", default="test_pass")
    p.add_argument("--database", default="ringsql_test")
    p.add_argument("--workloads", default="point-select,point-select-text,read-only,range-select,"
                   + ",".join(PROTO_WORKLOADS) + ",connect-storm,idle-scale,pool-exhausted")
    p.add_argument("--quick", action="store_true",
                   help="a fast look: " + ", ".join(f"--{k.replace('_', '-')} {v}"
                                                   for k, v in QUICK.items()))
    p.add_argument("--threads")
    p.add_argument("--seconds", type=int)
    p.add_argument("--runs", type=int)
    p.add_argument("--tables", type=int, default=4)
    p.add_argument("--table-size", type=int)
    p.add_argument("--max-events", type=int, default=50_000_000)
    p.add_argument("--idle-clients", type=int)
    p.add_argument("--exhaust-clients", type=int, default=400)
    p.add_argument("--loadgen", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tls-target", action="append", default=[],
                   help="NAME of a target that clients reach over TLS (sysbench --mysql-ssl=on; "
                        "the loadgen workloads skip it), repeatable")
    p.add_argument("--tls-dir", help="where sysbench finds cacert.pem, client-cert.pem and "
                                     "client-key.pem for the TLS targets")
    args = p.parse_args()
    # An option given on the command line wins over --quick's value, which wins over the default.
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.threads = [int(t) for t in args.threads.split(",")]
    for w in args.workloads:
        if w not in SYSBENCH_WORKLOADS and w not in LOADGEN_WORKLOADS and w not in PROTO_WORKLOADS:
            sys.exit(f"bench: unknown workload '{w}'")

    pids = dict(x.split("=", 1) for x in args.pid_of)
    targets = []
    for name, spec in [("direct", args.direct), ("ringsql", args.ringsql)] + \
            [(None, s) for s in args.peer]:
        if not spec:
            continue
        pname, host, port = parse_target(spec)
        name = name or pname
        targets.append({"name": name, "host": host, "port": port,
                        "pid": int(pids[name]) if name in pids else None,
                        "tls": name in args.tls_target})
    os.makedirs(args.out, exist_ok=True)
    if any(w in SYSBENCH_WORKLOADS or w in PROTO_WORKLOADS for w in args.workloads):
        prepare(args, targets)

    rows = []
    jsonl = open(os.path.join(args.out, "results.jsonl"), "w")
    for run in range(1, args.runs + 1):
        for workload in args.workloads:
            for threads in thread_counts(args, workload):
                for t in targets:  # interleaved: each target once per round
                    if t["tls"] and workload not in SYSBENCH_WORKLOADS:
                        continue  # ringsql-loadgen speaks no TLS
                    if workload in SYSBENCH_WORKLOADS:
                        row = run_sysbench(args, t, workload, threads)
                    else:
                        row = run_loadgen(args, t, workload, threads)
                    row["run"] = run
                    rows.append(row)
                    jsonl.write(json.dumps(row) + "\n")
                    jsonl.flush()
                    print(f"bench: run {run} {workload} threads={threads} {t['name']}: "
                          f"{'ok' if row.get('ok') else 'FAILED'}", file=sys.stderr)
    jsonl.close()
    table = report(args, rows, targets)
    png = plot(args, rows, targets)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table + (f"\n![QPS against threads]({os.path.basename(png)})\n" if png else ""))
    print(table)
    print(f"bench: results in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
