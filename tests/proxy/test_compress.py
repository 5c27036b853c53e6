#!/usr/bin/python3
"""The compressed protocol towards clients (CLIENT_COMPRESS, `mariadb --compress`), end to end
with real clients, on each I/O engine (io: auto and epoll, or only RINGSQL_IO's), in session and
transaction pooling, against the MariaDB of RINGSQL_TEST_MARIADB_*:
  - the CLI with --compress says its protocol is compressed, and a 20 000-row result is
    byte-identical to the same query direct; LOAD DATA LOCAL INFILE goes through;
  - MySQLdb with compress=1: a 20 MB value comes back whole (two compressed packets and more),
    a 17 MB parameter goes up whole, COM_CHANGE_USER keeps compression;
  - over TLS too (a ringsql with tls:, the CLI verifying its certificate);
  - a client that logs in with CLIENT_COMPRESS and then sends a compressed packet that does not
    inflate is closed, and only it: another client is served meanwhile.
Every ringsql exits 0 on SIGTERM with no sanitizer report in its log.
Usage: test_compress.py RINGSQL_BIN. Prints TAP. Needs Debian's python3-mysqldb."""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ringsql_proc import RingsqlProc, check as run_check, engines, finish  # noqa: E402
from taplib import Tap, free_port, wait_until  # noqa: E402

try:
    import MySQLdb
except ImportError:
    print("Bail out! MySQLdb is not installed for this python (apt-get install python3-mysqldb)")
    sys.exit(1)
if len(sys.argv) != 2 or not os.environ.get("RINGSQL_TEST_MARIADB_PORT"):
    print("Bail out! usage: test_compress.py RINGSQL_BIN, with RINGSQL_TEST_MARIADB_* set")
    sys.exit(1)
bin_path = sys.argv[1]
DB_HOST = os.environ.get("RINGSQL_TEST_MARIADB_HOST", "127.0.0.1")
DB_PORT = int(os.environ["RINGSQL_TEST_MARIADB_PORT"])
CA = os.path.join(os.environ.get("RINGSQL_TEST_CERTS", ""), "ca.pem")

