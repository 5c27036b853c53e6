#!/usr/bin/python3
"""A bounded chaos run against ringsql, in both pool modes, on a MariaDB of its own: clients
query, abandon their queries, pipeline, change user, kill each other's queries (their own
user's), send commands over max_allowed_packet and random bytes, while the backend is
restarted once. Every
client operation has a timeout, so a hang shows as a failure, never as a stuck run. Then:
no session is left, the pool is back to its size, descriptors and RSS are back within a bound
of where they were after the warm-up, a new client is served, and SIGTERM gives exit 0 with no
sanitizer report in the log.

Usage: chaos.py RINGSQL_BIN MARIADB_SH. Prints TAP. Bounds: ROUNDS actions per client thread
and SECONDS in all, whichever ends first."""
import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taplib import Tap, free_port, wait_until  # noqa: E402

import MySQLdb

THREADS = 6
ROUNDS = 150
SECONDS = 20
# Session pooling holds a connection per client (each thread may hold two); transaction
# pooling shares a few.
POOL = {"session": 24, "transaction": 8}
OP_TIMEOUT_S = 10
# What a chaos client may see: its own kill (1317), a backend going away (1927, 2013, 2006),
# the pool busy or reconnecting (1040, 1429), a refused oversized command (1153, 2006, 2013),
# a connection refused while the server restarts (2003).
ALLOWED = {1040, 1043, 1153, 1317, 1429, 1927, 2003, 2006, 2013, 2026}

ringsql_bin, mariadb_sh = sys.argv[1], sys.argv[2]
tap = Tap()








work = tempfile.mkdtemp(prefix="ringsql-chaos-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
db_dir = os.path.join(work, "db")
subprocess.run([mariadb_sh, "start", db_dir], check=True, stdout=subprocess.DEVNULL)
db_port = int(open(os.path.join(db_dir, "port")).read())


def set_globals():
    """The server's settings chaos runs under (again after the restart)."""
    c = MySQLdb.connect(host="127.0.0.1", port=db_port, user="root")
    c.query("SET GLOBAL max_allowed_packet = 1048576")
    c.close()


set_globals()
root = MySQLdb.connect(host="127.0.0.1", port=db_port, user="root")
root.query("CREATE USER IF NOT EXISTS chaos2@'%' IDENTIFIED BY 'pw2'")
root.query("GRANT ALL ON *.* TO chaos2@'%'")
root.close()


def metrics(admin):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RawClient:
    """Just enough protocol to log in with mysql_native_password and pipeline queries."""

    def __init__(self, port, user, password):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=OP_TIMEOUT_S)
        greeting = self.packet()
        if greeting[0] == 0xFF:
            raise MySQLdb.OperationalError(struct.unpack("<H", greeting[1:3])[0], "refused")
        end = greeting.index(b"\0", 1)
        scramble = greeting[end + 5:end + 13] + greeting[end + 32:end + 44]
        h1 = hashlib.sha1(password.encode()).digest()
        h3 = hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()
        auth = bytes(a ^ b for a, b in zip(h1, h3))
        caps = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x80000  # LONG_PASSWORD PROTOCOL_41 TRANSACTIONS
        body = (struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + user.encode() + b"\0" +
                bytes([len(auth)]) + auth + b"mysql_native_password\0")
        self.send(body, 1)
        ok = self.packet()
        if ok[0] != 0:
            raise MySQLdb.OperationalError(struct.unpack("<H", ok[1:3])[0], "login refused")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send(self, payload, seq):
        self.sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)

    def read_exact(self, k):
        out = b""
        while len(out) < k:
            chunk = self.sock.recv(k - len(out))
            if not chunk:
                raise MySQLdb.OperationalError(2013, "connection closed")
            out += chunk
        return out

    def packet(self):
        head = self.read_exact(4)
        return self.read_exact(int.from_bytes(head[:3], "little"))

    def one_value(self):
        """A one-column, one-row result: count, definition, EOF, row, EOF."""
        first = self.packet()
        if first[0] == 0xFF:
            raise MySQLdb.OperationalError(struct.unpack("<H", first[1:3])[0], "query refused")
        self.packet()
        self.packet()
        row = self.packet()
        self.packet()
        return row[1:1 + row[0]]


