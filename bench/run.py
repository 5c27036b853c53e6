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
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

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
    # bench/run.sh --replicas: the text protocol, so that split routing reads each statement's
    # text (an execute's facts are those its prepare found); sysbench's read-only as it
    # comes (each event in BEGIN ... COMMIT, which split sends to the primary whole) and
    # without the transaction (--skip-trx: each select on its own, to a replica).
    "read-only-text": ("oltp_read_only", ["--db-ps-mode=disable"]),
    "read-only-skip-trx": ("oltp_read_only", ["--db-ps-mode=disable", "--skip-trx=on"]),
}
# Said under the table when the workload ran.
NOTES = {
    "read-only-text": "read-only-text: sysbench oltp_read_only as it comes, text protocol: each "
                      "event is BEGIN, 14 selects, COMMIT; split routing sends the BEGIN and the "
                      "whole transaction after it to the primary.",
    "read-only-skip-trx": "read-only-skip-trx: the same with --skip-trx=on (no BEGIN/COMMIT): "
                          "each select runs on its own, and split sends it to a replica.",
}
# Prepared statements from many more clients than backend connections: sysbench's point
# select with --ps-clients threads (1 000), against the targets named by --ps-target only
# (bench/run.sh: ringsql-ps-txn, pool.mode transaction with 32 connections, and
# ringsql-ps-session, session pooling with a connection per client). The backend
# connections a target used come from its admin /metrics (--admin-of), sampled during the run.
PS_WORKLOADS = {"ps-many-clients": ("oltp_point_select", ["--db-ps-mode=auto"])}
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