tap = Tap()
started = time.monotonic()
work = tempfile.mkdtemp(prefix="ringsql-compress-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
base_env, engine_list = engines()
START_S = 30
BIG_SQL = "SELECT seq, REPEAT('y', 200) FROM ringsql_test.seq_1_to_20000"
CLIENT_COMPRESS, PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH = 0x20, 0x200, 0x8000, 0x80000


def check(what, fn):
    run_check(tap, what, fn)


class Ringsql(RingsqlProc):
    def __init__(self, name, engine, mode, tls=False):
        self.port, admin = free_port(), free_port()
        base = os.path.join(work, f"{engine}-{name}")
        certs = os.path.dirname(CA)
        tls_yaml = (f"tls:\n  cert: {certs}/server-cert.pem\n  key: {certs}/server-key.pem\n"
                    if tls else "")
        with open(base + ".yaml", "w") as f:
            f.write(f"""listen: "127.0.0.1:{self.port}"
workers: 2
backends:
  - name: primary
    address: "{DB_HOST}:{DB_PORT}"
users:
  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
pool:
  size: 4
  mode: {mode}
admin:
  listen: "127.0.0.1:{admin}"
{tls_yaml}""")
        super().__init__(tap, f"{engine}/{name}", bin_path, base + ".yaml", base + ".log", admin,
                         engine, base_env)


def cli(port, sql, user="app", pw="secret", extra=()):
    return subprocess.run(["mariadb", "--no-defaults", "-N", "-h127.0.0.1", f"-P{port}",
                           f"-u{user}", f"-p{pw}", *extra, "-e", sql],
                          capture_output=True, timeout=60)


def md5(out):
    return hashlib.md5(out).hexdigest()


def serves(port):
    return cli(port, "SELECT 1", extra=("--compress",)).returncode == 0


def c1_cli(rs, direct_md5, tls=False):
    extra = ("--compress", "--ssl-verify-server-cert", f"--ssl-ca={CA}") if tls else \
        ("--compress",)
    r = cli(rs.port, "status", extra=extra)
    status = r.stdout.decode(errors="replace")
    cipher = "TLS" in status or "Cipher in use" in status
    tap(r.returncode == 0 and "Compressed" in status and (cipher or not tls),
        f"{rs.name}: the CLI with --compress{' and TLS' if tls else ''}: protocol compressed",
        f"rc {r.returncode}: {r.stderr[-200:]!r} {status[-300:]!r}")
    r = cli(rs.port, BIG_SQL, extra=extra)
    tap(r.returncode == 0 and md5(r.stdout) == direct_md5,
        f"{rs.name}: 20 000 rows through compression, byte-identical to direct",
        f"rc {r.returncode} {r.stderr[-200:]!r}")


def c2_mysqldb(rs):
    c = MySQLdb.connect(host="127.0.0.1", port=rs.port, user="app", password="secret",
                        compress=1, read_timeout=60, write_timeout=60)
    try:
        cur = c.cursor()
        cur.execute("SELECT REPEAT('z', 20000000), 7")
        row = cur.fetchall()[0]
        tap(len(row[0]) == 20000000 and row[1] == 7, f"{rs.name}: MySQLdb compress=1: a 20 MB "
            "value comes back whole", f"{len(row[0])}")
        value = "w" * (17 << 20)
        cur.execute("SELECT LENGTH(%s), MD5(%s)", (value, value))
        got = cur.fetchall()[0]
        tap(got == (len(value), hashlib.md5(value.encode()).hexdigest()),
            f"{rs.name}: a 17 MB parameter goes up whole", f"{got}")
        c.change_user("app", "secret")
        cur = c.cursor()
        cur.execute("SELECT 42")
        tap(cur.fetchall() == ((42,),), f"{rs.name}: COM_CHANGE_USER under compression")
    finally:
        c.close()


def c3_load_data(rs):
    path = os.path.join(work, f"rows-{rs.name.replace('/', '-')}.txt")
    with open(path, "w") as f:
        f.writelines(f"{i}\trow {i}\n" for i in range(3000))
    sql = ("CREATE TEMPORARY TABLE t (a INT, b VARCHAR(20)); "
           f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE t; SELECT COUNT(*), SUM(a) FROM t")
    r = cli(rs.port, sql, extra=("--compress", "--local-infile=1", "-Dringsql_test"))
    tap(r.returncode == 0 and r.stdout.split() == [b"3000", str(sum(range(3000))).encode()],
        f"{rs.name}: LOAD DATA LOCAL INFILE under compression", f"{r.stdout!r} {r.stderr!r}")


def read_packet(s):
    buf = b""
    while len(buf) < 4:
        part = s.recv(4 - len(buf))
        if not part:
            raise ConnectionError("closed")
        buf += part
    n, body = int.from_bytes(buf[:3], "little"), b""
    while len(body) < n:
        part = s.recv(n - len(body))
        if not part:
            raise ConnectionError("closed")
        body += part
    return body


def compressed_login(port):
    """A raw login as app/secret asking for CLIENT_COMPRESS: the socket after the OK."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    g = read_packet(s)
    at = g.index(b"\0", 1) + 1 + 4
    scramble = g[at:at + 8]
    at += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
    scramble += g[at:at + 12]
    h1 = hashlib.sha1(b"secret").digest()
    mix = hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()
    token = bytes(a ^ b for a, b in zip(h1, mix))
    caps = CLIENT_COMPRESS | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH
    body = (caps.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little") + bytes([45]) +
            bytes(23) + b"app\0" + bytes([len(token)]) + token + b"mysql_native_password\0")
    s.sendall(len(body).to_bytes(3, "little") + b"\1" + body)
    ok = read_packet(s)
    if ok[:1] != b"\0":
        raise ConnectionError(f"login refused: {ok!r}")
    return s


def c4_bad_packet(rs):
    s = compressed_login(rs.port)
    try:
        # A header that announces 100 plain bytes of zlib data, then bytes that are not zlib.
        s.sendall((20).to_bytes(3, "little") + b"\0" + (100).to_bytes(3, "little") +
                  b"\x99" * 20)
        s.settimeout(10)
        try:
            closed = s.recv(100) == b""
        except (ConnectionError, socket.timeout):
            closed = False
        tap(closed, f"{rs.name}: a compressed packet that does not inflate: that client is "
            "closed")
    finally:
        s.close()
    tap(serves(rs.port), f"{rs.name}: another client is served")
    tap("a compressed packet that does not decode" in rs.log() or
        "client" in rs.log(), f"{rs.name}: the log says why", rs.log()[-300:])


def main():
    print(f"# engines: {', '.join(engine_list)}; ringsql {bin_path}")
    d = subprocess.run(["mariadb", "--no-defaults", "-N", f"-h{DB_HOST}", f"-P{DB_PORT}",
                        "-uringsql_test", "-ptest_pass", "-e", BIG_SQL],
                       capture_output=True, timeout=60)
    direct_md5 = md5(d.stdout)
    tap(d.returncode == 0 and len(d.stdout) > 4_000_000, "the 20 000 rows direct")
    try:
        for engine in engine_list:
            for mode in ("session", "transaction"):
                rs = Ringsql(mode, engine, mode)
                ok = wait_until(lambda: rs.proc.poll() is not None or serves(rs.port), START_S)
                tap(ok and rs.proc.poll() is None, f"{rs.name}: serves with --compress "
                    f"(engine {rs.engine()})")
                if ok:
                    check(f"{rs.name}: cli", lambda: c1_cli(rs, direct_md5))
                    check(f"{rs.name}: mysqldb", lambda: c2_mysqldb(rs))
                    check(f"{rs.name}: load data", lambda: c3_load_data(rs))
                    check(f"{rs.name}: bad packet", lambda: c4_bad_packet(rs))
                rs.stop()
            rs = Ringsql("tls", engine, "session", tls=True)
            ok = wait_until(lambda: rs.proc.poll() is not None or serves(rs.port), START_S)
            if ok:
                check(f"{rs.name}: cli over tls", lambda: c1_cli(rs, direct_md5, tls=True))
            tap(ok, f"{rs.name}: serves")
            rs.stop()
    finally:
        RingsqlProc.kill_left()
    finish(tap, work, started)


main()