class Run:
    """One ringsql in one pool mode and the clients that torment it."""

    def __init__(self, mode):
        self.mode = mode
        self.port, self.admin = free_port(), free_port()
        self.errors = []  # unexpected outcomes
        self.done = {}  # action name -> times run
        self.allowed = {}  # errors chaos may cause, seen: code -> count
        self.lock = threading.Lock()
        self.deadline = 0.0
        cfg = os.path.join(work, f"{mode}.yaml")
        with open(cfg, "w") as f:
            f.write(f"""listen: "127.0.0.1:{self.port}"
workers: 2
backends:
  - name: primary
    address: "127.0.0.1:{db_port}"
users:
  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
  - name: app2
    password: "secret2"
    backend_user: chaos2
    backend_password: pw2
pool:
  size: {POOL[mode]}
  mode: {mode}
  health_check_interval: 500ms
timeouts:
  connect: 1s
  handshake: 3s
  pool_wait: 2s
admin:
  listen: "127.0.0.1:{self.admin}"
""")
        self.log_path = os.path.join(work, f"{mode}.log")
        self.proc = subprocess.Popen([ringsql_bin, "-c", cfg], stderr=open(self.log_path, "w"))

    def client(self, user="app", pw="secret", db="ringsql_test"):
        return MySQLdb.connect(host="127.0.0.1", port=self.port, user=user, passwd=pw, db=db,
                               connect_timeout=OP_TIMEOUT_S, read_timeout=OP_TIMEOUT_S,
                               write_timeout=OP_TIMEOUT_S)

    def serves(self):
        try:
            c = self.client()
            c.query("SELECT 1")
            c.store_result()
            c.close()
            return True
        except MySQLdb.Error:
            return False

    def note(self, what, e):
        code = e.args[0] if e.args and isinstance(e.args[0], int) else -1
        with self.lock:
            if code in ALLOWED:
                self.allowed[code] = self.allowed.get(code, 0) + 1
            else:
                self.errors.append(f"{what}: {e}")

    # ---- the actions ----
    def act_query(self, c, rnd):
        c.query("BEGIN")
        c.query(f"SELECT {rnd.randint(1, 1000)} + 1, SLEEP(0.01)")
        c.store_result()
        c.query("COMMIT")

    def act_abandon(self, c, rnd):
        s = self.client()
        s.send_query("SELECT SLEEP(0.5)")  # never read: the client just goes
        s.close()

    def act_pipeline(self, c, rnd):
        # Two queries in one write, on a protocol-level client: both answered, in order.
        with RawClient(self.port, "app", "secret") as r:
            r.send(b"\x03SELECT 7", 0)
            r.send(b"\x03SELECT 8", 0)
            rows = [r.one_value(), r.one_value()]
        if rows != [b"7", b"8"]:
            with self.lock:
                self.errors.append(f"pipelined queries answered {rows}")

    def act_change_user(self, c, rnd):
        if rnd.random() < 0.5:
            c.change_user("app2", "secret2", "ringsql_test")
            c.change_user("app", "secret", "ringsql_test")
        else:
            c.change_user("app", "secret", "ringsql_test")
        c.query("SELECT CURRENT_USER()")
        c.store_result()

    def act_kill(self, c, rnd):
        victim = self.client()
        marker = f"victim-{rnd.getrandbits(48)}"
        # 10 s asleep, interrupted within 5: the KILL reaches the server through the maintenance
        # thread, which may be busy a moment with a connect of its own (a backend restarting).
        victim.send_query(f"SELECT SLEEP(10) /* {marker} */")
        # A KILL QUERY before the query runs kills nothing (on a server too): wait, bounded,
        # until the server runs it, looking from outside ringsql.
        direct = MySQLdb.connect(host="127.0.0.1", port=db_port, user="root",
                                 connect_timeout=OP_TIMEOUT_S)
        running = False
        for _ in range(40):
            direct.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                          f"WHERE INFO LIKE '%{marker}%' AND INFO NOT LIKE '%PROCESSLIST%'")
            running = direct.store_result().fetch_row()[0][0] > 0
            if running:
                break
            time.sleep(0.05)
        direct.close()
        if not running:
            victim.close()  # it never ran (the pool was busy, the backend restarting)
            return
        c.query(f"KILL QUERY {victim.thread_id()}")
        t0 = time.monotonic()
        try:
            victim.read_query_result()
            victim.store_result()
        except MySQLdb.Error as e:
            self.note("victim", e)
        if time.monotonic() - t0 > 5:
            with self.lock:
                self.errors.append("KILL QUERY did not interrupt its victim")
        victim.close()

    def act_oversized(self, c, rnd):
        s = self.client()
        try:
            s.query("SELECT '" + "x" * (1536 * 1024) + "'")
            with self.lock:
                self.errors.append("a command over max_allowed_packet succeeded")
        except MySQLdb.Error as e:
            self.note("oversized", e)
        s.close()

    def act_garbage(self, c, rnd):
        # Random bytes where a login or commands should be: the session ends or answers with an
        # ERR, and ringsql serves everyone else (checked by the others, and at the end).
        try:
            if rnd.random() < 0.5:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=OP_TIMEOUT_S)
                sock.recv(4096)  # the greeting
                sock.sendall(rnd.randbytes(rnd.randint(1, 300)))
                sock.close()
                return
            with RawClient(self.port, "app", "secret") as r:
                for _ in range(rnd.randint(1, 6)):
                    body = bytes([rnd.choice([0x01, 0x02, 0x03, 0x0e, 0x11, 0x16, 0x17, 0x19,
                                              0x1a, 0x1f, rnd.randint(0, 255)])])
                    body += rnd.randbytes(rnd.randint(0, 64))
                    r.send(body, rnd.randint(0, 3))
                r.sock.settimeout(0.2)
                try:
                    r.sock.recv(65536)
                except OSError:
                    pass
        except (OSError, MySQLdb.Error):
            pass  # refused or cut off: what garbage earns

    def worker(self, seed):
        rnd = random.Random(seed)
        actions = [self.act_query] * 6 + [self.act_abandon, self.act_change_user, self.act_kill,
                                          self.act_oversized, self.act_pipeline, self.act_garbage]
        c = None
        for _ in range(ROUNDS):
            if time.monotonic() > self.deadline:
                break
            try:
                if c is None:
                    c = self.client()
                action = rnd.choice(actions)
                with self.lock:
                    self.done[action.__name__] = self.done.get(action.__name__, 0) + 1
                action(c, rnd)
            except MySQLdb.Error as e:
                self.note("client", e)
                try:
                    c.close()
                except Exception:
                    pass
                c = None
                time.sleep(0.05)  # pacing: a refused client does not retry in a tight loop
        if c is not None:
            c.close()

    def go(self):
        if not wait_until(self.serves, 30):
            tap(False, f"{self.mode}: ringsql serves at start")
            return
        # Warm-up, then the baseline the end is compared with.
        for _ in range(20):
            self.serves()
        fds0, rss0 = proc_fds(self.proc.pid), proc_rss_kib(self.proc.pid)
        self.deadline = time.monotonic() + SECONDS
        threads = [threading.Thread(target=self.worker, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(SECONDS / 3)  # a third of the way in, not a synchronisation
        # The backend goes away under load and comes back on its port (restart alone would
        # start a second server beside the running one).
        subprocess.run([mariadb_sh, "stop", db_dir], stdout=subprocess.DEVNULL)
        subprocess.run([mariadb_sh, "restart", db_dir], stdout=subprocess.DEVNULL)
        set_globals()
        for t in threads:
            t.join(timeout=SECONDS + 4 * OP_TIMEOUT_S)
        tap(not any(t.is_alive() for t in threads), f"{self.mode}: every client finished")
        print(f"# {self.mode}: {sum(self.done.values())} actions {sorted(self.done.items())}, "
              f"errors of the kinds chaos causes {sorted(self.allowed.items())}", flush=True)
        tap(not self.errors, f"{self.mode}: only the errors chaos may cause",
            "; ".join(self.errors[:5]))
        m = {}

        def settled():
            nonlocal m
            m = metrics(self.admin)
            avail = sum(v for k, v in m.items() if k.startswith("ringsql_pool_connections")
                        and 'state="available"' in k)
            return m.get("ringsql_clients_connected", -1) == 0 and avail == 2 * POOL[self.mode]
        tap(wait_until(settled, 30), f"{self.mode}: no session left, every pool back to its size",
            f"clients {m.get('ringsql_clients_connected')}, pools "
            f"{[(k, v) for k, v in m.items() if k.startswith('ringsql_pool_connections')]}")
        fds, rss = proc_fds(self.proc.pid), proc_rss_kib(self.proc.pid)
        tap(fds <= fds0 + 4, f"{self.mode}: descriptors back", f"{fds0} -> {fds}")
        tap(rss <= rss0 + 64 * 1024, f"{self.mode}: RSS within 64 MiB", f"{rss0} -> {rss} KiB")
        tap(self.serves(), f"{self.mode}: a new client is served")

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        log = open(self.log_path).read()
        bad = re.findall(r".*(?:Sanitizer|runtime error).*", log)
        tap(rc == 0 and not bad, f"{self.mode}: SIGTERM, exit 0, no sanitizer report",
            f"status {rc}; {bad[:2]}")


try:
    for mode in ("session", "transaction"):
        run = Run(mode)
        try:
            run.go()
        finally:
            run.stop()
finally:
    subprocess.run([mariadb_sh, "stop", db_dir], stdout=subprocess.DEVNULL)
    tap.plan()
sys.exit(1 if tap.failed else 0)