def raise_fd_limit(wanted):
    """Soft descriptor limit up to the hard one (sysbench with 1 000 threads needs more than
    1 024), inherited by every client started from here; warns when still short."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        print(f"bench: the descriptor limit is {soft}, below the {wanted} this run wants "
              f"(raise the hard limit: ulimit -Hn)", file=sys.stderr)


def read_metrics(addr):
    """ringsql's admin /metrics at addr (HOST:PORT) as (name, labels, value) triples: name
    without its labels, labels as a dict."""
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=2) as r:
        text = r.read().decode("utf-8", "replace")
    samples = []
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        try:
            number = float(value)
        except ValueError:
            continue
        base, _, labels = name.partition("{")
        samples.append((base, dict(re.findall(r'(\w+)="([^"]*)"', labels)), number))
    return samples


class MetricsSampler(threading.Thread):
    """Polls ringsql's admin /metrics every interval seconds while a run goes on (or, with
    no interval, reads it once before the run and once after: no scrape's CPU within the
    run): the most backend connections busy at once (ringsql_pool_connections{state="busy"}
    summed over the pools), the most open (busy + available), and the connections opened and
    closed meanwhile (ringsql_backend_connections_created_total and ..._discarded_total, last
    sample less the first; the last is taken just after the run, so it counts the replacement
    of connections that the clients' ends left dirty, as far as it has gone by then); and
    the client commands each backend was sent (ringsql_backend_queries_total{backend}, where
    routing sent them)."""

    COUNTERS = {"ringsql_backend_connections_created_total": "backend_created",
                "ringsql_backend_connections_discarded_total": "backend_discarded",
                # Clients (or commands) the proxy turned away, all reasons: its own count
                # of what sysbench reports as errors.
                "ringsql_rejected_total": "proxy_rejected",
                "ringsql_sessions_pinned_total": "sessions_pinned"}

    def __init__(self, addr, interval=0.2):
        super().__init__(daemon=True)
        self.addr = addr
        self.interval = interval
        self.stop_event = threading.Event()
        self.busy_max = self.open_max = None
        self.counters = {}  # name: [first, last]
        self.backend_queries = {}  # backend: [first, last]
        self.samples = self.failures = 0

    def begin(self):
        if self.interval:
            self.start()
        else:
            self.sample()

    def sample(self):
        try:
            samples = read_metrics(self.addr)
        except (OSError, ValueError):
            self.failures += 1
            return
        busy = avail = 0.0
        sums = dict.fromkeys(self.COUNTERS, 0.0)
        for name, labels, number in samples:
            if name == "ringsql_pool_connections":
                if labels.get("state") == "busy":
                    busy += number
                elif labels.get("state") == "available":
                    avail += number
            elif name == "ringsql_backend_queries_total" and "backend" in labels:
                self.backend_queries.setdefault(labels["backend"], [number, number])[1] = number
            elif name in sums:  # summed over its labels
                sums[name] += number
        self.samples += 1
        for name, number in sums.items():
            self.counters.setdefault(name, [number, number])[1] = number
        self.busy_max = busy if self.busy_max is None else max(self.busy_max, busy)
        self.open_max = busy + avail if self.open_max is None else max(self.open_max, busy + avail)

    def run(self):
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def finish(self):
        if self.is_alive():
            self.stop_event.set()
            self.join()
        self.sample()  # one after the run: the counter's last word
        figures = {"backend_busy_max": self.busy_max, "backend_open_max": self.open_max,
                   "metric_samples": self.samples}
        for name, key in self.COUNTERS.items():
            if name in self.counters:
                figures[key] = self.counters[name][1] - self.counters[name][0]
        if self.failures:
            figures["metric_failures"] = self.failures
        figures = {k: int(v) if isinstance(v, float) else v for k, v in figures.items()}
        if self.backend_queries:
            figures["backend_queries"] = {b: int(last - first)
                                          for b, (first, last) in self.backend_queries.items()}
        return figures


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
    test, extra = SYSBENCH_WORKLOADS.get(workload) or PS_WORKLOADS[workload]
    # Polled during the run for ps-many-clients (the connections busy at once); otherwise read
    # before and after it only.
    sampler = MetricsSampler(target["admin"], 0.2 if workload in PS_WORKLOADS else None) \
        if target.get("admin") else None
    if sampler:
        sampler.begin()
    cpu0 = cpu_seconds(target["pid"])
    servers0 = [cpu_seconds(pid) for pid in target["servers"]]
    rss0 = rss_kib(target["pid"])
    # sysbench 1.0's --mysql-ssl reads cacert.pem, client-cert.pem and client-key.pem from
    # its working directory. A client that waits for a backend connection waits up to the
    # proxy's own timeouts (ringsql: timeouts.pool_wait); past this bound (a target that
    # stopped answering) sysbench is killed and the run counted as failed ("timeout").
    timed_out = False
    try:
        proc = subprocess.run(sysbench_cmd(args, target, test, extra, threads),
                              capture_output=True, text=True, timeout=args.seconds + 60,
                              cwd=args.tls_dir if target.get("tls") else None)
    except subprocess.TimeoutExpired as e:
        timed_out = True
        text = lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
        proc = subprocess.CompletedProcess(e.cmd, -9, text(e.stdout),
                                           text(e.stderr) + "\nbench: sysbench timed out")
    cpu1 = cpu_seconds(target["pid"])
    servers1 = [cpu_seconds(pid) for pid in target["servers"]]
    backend = sampler.finish() if sampler else {}
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
        if servers0 and None not in servers0 + servers1 and row["queries"]:
            row["servers_cpu_us_per_query"] = \
                (sum(servers1) - sum(servers0)) * 1e6 / row["queries"]
        row["rss_kib"] = rss0
    else:
        row["error"] = (proc.stderr or out).strip().splitlines()[-3:]
        row["errors"] = sysbench_errors(proc.stderr + out, 0)
        row["_output"] = proc.stdout + proc.stderr  # main() keeps it in a file
        if timed_out:
            row["errors"]["timeout"] = 1
    row.update(backend)
    return row


def sysbench_errors(text, ignored):
    """MySQL error codes in sysbench's messages ("... returned error 1040 (Too many ...)",
    "error 1040: ..." at connect, "MySQL error: 1040 ..." at a failed prepare), counted;
    ignored errors it counted without naming a code go under "ignored". sysbench's log
    folds a message repeated at once into "(last message repeated N times)": N more."""
    errors = {}
    last = None  # the codes of the last message logged
    for line in text.splitlines():
        repeated = re.search(r"\(last message repeated (\d+) times?\)", line)
        if repeated:
            for code in last or ():
                errors[code] = errors.get(code, 0) + int(repeated.group(1))
            continue
        last = re.findall(r"\berror:?\s+(\d{4})\b", line)
        for code in last:
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


def skip_reason(t, workload):
    """Why target t does not run workload, or None. The second value: whether the table
    shows the skip (a row with the reason), or leaves the target out of that workload."""
    if workload in PS_WORKLOADS:
        return (None, False) if t["ps"] else ("not a --ps-target", False)
    if t["ps"]:
        return "runs ps-many-clients only", False
    if t["tls"] and workload not in SYSBENCH_WORKLOADS:
        return "ringsql-loadgen speaks no TLS", True
    if t["name"] in args_no_pool and workload == "pool-exhausted":
        return "no pool: it forwards bytes, one backend connection per client", True
    return None, False


# Targets that hold no pool of their own (--no-pool NAME: haproxy): pool-exhausted skips them.
args_no_pool = set()


def prepare(args, targets):
    direct = next((t for t in targets if t["name"] == "direct"), targets[0])
    for test in ("oltp_read_only",):
        cmd = sysbench_cmd(args, direct, test, [], action="cleanup")
        subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        cmd = sysbench_cmd(args, direct, test, [], action="prepare")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            sys.exit("bench: sysbench prepare failed:\n" + proc.stderr + proc.stdout)


def sql_value(args, host, port, query):
    """One value from the mariadb client (as --user), or None when it fails."""
    proc = subprocess.run(["mariadb", "--no-defaults", f"-h{host}", f"-P{port}", f"-u{args.user}",
                           f"-p{args.password}", "--connect-timeout=5", "-N", "-B", "-e", query],
                          capture_output=True, text=True, timeout=600)
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_replicas(args, targets, timeout=300):
    """--replica: waits (bounded) until each replica has applied what the primary (the
    --direct target) logged so far, prepare's tables included (MASTER_GTID_WAIT), then until
    every ringsql with an admin endpoint counts them all readable (ringsql_backend_readable:
    its replication check runs every check_interval, and a replica that lagged during the
    prepare may have left its read set)."""
    primary = targets[0]
    pos = sql_value(args, primary["host"], primary["port"], "SELECT @@gtid_binlog_pos")
    if pos is None:
        sys.exit("bench: cannot read the primary's @@gtid_binlog_pos")
    deadline = time.time() + timeout
    for spec in args.replica:
        _, host, port = parse_target(spec)
        left = max(1, int(deadline - time.time()))
        got = sql_value(args, host, port, f"SELECT MASTER_GTID_WAIT('{pos}', {left})")
        if got != "0":
            sys.exit(f"bench: replica {spec} did not reach the primary's GTID {pos} "
                     f"within {timeout} s ({got})")
    for addr in sorted({t["admin"] for t in targets if t.get("admin")}):
        readable = 0.0
        while time.time() < deadline:
            try:
                readable = sum(v for name, _, v in read_metrics(addr)
                               if name == "ringsql_backend_readable")
            except (OSError, ValueError):
                pass
            if readable >= len(args.replica):
                break
            time.sleep(0.5)
        else:
            sys.exit(f"bench: the ringsql at {addr} counts {readable:.0f} of the "
                     f"{len(args.replica)} replicas readable after {timeout} s")


def facts_bench(args):
    """--facts-bin: the split decision's cost alone (bench/query_facts.c), as markdown."""
    proc = subprocess.run([args.facts_bin], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:  # 1: a statement would go to the primary (named on stderr)
        return proc.stdout + f"\nringsql-query-facts exited {proc.returncode}: " \
            f"{proc.stderr.strip()}\n"
    return proc.stdout


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
    "read-only-text": ("qps", "cpu_us_per_query", "p95_ms"),
    "read-only-skip-trx": ("qps", "cpu_us_per_query", "p95_ms"),
    "connect-storm": ("sessions_per_s", "cpu_us_per_session", None),
    **{w: ("qps", "cpu_us_per_query", None) for w in PROTO_WORKLOADS},
    "idle-scale": ("clients_served", "rss_bytes_per_client", "accept_per_s"),
    "pool-exhausted": ("admitted", "reject_p95_ms", "rejected"),
    # "other": the backend connections used (report() writes it out).
    "ps-many-clients": ("qps", "cpu_us_per_query", "backend_busy_max"),
}


