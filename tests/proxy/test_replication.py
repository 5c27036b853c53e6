#!/usr/bin/python3
"""Primary/replica routing end to end: a real replication set (tests/lib/replication.sh: a
primary, server id 1, and two GTID replicas, ids 2 and 3, on loopback), real ringsql, PyMySQL
clients; on each I/O engine: io: auto (io_uring where allowed) and epoll, or only the engine
RINGSQL_IO names (meson's epoll setup). Which server answered is told by SELECT @@server_id.

Config errors (once): --check refuses role: boss, weight: 0 and 1001, a duplicate route
listen, routes with the top-level listen also given, policy: nope (each with file:line:col),
and a split route in session mode (naming split and transaction).

Per engine, one ringsql in transaction mode (routes rw: split, ro: replicas, w: primary;
replica weights 1 and 2; check_interval 200ms, max_lag 2s, read_after_write 1s):
  1. 300 autocommit reads through split: none from the primary, both replicas, replica2 about
     twice as often (ratio 1.4 to 3.0); ringsql_backend_queries_total grew by as much;
     ringsql_backend_role, _lag_seconds and _readable samples.
  2. An INSERT through split lands on the primary and the reads right after it are the
     primary's (read_after_write), later ones the replicas' again; a transaction, SELECT ...
     FOR UPDATE, SELECT @x := 1 (and @x read back), GET_LOCK / RELEASE_LOCK answer from the
     primary; the primary route always 1, the replicas route always 2 or 3.
     Prepared statements (raw COM_STMT_PREPARE / EXECUTE): a read's executes come from both
     replicas, a SELECT ... FOR UPDATE's from the primary; a session that named its database
     at login reads its table on the replicas.
  3. STOP SLAVE SQL_THREAD on replica1: it leaves the read set (readable 0, 100 reads all from
     replica2) and comes back after START SLAVE SQL_THREAD. Lag: MASTER_DELAY=5 on replica1
     and writes on the primary take it past max_lag: it leaves, then comes back.
  4. Promotion: read_only ON on the primary, OFF on replica1 (its replication stopped): a
     transaction through the primary route answers 2 and /metrics says replica1 is primary;
     undone, writes go back to 1.
and one ringsql in session mode (routes ro, w):
  5. sessions through the replicas route stay on one replica (2 or 3) for their whole life;
     through the primary route 1.
then, last (it kills the primary; restarted for the next engine):
  6. a client inside BEGIN; SELECT SLEEP(5) through split gets an error (its class and code
     printed) soon after the primary is SIGKILLed, while clients already logged in read 50
     times through split and through the replicas route, all answered by replicas.
  7. with the primary still dead: /readyz 503 ("no primary"), a transaction through the primary
     route gets 1429 naming it; replica1 promoted by hand (STOP SLAVE, read_only OFF) takes
     the writes within a check (a transaction answers 2, an INSERT through split lands there)
     and /readyz is 200 again.
Every ringsql exits 0 on SIGTERM with no sanitizer report in its log.

Usage: test_replication.py RINGSQL_BIN REPLICATION_SH. Prints TAP. Starts (and stops) its own
replication set in a temporary directory under $RINGSQL_TEST_TMPDIR. Needs the Debian python3
(PyMySQL)."""
import collections
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ringsql_proc import RingsqlProc, check as run_check, engines, finish  # noqa: E402
from taplib import Tap, free_port, wait_until  # noqa: E402

try:
    import pymysql
    from pymysql.constants import COMMAND
except ImportError:
    print("Bail out! PyMySQL is not installed for this python (apt-get install python3-pymysql)")
    sys.exit(1)

if len(sys.argv) != 3:
    print("Bail out! usage: test_replication.py RINGSQL_BIN REPLICATION_SH")
    sys.exit(1)
bin_path, repl_sh = sys.argv[1], sys.argv[2]

tap = Tap()
started = time.monotonic()
work = tempfile.mkdtemp(prefix="ringsql-repl-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
repl_dir = os.path.join(work, "repl")
# Each ringsql gets the engine its case names: the suite's RINGSQL_IO chooses which run.
base_env, engine_list = engines()

START_S = 30  # bound on a ringsql (or the sanitizer build of it) starting to serve
CHECK_S = 10  # bound on ringsql seeing a change of a server (check_interval is 200ms)
IDS = {"primary": 1, "replica1": 2, "replica2": 3}
REPLICA_IDS = {2, 3}
ports = {}  # server name -> port, from replication.sh's env file


def check(what, fn):
    run_check(tap, what, fn)


# ---------- the replication set ----------

def repl(*args, timeout=120):
    return subprocess.run([repl_sh, *args], capture_output=True, text=True, timeout=timeout,
                          env=base_env)


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"export (\w+)=(.*)$", line.strip())
            if m:
                env[m.group(1)] = m.group(2)
    return env