def max_any(rows, key):
    """The largest value of key over rows, failed runs included (a run that failed still
    used the connections it used)."""
    values = [r[key] for r in rows if r.get(key) is not None]
    return max(values) if values else None


def backend_text(rows):
    """ "backends busy ≤ 32 of 32 open; p95 1.20 ms", with "+N opened, M discarded" where the
    target opened any during a run."""
    busy, open_ = max_any(rows, "backend_busy_max"), max_any(rows, "backend_open_max")
    if busy is None:
        return "–"
    text = f"backends busy ≤ {busy} of {open_} open"
    created, discarded = max_any(rows, "backend_created"), max_any(rows, "backend_discarded")
    if created:
        text += f", +{created} opened, {discarded or 0} discarded"
    rejected = max_any(rows, "proxy_rejected")
    if rejected:
        text += f", {rejected} refused"
    p95 = median(rows, "p95_ms")
    return text + (f"; p95 {p95:.2f} ms" if p95 is not None else "")


def spread_text(rows):
    """ "primary 0 %, replica1 50 %, replica2 50 %": the share of the client commands each
    backend was sent, over rows (their "backend_queries", summed over the runs), or None."""
    total = {}
    for r in rows:
        for backend, n in (r.get("backend_queries") or {}).items():
            total[backend] = total.get(backend, 0) + n
    count = sum(total.values())
    if not count:
        return None
    return ", ".join(f"{b} {100 * n / count:.0f} %" for b, n in total.items())