def pm(port, user="app", pw="secret", database=None, read_timeout=30):
    """A PyMySQL connection, autocommit on (PyMySQL's default of off would send
    SET autocommit=0: every statement in a transaction, on the primary)."""
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw,
                           database=database, autocommit=True, connect_timeout=10,
                           read_timeout=read_timeout, write_timeout=30)


def direct(server):
    """A connection straight to one server of the set, as the test user."""
    return pm(ports[server], user="ringsql_test", pw="test_pass")


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def sid(conn):
    return one(conn, "SELECT @@server_id")[0]


def on(server, *statements):
    """Runs statements on one server directly; the last one's first row."""
    conn = direct(server)
    try:
        row = None
        for sql in statements:
            row = one(conn, sql)
        return row
    finally:
        conn.close()


def slave_status(server):
    """SHOW SLAVE STATUS of a replica as a dict (empty when it has none)."""
    conn = direct(server)
    try:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW SLAVE STATUS")
            return cur.fetchone() or {}
    finally:
        conn.close()


def replicating(server):
    st = slave_status(server)
    return st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes"


def replicated(token):
    """Whether both replicas show the row of repl_t with this token."""
    sql = "SELECT COUNT(*) FROM ringsql_test.repl_t WHERE token = %s"
    for r in ("replica1", "replica2"):
        conn = direct(r)
        try:
            if one(conn, sql, (token,))[0] != 1:
                return False
        finally:
            conn.close()
    return True


# ---------- ringsql ----------

USERS = """users:
  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
"""


def backends_yaml(p=None, r1=None, r2=None):
    p, r1, r2 = (p or ports["primary"], r1 or ports["replica1"], r2 or ports["replica2"])
    return f"""backends:
  - name: primary
    address: "127.0.0.1:{p}"
    role: primary
  - name: replica1
    address: "127.0.0.1:{r1}"
    role: replica
    weight: 1
  - name: replica2
    address: "127.0.0.1:{r2}"
    role: replica
    weight: 2
"""


def routes_yaml(routes):
    """routes: [(name, listen port, policy)]."""
    return "routes:\n" + "".join(
        f'  - name: {n}\n    listen: "127.0.0.1:{port}"\n    policy: {pol}\n'
        for n, port, pol in routes)


def config(mode, routes, admin, read_after_write=True, backends=None):
    raw = "  read_after_write: 1s\n" if read_after_write else ""
    return ("workers: 1\n" + (backends or backends_yaml()) + routes_yaml(routes) +
            "replication:\n  check_interval: 200ms\n  max_lag: 2s\n" + raw + USERS +
            f"pool:\n  size: 4\n  mode: {mode}\n" +
            f'admin:\n  listen: "127.0.0.1:{admin}"\n')


SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Ringsql(RingsqlProc):
    """One ringsql on its own routes (name -> policy) and admin port."""

    def __init__(self, name, engine, mode, policies, read_after_write=True):
        self.ports = {n: free_port() for n in policies}
        admin = free_port()
        base = os.path.join(work, f"{engine}-{name}")
        with open(base + ".yaml", "w") as f:
            f.write(config(mode, [(n, self.ports[n], pol) for n, pol in policies.items()],
                           admin, read_after_write))
        super().__init__(tap, f"{engine}/{name}", bin_path, base + ".yaml", base + ".log", admin,
                         engine, base_env)

    def metric(self, name, **labels):
        """The value of the sample of name whose labels include these (in any order), or None
        (also when the admin endpoint does not answer)."""
        for line in self.metrics().splitlines():
            m = SAMPLE.match(line)
            if not m or m.group(1) != name:
                continue
            have = dict(LABEL.findall(m.group(2) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                return float(m.group(3))
        return None


def answers(port):
    try:
        conn = pm(port, read_timeout=5)
        try:
            return one(conn, "SELECT 6 * 7")[0] == 42
        finally:
            conn.close()
    except Exception:  # noqa: BLE001: not serving (yet)
        return False


def readable(rs, backend):
    return rs.metric("ringsql_backend_readable", backend=backend)


def wait_serving(rs):
    """Bounded wait until every route of rs answers and both replicas are readable; False
    (with its log shown) if that never comes."""
    def ready():
        return (all(answers(p) for p in rs.ports.values()) and
                readable(rs, "replica1") == 1 and readable(rs, "replica2") == 1)
    wait_until(lambda: rs.proc.poll() is not None or ready(), START_S, 0.1)
    ok = rs.proc.poll() is None and ready()
    if not ok:
        for line in rs.log().splitlines()[-8:]:
            print(f"# {rs.name}: {line}")
    return ok


def ids_of(conn, n):
    return [sid(conn) for _ in range(n)]


def txn_sid(port):
    """BEGIN; SELECT @@server_id; COMMIT on a new connection: the id, or the error's text."""
    try:
        conn = pm(port, read_timeout=5)
        try:
            conn.begin()
            got = sid(conn)
            conn.commit()
            return got
        finally:
            conn.close()
    except Exception as e:  # noqa: BLE001: no primary for the moment
        return f"{type(e).__name__}: {e}"


# ---------- cases ----------

def c1_weights(rs):
    replicas = ("replica1", "replica2")
    before = {b: rs.metric("ringsql_backend_queries_total", backend=b) for b in replicas}
    conn = pm(rs.ports["rw"])
    try:
        counts = collections.Counter(ids_of(conn, 300))
    finally:
        conn.close()
    print(f"# {rs.name}: 300 reads through split: {dict(sorted(counts.items()))}")
    tap(counts[1] == 0, f"{rs.name}: split: no read answered by the primary", f"{counts}")
    tap(counts[2] > 0 and counts[3] > 0, f"{rs.name}: split: both replicas answer", f"{counts}")
    ratio = counts[3] / counts[2] if counts[2] else float("inf")
    tap(1.4 <= ratio <= 3.0, f"{rs.name}: replica2 (weight 2) answers about twice as often as "
        f"replica1 (weight 1): {ratio:.2f}", f"{counts}")
    want = {"replica1": counts[2], "replica2": counts[3]}

    def grew():
        now = {b: rs.metric("ringsql_backend_queries_total", backend=b) for b in replicas}
        return all(now[b] is not None and now[b] - (before[b] or 0) >= want[b]
                   for b in replicas), now
    ok = wait_until(lambda: grew()[0], 5, 0.1)
    tap(ok and None not in before.values(), f"{rs.name}: ringsql_backend_queries_total of the "
        "replicas grew by their answers", f"before {before}, after {grew()[1]}, answers {want}")
    samples = [("ringsql_backend_role", dict(backend="primary", role="primary"), 1),
               ("ringsql_backend_role", dict(backend="replica1", role="replica"), 1),
               ("ringsql_backend_role", dict(backend="replica2", role="replica"), 1),
               ("ringsql_backend_readable", dict(backend="replica1"), 1),
               ("ringsql_backend_readable", dict(backend="replica2"), 1)]
    for name, labels, value in samples:
        got = rs.metric(name, **labels)
        tap(got == value, f"{rs.name}: {name}{labels} {value}", f"got {got}")
    lag = rs.metric("ringsql_backend_lag_seconds", backend="replica1")
    tap(lag is not None and lag < 2, f'{rs.name}: ringsql_backend_lag_seconds{{backend='
        f'"replica1"}} present ({lag})', f"got {lag}")


def c2_primary_paths(rs):
    rw, ro, w = rs.ports["rw"], rs.ports["ro"], rs.ports["w"]
    # An INSERT lands on the primary; reads right after it are the primary's
    # (read_after_write 1s), later ones the replicas' again.
    token = f"c2-{rs.name}-{time.time_ns()}"
    conn = pm(rw)
    try:
        one(conn, "INSERT INTO ringsql_test.repl_t (token) VALUES (%s)", (token,))
        t_write = time.monotonic()
        after = ids_of(conn, 5)
        took = time.monotonic() - t_write
        on_primary = on("primary", "SELECT COUNT(*) FROM ringsql_test.repl_t WHERE token = "
                        + conn.escape(token))[0]
        tap(on_primary == 1, f"{rs.name}: split: an INSERT lands on the primary",
            f"{on_primary} rows")
        tap(after == [1] * 5, f"{rs.name}: split: 5 reads right after the INSERT ({took:.3f} s) "
            "answered by the primary (read_after_write)", f"{after}")
        seen = []
        back = wait_until(lambda: seen.append(sid(conn)) or seen[-1] in REPLICA_IDS, 5, 0.05)
        when = time.monotonic() - t_write
        print(f"# {rs.name}: reads back on replicas {when:.2f} s after the INSERT "
              f"({len(seen)} reads)")
        tap(back and when >= 0.8, f"{rs.name}: split: reads go back to the replicas once "
            f"read_after_write (1s) passed ({when:.2f} s)", f"{seen[-10:]} after {when:.2f} s")
    finally:
        conn.close()
    # A transaction, every statement in it.
    conn = pm(rw)
    try:
        conn.begin()
        inside = ids_of(conn, 3)
        conn.commit()
        t_commit = time.monotonic()
        tap(inside == [1, 1, 1], f"{rs.name}: split: BEGIN; SELECT @@server_id x3; COMMIT: the "
            "primary answers inside the transaction", f"{inside}")
        # A COMMIT may count as a write (read_after_write): back within that and a bound.
        seen = []
        back = wait_until(lambda: seen.append(sid(conn)) or seen[-1] in REPLICA_IDS, 5, 0.05)
        print(f"# {rs.name}: reads back on replicas {time.monotonic() - t_commit:.2f} s after "
              f"the COMMIT ({len(seen)} reads)")
        tap(back, f"{rs.name}: split: after COMMIT reads go to the replicas again",
            f"{seen[-10:]}")
    finally:
        conn.close()
    # Statements that must run on the primary, each on a fresh session that first reads from
    # a replica (so the answer 1 is the statement's own routing).
    shapes = [
        ("SELECT ... FOR UPDATE",
         ["SELECT @@server_id FROM ringsql_test.repl_t ORDER BY id LIMIT 1 FOR UPDATE"],
         lambda rows: rows[0][0] == 1),
        ("SELECT @x := 1, then @x read back",
         ["SELECT @x := 1, @@server_id", "SELECT @x, @@server_id"],
         lambda rows: rows[0] == (1, 1) and rows[1] == (1, 1)),
        ("SELECT GET_LOCK('a', 0), then RELEASE_LOCK('a')",
         ["SELECT GET_LOCK('a', 0), @@server_id", "SELECT RELEASE_LOCK('a'), @@server_id"],
         lambda rows: rows[0] == (1, 1) and rows[1] == (1, 1)),
    ]
    for what, statements, good in shapes:
        conn = pm(rw)
        try:
            first = sid(conn)
            rows = [one(conn, s) for s in statements]
        finally:
            conn.close()
        tap(first in REPLICA_IDS and good(rows), f"{rs.name}: split: {what}: the primary",
            f"first read {first}, then {rows}")
    for port, what, want in ((w, "primary route: 1", {1}), (ro, "replicas route: 2 or 3",
                                                            REPLICA_IDS)):
        conn = pm(port)
        try:
            got = ids_of(conn, 20)
        finally:
            conn.close()
        tap(set(got) <= want, f"{rs.name}: 20 reads through the {what}", f"{got}")


def stmt_prepare(conn, sql):
    """COM_STMT_PREPARE on a PyMySQL connection (which has no server-side prepares of its
    own; its capabilities leave out DEPRECATE_EOF): the statement id."""
    conn._execute_command(COMMAND.COM_STMT_PREPARE, sql)
    first = conn._read_packet().get_all_data()
    stmt_id, cols, params = struct.unpack_from("<IHH", first, 1)
    for count in (params, cols):
        if count:
            while not conn._read_packet().is_eof_packet():
                pass
    return stmt_id


def stmt_execute_text(conn, stmt_id):
    """COM_STMT_EXECUTE of a statement without parameters whose one row has one string
    column: its value."""
    conn._execute_command(COMMAND.COM_STMT_EXECUTE, struct.pack("<IBI", stmt_id, 0, 1))
    conn._read_packet()  # the column count
    while not conn._read_packet().is_eof_packet():
        pass  # the column definition
    row = conn._read_packet().get_all_data()  # 0x00, the NULL bitmap, a length-coded string
    while not conn._read_packet().is_eof_packet():
        pass
    return row[3:3 + row[2]].decode()


def c2_statements_and_database(rs):
    """split judges a prepared statement's execute by its text: a read goes to the replicas
    (prepared again there by ringsql), a locking read to the primary; a session that named its
    database at login reads its tables on a replica."""
    rw = rs.ports["rw"]
    conn = pm(rw)
    try:
        read = stmt_prepare(conn, "SELECT CAST(@@server_id AS CHAR)")
        locking = stmt_prepare(conn, "SELECT CAST(@@server_id AS CHAR) FROM ringsql_test.repl_t "
                                     "ORDER BY id LIMIT 1 FOR UPDATE")
        reads = collections.Counter(int(stmt_execute_text(conn, read)) for _ in range(30))
        locks = {int(stmt_execute_text(conn, locking)) for _ in range(5)}
    finally:
        conn.close()
    tap(set(reads) == REPLICA_IDS, f"{rs.name}: split: 30 executes of a prepared read, from "
        f"both replicas only ({dict(reads)})", f"{dict(reads)}")
    tap(locks == {1}, f"{rs.name}: split: executes of a prepared SELECT ... FOR UPDATE: the "
        "primary", f"{locks}")
    conn = pm(rw, database="ringsql_test")
    try:
        got = [one(conn, "SELECT COUNT(*) > 0, @@server_id FROM repl_t") for _ in range(6)]
    finally:
        conn.close()
    tap(all(r[0] == 1 for r in got) and {r[1] for r in got} <= REPLICA_IDS,
        f"{rs.name}: split: a session logged in to ringsql_test reads its table on replicas",
        f"{got}")


def c3_stopped_replica(rs):
    on("replica1", "STOP SLAVE SQL_THREAD")
    try:
        t0 = time.monotonic()
        left = wait_until(lambda: readable(rs, "replica1") == 0, CHECK_S, 0.05)
        print(f"# {rs.name}: replica1 readable 0 {time.monotonic() - t0:.2f} s after STOP "
              f"SLAVE SQL_THREAD; lag sample "
              f"{rs.metric('ringsql_backend_lag_seconds', backend='replica1')}")
        tap(left, f'{rs.name}: SQL thread stopped: ringsql_backend_readable{{backend="replica1"}}'
            " 0", f"readable {readable(rs, 'replica1')}")
        # Writes while it is stopped (replica1 falls behind; there is no lag figure).
        one_token = f"c3-{rs.name}-{time.time_ns()}"
        on("primary", f"INSERT INTO ringsql_test.repl_t (token) VALUES ('{one_token}')")
        conn = pm(rs.ports["rw"])
        try:
            got = collections.Counter(ids_of(conn, 100))
        finally:
            conn.close()
        tap(left and got == {3: 100}, f"{rs.name}: split: 100 reads all from replica2",
            f"{dict(got)}")
    finally:
        on("replica1", "START SLAVE SQL_THREAD")
    back = wait_until(lambda: readable(rs, "replica1") == 1, CHECK_S, 0.05)
    conn = pm(rs.ports["rw"])
    try:
        seen = []
        answered = back and wait_until(lambda: seen.append(sid(conn)) or seen[-1] == 2, 5, 0.01)
    finally:
        conn.close()
    tap(back and answered, f"{rs.name}: START SLAVE SQL_THREAD: replica1 readable and answering "
        f"again ({len(seen)} reads)", f"readable {readable(rs, 'replica1')}, {seen[-10:]}")


def c3_lag(rs):
    """MASTER_DELAY=5 on replica1 and a write on the primary every 0.2 s: its
    Seconds_Behind_Master climbs past max_lag (2s) while both threads run."""
    on("replica1", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 5", "START SLAVE")
    try:
        conn = direct("primary")
        try:
            t0, left = time.monotonic(), False
            for i in range(60):  # 12 s at most
                one(conn, "INSERT INTO ringsql_test.repl_t (token) VALUES (%s)", (f"lag-{i}",))
                if readable(rs, "replica1") == 0:
                    left = True
                    break
                time.sleep(0.2)
            took = time.monotonic() - t0
            lag = rs.metric("ringsql_backend_lag_seconds", backend="replica1")
            sbm = slave_status("replica1").get("Seconds_Behind_Master")
            print(f"# {rs.name}: replica1 left the read set {took:.2f} s into the writes; lag "
                  f"sample {lag}, Seconds_Behind_Master {sbm}")
            tap(left and replicating("replica1") and lag is not None and lag > 2,
                f"{rs.name}: replica1 behind by more than max_lag (2s) leaves the read set, "
                f"its lag in ringsql_backend_lag_seconds ({lag})",
                f"readable {readable(rs, 'replica1')}, lag {lag}, Seconds_Behind_Master {sbm}")
            c = pm(rs.ports["rw"])
            try:
                got = collections.Counter(ids_of(c, 50))
            finally:
                c.close()
            tap(left and got == {3: 50}, f"{rs.name}: split: 50 reads all from replica2 while "
                "replica1 lags", f"{dict(got)}")
        finally:
            conn.close()
    finally:
        on("replica1", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    back = wait_until(lambda: readable(rs, "replica1") == 1, 15, 0.1)
    tap(back, f"{rs.name}: replica1 caught up: readable again",
        f"readable {readable(rs, 'replica1')}, "
        f"lag {rs.metric('ringsql_backend_lag_seconds', backend='replica1')}")


def c4_promotion(rs):
    w = rs.ports["w"]
    on("replica1", "STOP SLAVE")
    try:
        on("primary", "SET GLOBAL read_only = ON")
        on("replica1", "SET GLOBAL read_only = OFF")
        t0, seen = time.monotonic(), []
        ok = wait_until(lambda: seen.append(txn_sid(w)) or seen[-1] == 2, CHECK_S, 0.1)
        print(f"# {rs.name}: the primary route reached replica1 {time.monotonic() - t0:.2f} s "
              f"after the read_only swap; on the way: {collections.Counter(map(str, seen))}")
        tap(ok, f"{rs.name}: read_only swapped: a transaction through the primary route "
            "answers 2", f"{seen[-5:]}")
        role = rs.metric("ringsql_backend_role", backend="replica1", role="primary")
        tap(role == 1, f'{rs.name}: ringsql_backend_role{{backend="replica1",role="primary"}} 1',
            f"got {role}")
        got = txn_sid(rs.ports["rw"])
        tap(got == 2, f"{rs.name}: split: a transaction goes to the new primary", f"{got}")
    finally:
        on("replica1", "SET GLOBAL read_only = ON")
        on("primary", "SET GLOBAL read_only = OFF")
        on("replica1", "START SLAVE")
    seen = []
    ok = wait_until(lambda: seen.append(txn_sid(w)) or seen[-1] == 1, CHECK_S, 0.1)
    tap(ok, f"{rs.name}: swapped back: the primary route answers 1 again", f"{seen[-5:]}")
    for backend, role in (("primary", "primary"), ("replica1", "replica")):
        got = rs.metric("ringsql_backend_role", backend=backend, role=role)
        tap(got == 1, f'{rs.name}: ringsql_backend_role{{backend="{backend}",role="{role}"}} 1 '
            "again", f"got {got}")
    back = wait_until(lambda: readable(rs, "replica1") == 1, CHECK_S, 0.1)
    tap(back, f"{rs.name}: replica1 readable again", f"readable {readable(rs, 'replica1')}")


def c5_session(rs):
    per_session = []
    # 4: at most pool.size sessions on one replica, however they spread.
    conns = [pm(rs.ports["ro"]) for _ in range(4)]
    try:
        for _ in range(10):
            for i, conn in enumerate(conns):
                if len(per_session) <= i:
                    per_session.append([])
                per_session[i].append(sid(conn))
    finally:
        for conn in conns:
            conn.close()
    print(f"# {rs.name}: sessions through the replicas route: "
          f"{[s[0] if len(set(s)) == 1 else s for s in per_session]}")
    tap(all(len(set(s)) == 1 and s[0] in REPLICA_IDS for s in per_session),
        f"{rs.name}: session mode: 4 sessions through the replicas route, each on one replica "
        "for its whole life", f"{per_session}")
    conn = pm(rs.ports["w"])
    try:
        conn.begin()
        got = ids_of(conn, 2)
        conn.commit()
        got += ids_of(conn, 8)
    finally:
        conn.close()
    tap(got == [1] * 10, f"{rs.name}: session mode: a session through the primary route: 1",
        f"{got}")


def c6_primary_killed(rs):
    rw, ro = rs.ports["rw"], rs.ports["ro"]
    readers = {"split": pm(rw), "replicas route": pm(ro)}
    victim = pm(rw, read_timeout=30)
    outcome = {}
    try:
        for conn in readers.values():
            sid(conn)  # logged in and served before the kill
        victim.begin()
        first = sid(victim)

        def sleeper():
            t0 = time.monotonic()
            try:
                outcome["result"] = one(victim, "SELECT SLEEP(5)")
            except Exception as e:  # noqa: BLE001: the error is what this case looks at
                outcome["error"] = e
            outcome["at"] = time.monotonic()
            outcome["t0"] = t0
        th = threading.Thread(target=sleeper, daemon=True)
        th.start()
        sleeping = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE " \
                   "'SELECT SLEEP(5)%'"
        running = wait_until(lambda: on("primary", sleeping)[0] >= 1, 5, 0.05)
        tap(first == 1 and running, f"{rs.name}: BEGIN; SELECT SLEEP(5) through split runs on "
            "the primary", f"first read {first}, on the primary's processlist: {running}")
        t_kill = time.monotonic()
        r = repl("kill", "primary", repl_dir, timeout=30)
        tap(r.returncode == 0, "replication.sh kill primary", r.stderr.strip()[-300:])
        # Meanwhile, clients already logged in read through split and the replicas route.
        for what, conn in readers.items():
            got, errors = collections.Counter(), []
            for _ in range(50):
                try:
                    got[sid(conn)] += 1
                except Exception as e:  # noqa: BLE001: counted; a closed session opened again
                    errors.append(f"{type(e).__name__}: {e}")
                    if not conn.open:
                        try:
                            readers[what] = conn = pm(rw if what == "split" else ro)
                        except Exception as e2:  # noqa: BLE001
                            errors.append(f"login again: {type(e2).__name__}: {e2}")
                            break
            tap(not errors and set(got) <= REPLICA_IDS,
                f"{rs.name}: primary dead: 50 reads through the {what}, all from replicas "
                f"({dict(got)})", f"{dict(got)}; {len(errors)} errors, {errors[:2]}")
        th.join(timeout=max(0.1, 10 - (time.monotonic() - t_kill)))
        err = outcome.get("error")
        took = outcome["at"] - t_kill if "at" in outcome else None
        code = err.args[0] if err is not None and err.args else None
        if err is not None:
            print(f"# {rs.name}: the client in SELECT SLEEP(5) got {type(err).__name__}"
                  f"{err.args} {took:.2f} s after the kill")
        else:
            print(f"# {rs.name}: the client in SELECT SLEEP(5): {outcome or 'no answer yet'}")
        tap(isinstance(err, (pymysql.err.OperationalError, pymysql.err.InternalError)) and
            isinstance(code, int) and took is not None and took < 10,
            f"{rs.name}: the client inside the transaction gets an error within 10 s of the "
            f"kill ({type(err).__name__} {code})", f"{outcome or 'no answer within 10 s'}")
        # Not specified: whether a new session can log in while the primary is down.
        try:
            c = pm(ro, database="ringsql_test", read_timeout=5)
            try:
                print(f"# {rs.name}: a new login through the replicas route (naming a database)"
                      f" while the primary is down: answered {sid(c)}")
            finally:
                c.close()
        except Exception as e:  # noqa: BLE001: reported, not judged
            print(f"# {rs.name}: a new login through the replicas route while the primary is "
                  f"down: {type(e).__name__}: {e}")
    finally:
        for conn in list(readers.values()) + [victim]:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def readyz(rs):
    """/readyz's status and first line, or (None, why) when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{rs.admin}/readyz", timeout=5) as r:
            return r.status, r.read().decode().strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode().strip()
    except OSError as e:
        return None, str(e)


def c7_failover_after_crash(rs):
    """The primary is dead (c6): writes get 1429 naming it and /readyz says there is no
    primary; replica1 promoted by hand (as an orchestrator would) takes the writes within a
    check, /readyz is 200 again, and an INSERT through split lands on replica1. Undone after
    (replica1 read_only and replicating again once the primary is back: main())."""
    rw, w = rs.ports["rw"], rs.ports["w"]
    status = wait_until(lambda: readyz(rs)[0] == 503, CHECK_S, 0.1)
    tap(status and "no primary" in readyz(rs)[1],
        f"{rs.name}: primary dead: /readyz 503, no primary", f"{readyz(rs)}")
    got = txn_sid(w)
    tap(isinstance(got, str) and "1429" in got and "'primary'" in got,
        f"{rs.name}: primary dead: a transaction through the primary route gets 1429 naming it",
        f"{got}")
    on("replica1", "STOP SLAVE", "SET GLOBAL read_only = OFF")
    try:
        seen = []
        ok = wait_until(lambda: seen.append(txn_sid(w)) or seen[-1] == 2, CHECK_S, 0.1)
        tap(ok, f"{rs.name}: replica1 promoted after the crash: the primary route answers 2",
            f"{seen[-3:]}")
        tap(wait_until(lambda: readyz(rs)[0] == 200, CHECK_S, 0.1),
            f"{rs.name}: /readyz 200 again with the new primary", f"{readyz(rs)}")
        # A table of replica1's own: rows the old primary never had do not collide with its
        # when replica1 replicates from it again.
        on("replica1", "SET SESSION sql_log_bin = 0",
           "CREATE TABLE IF NOT EXISTS ringsql_test.failover_t (token VARCHAR(100))")
        conn = pm(rw)
        try:
            token = f"failover-{rs.name}-{time.monotonic_ns()}"
            one(conn, "INSERT INTO ringsql_test.failover_t (token) VALUES (%s)", (token,))
        finally:
            conn.close()
        landed = on("replica1", f"SELECT COUNT(*) FROM ringsql_test.failover_t WHERE token = "
                                f"'{token}'")[0]
        tap(landed == 1, f"{rs.name}: an INSERT through split lands on the new primary",
            f"rows on replica1: {landed}")
    finally:
        on("replica1", "SET GLOBAL read_only = ON", "START SLAVE")


# ---------- config errors ----------

def check_cfg(path):
    return subprocess.run([bin_path, "--check", "-c", path], capture_output=True, text=True,
                          timeout=30)


def config_errors():
    p, a, b, c, adm = 13306, 16033, 16034, 16035, 19033
    good = config("transaction", [("rw", a, "split"), ("ro", b, "replicas"), ("w", c, "primary")],
                  adm, backends=backends_yaml(p, p + 1, p + 2))
    path = os.path.join(work, "check-good.yaml")
    with open(path, "w") as f:
        f.write(good)
    r = check_cfg(path)
    tap(r.returncode == 0, "--check: the routing config is valid",
        f"rc {r.returncode}; {r.stderr.strip()[-300:]!r}")
    dup = good.replace(f'127.0.0.1:{b}"', f'127.0.0.1:{a}"')
    bad = [
        # (name, text, the text of the line the error should name, or None for any line)
        ("role: boss", good.replace("role: replica", "role: boss", 1), "role: boss"),
        ("weight: 0", good.replace("weight: 1\n", "weight: 0\n"), "weight: 0"),
        ("weight: 1001", good.replace("weight: 2\n", "weight: 1001\n"), "weight: 1001"),
        ("routes with a duplicate listen", dup, None),
        ("routes and the top-level listen", 'listen: "127.0.0.1:16036"\n' + good, None),
        ("policy: nope", good.replace("policy: replicas", "policy: nope"), "policy: nope"),
    ]
    for what, text, line_text in bad:
        path = os.path.join(work, "check-" + re.sub(r"\W+", "_", what) + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        r = check_cfg(path)
        m = re.search(r"(?:^|/)" + re.escape(os.path.basename(path)) + r":(\d+):(\d+):",
                      r.stderr, re.M)
        line_ok = True
        if m and line_text:
            named = text.splitlines()[int(m.group(1)) - 1] if int(m.group(1)) >= 1 else ""
            line_ok = line_text in named
        tap(r.returncode != 0 and m is not None and line_ok,
            f"--check refuses {what} (file:line:col{', its line' if line_text else ''})",
            f"rc {r.returncode}; {r.stderr.strip()[-300:]!r}")
        first = (r.stderr.strip().splitlines() or [""])[0]
        print(f"# {what}: {first[:200]}")
    path = os.path.join(work, "check-split-session.yaml")
    with open(path, "w") as f:
        f.write(good.replace("mode: transaction", "mode: session"))
    r = check_cfg(path)
    tap(r.returncode != 0 and "split" in r.stderr and "transaction" in r.stderr,
        "--check refuses a split route in session mode, naming split and transaction",
        f"rc {r.returncode}; {r.stderr.strip()[-300:]!r}")
    print(f"# split in session mode: {(r.stderr.strip().splitlines() or [''])[0][:200]}")


# ---------- main ----------

def engine_run(engine):
    """Cases 1-6 on one engine (the primary may be dead after it)."""
    txn = Ringsql("transaction", engine, "transaction",
                  {"rw": "split", "ro": "replicas", "w": "primary"})
    sess = Ringsql("session", engine, "session", {"ro": "replicas", "w": "primary"},
                   read_after_write=False)
    try:
        t0 = time.monotonic()
        txn_ok = wait_serving(txn)
        tap(txn_ok, f"{txn.name}: serves on its three routes, both replicas readable "
            f"(engine {txn.engine()})")
        sess_ok = wait_serving(sess)
        tap(sess_ok, f"{sess.name}: serves on its two routes, both replicas readable "
            f"(engine {sess.engine()})")
        print(f"# {engine}: ringsql up {time.monotonic() - t0:.1f} s")
        if txn_ok:
            for what, fn in (("weights", c1_weights), ("primary paths", c2_primary_paths),
                             ("statements and database", c2_statements_and_database),
                             ("stopped replica", c3_stopped_replica), ("lag", c3_lag),
                             ("promotion", c4_promotion)):
                t0 = time.monotonic()
                check(f"{txn.name}: {what}", lambda: fn(txn))
                print(f"# {txn.name}: {what} {time.monotonic() - t0:.1f} s")
        if sess_ok:
            check(f"{sess.name}: session mode", lambda: c5_session(sess))
        if txn_ok:
            sess.stop()
            t0 = time.monotonic()
            check(f"{txn.name}: primary killed", lambda: c6_primary_killed(txn))
            print(f"# {txn.name}: primary killed {time.monotonic() - t0:.1f} s")
            check(f"{txn.name}: failover after the crash", lambda: c7_failover_after_crash(txn))
    finally:
        txn.stop()
        sess.stop()


def primary_alive():
    try:
        return on("primary", "SELECT 1")[0] == 1
    except pymysql.err.MySQLError:
        return False


def main():
    # meson's timeout sends SIGTERM: the cleanup below (the replication set) still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("SIGTERM"))
    print(f"# engines: {', '.join(engine_list)}; ringsql {bin_path}")
    check("config errors", config_errors)
    try:
        t0 = time.monotonic()
        r = repl("start", repl_dir)
        if r.returncode != 0:
            print("Bail out! the replication set did not start: "
                  + " | ".join(r.stderr.strip().splitlines()[-15:]))
            sys.exit(1)
        env = read_env(os.path.join(repl_dir, "env"))
        for name in IDS:
            ports[name] = int(env[f"RINGSQL_REPL_{name.upper()}_PORT"])
        on("primary", "CREATE TABLE IF NOT EXISTS ringsql_test.repl_t "
           "(id INT AUTO_INCREMENT PRIMARY KEY, token VARCHAR(100))",
           "INSERT INTO ringsql_test.repl_t (token) VALUES ('seed')")
        ok = wait_until(lambda: replicated("seed"), 30, 0.1)
        got = {n: on(n, "SELECT @@server_id, @@read_only")[0:2] for n in IDS}
        tap(ok and got == {"primary": (1, 0), "replica1": (2, 1), "replica2": (3, 1)},
            "replication set: ids 1, 2, 3; replicas read_only and replicating",
            f"{got}; seed row replicated {ok}")
        print(f"# replication set {time.monotonic() - t0:.1f} s (set-up "
              f"{time.monotonic() - started:.1f} s); ports {ports}")
        for i, engine in enumerate(engine_list):
            t0 = time.monotonic()
            engine_run(engine)
            if i < len(engine_list) - 1 and not primary_alive():
                r = repl("restart", "primary", repl_dir)
                tap(r.returncode == 0, "replication.sh restart primary: replication healthy "
                    "again", r.stderr.strip()[-300:])
                if r.returncode != 0:
                    break
            print(f"# {engine}: {time.monotonic() - t0:.1f} s")
    finally:
        RingsqlProc.kill_left()
        repl("stop", repl_dir, timeout=90)
    finish(tap, work, started)


main()