def report(args, rows, targets):
    base = targets[0]["name"]  # --direct: the ratios' base
    lines = [f"# ringsql benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}", "",
             f"{args.runs} interleaved runs of {args.seconds}s each; medians. "
             f"Machine: {os.cpu_count()} CPUs. Ratios are to '{base}'.", "",
             "| workload | threads | target | main | ratio | cpu µs/op or bytes/client | p95 ms / other | "
             "errors (MySQL code×count) |",
             "|---|---|---|---|---|---|---|---|"]
    for workload in args.workloads:
        main_key, eff_key, other_key = FIGURES[workload]
        for threads in thread_counts(args, workload):
            group = [r for r in rows if r["workload"] == workload and r["threads"] == threads]
            direct_main = median([r for r in group if r["target"] == base], main_key)
            for t in targets:
                reason, shown = skip_reason(t, workload)
                if reason:
                    if shown:
                        lines.append(f"| {workload} | {threads} | {t['name']} | – | – | – | – | "
                                     f"skipped: {reason} |")
                    continue
                mine = [r for r in group if r["target"] == t["name"]]
                m = median(mine, main_key)
                ratio = m / direct_main if m is not None and direct_main else None
                errs = errors_text(mine)
                failed = sum(not r.get("ok") for r in mine)
                if workload in PS_WORKLOADS:
                    other = backend_text(mine)
                else:
                    other = fmt(median(mine, other_key), 2) if other_key else "–"
                    servers = median(mine, "servers_cpu_us_per_query")
                    if servers is not None:  # --servers-of
                        other += f"; MariaDB {servers:.1f} µs/q"
                    spread = spread_text(mine)
                    if spread:  # --admin-of: where routing sent the commands
                        other += f"; {spread}"
                lines.append(f"| {workload} | {threads} | {t['name']} | {main_key} {fmt(m)} | "
                             f"{fmt(ratio, 2)} | {fmt(median(mine, eff_key), 2)} | "
                             f"{other} | "
                             f"{errs}{f' ({failed} runs failed)' if failed else ''} |")
    notes = [NOTES[w] for w in args.workloads if w in NOTES]
    if notes:
        lines += [""] + notes
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
    if workload in PS_WORKLOADS:
        return [args.ps_clients]  # the workload's own client count
    return args.threads


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--direct", required=True,
                   help="[NAME=]HOST:PORT of the MariaDB server, the ratios' base (NAME: "
                        "direct)")
    p.add_argument("--ringsql", help="HOST:PORT of ringsql")
    p.add_argument("--peer", action="append", default=[], help="NAME=HOST:PORT, repeatable")
    p.add_argument("--pid-of", action="append", default=[], help="NAME=PID, repeatable")
    p.add_argument("--user", default="ringsql_test")
    p.add_argument("--password", default="test_pass")
    p.add_argument("--database", default="ringsql_test")
    # ps-many-clients is in no default list: run.sh's ringsql-ps-session holds a backend
    # connection per client (1 000 of MariaDB's 2 000) for the whole run.
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
    p.add_argument("--ps-clients", type=int, default=1000,
                   help="ps-many-clients: sysbench threads (default 1000)")
    p.add_argument("--ps-target", action="append", default=[],
                   help="NAME of a target that runs ps-many-clients, and only that, repeatable")
    p.add_argument("--admin-of", action="append", default=[],
                   help="NAME=HOST:PORT of a ringsql's admin endpoint: its backend connections "
                        "are sampled from /metrics during ps-many-clients, repeatable")
    p.add_argument("--no-pool", action="append", default=[],
                   help="NAME of a target without a connection pool (a TCP proxy such as "
                        "haproxy): pool-exhausted skips it, repeatable")
    p.add_argument("--replica", action="append", default=[],
                   help="HOST:PORT of a replica of the --direct server, repeatable: after "
                        "sysbench's prepare, wait until each has the tables, and until every "
                        "--admin-of ringsql counts them readable")
    p.add_argument("--servers-of", action="append", default=[],
                   help="NAME=PID,PID,...: the database servers behind target NAME, whose CPU "
                        "per query (summed) the table adds, repeatable")
    p.add_argument("--facts-bin", help="ringsql-query-facts: run once after the workloads, its "
                                       "table added to the results")
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
        if w not in SYSBENCH_WORKLOADS and w not in LOADGEN_WORKLOADS and \
                w not in PROTO_WORKLOADS and w not in PS_WORKLOADS:
            sys.exit(f"bench: unknown workload '{w}'")
    args_no_pool.update(args.no_pool)
    # sysbench opens a connection per thread, the loadgen a descriptor per client.
    raise_fd_limit(max([args.ps_clients if any(w in PS_WORKLOADS for w in args.workloads) else 0]
                       + ([args.idle_clients] if "idle-scale" in args.workloads else [])
                       + args.threads) + 100)

    pids = dict(x.split("=", 1) for x in args.pid_of)
    admins = dict(x.split("=", 1) for x in args.admin_of)
    servers = {name: [int(pid) for pid in pids_.split(",")]
               for name, pids_ in (x.split("=", 1) for x in args.servers_of)}
    targets = []
    for name, spec in [("direct", args.direct), ("ringsql", args.ringsql)] + \
            [(None, s) for s in args.peer]:
        if not spec:
            continue
        pname, host, port = parse_target(spec)
        # --direct may carry a name of its own (bench/run.sh --replicas: direct-primary).
        name = pname if pname and name == "direct" else name or pname
        targets.append({"name": name, "host": host, "port": port,
                        "pid": int(pids[name]) if name in pids else None,
                        "tls": name in args.tls_target, "ps": name in args.ps_target,
                        "admin": admins.get(name), "servers": servers.get(name, [])})
    if any(w in PS_WORKLOADS for w in args.workloads) and not any(t["ps"] for t in targets):
        print("bench: ps-many-clients has no target (--ps-target NAME; bench/run.sh starts "
              "two when asked for it)", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    if any(w in SYSBENCH_WORKLOADS or w in PROTO_WORKLOADS or w in PS_WORKLOADS
           for w in args.workloads):
        prepare(args, targets)
        if args.replica:
            wait_replicas(args, targets)

    rows = []
    jsonl = open(os.path.join(args.out, "results.jsonl"), "w")
    for run in range(1, args.runs + 1):
        for workload in args.workloads:
            for threads in thread_counts(args, workload):
                for t in targets:  # interleaved: each target once per round
                    reason, shown = skip_reason(t, workload)
                    if reason:
                        if shown and run == 1:
                            print(f"bench: {workload} skips {t['name']}: {reason}",
                                  file=sys.stderr)
                        continue
                    if workload in SYSBENCH_WORKLOADS or workload in PS_WORKLOADS:
                        row = run_sysbench(args, t, workload, threads)
                    else:
                        row = run_loadgen(args, t, workload, threads)
                    row["run"] = run
                    output = row.pop("_output", None)
                    if output:  # a failed sysbench run: its whole output, next to the results
                        row["log"] = f"failed-{workload}-{t['name']}-{threads}-{run}.txt"
                        with open(os.path.join(args.out, row["log"]), "w") as f:
                            f.write(output)
                    rows.append(row)
                    jsonl.write(json.dumps(row) + "\n")
                    jsonl.flush()
                    print(f"bench: run {run} {workload} threads={threads} {t['name']}: "
                          f"{'ok' if row.get('ok') else 'FAILED'}", file=sys.stderr)
    jsonl.close()
    table = report(args, rows, targets)
    if args.facts_bin:
        table += "\n" + facts_bench(args)
    png = plot(args, rows, targets)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table + (f"\n![QPS against threads]({os.path.basename(png)})\n" if png else ""))
    print(table)
    print(f"bench: results in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
