#!/usr/bin/python3
"""TLS on both sides of ringsql (issue 14), end to end with real clients and real MariaDB
servers, on each I/O engine: io: auto (io_uring where allowed) and epoll, or only the engine
RINGSQL_IO names (meson's epoll setup).

Towards clients (the MariaDB of RINGSQL_TEST_MARIADB_* as backend, the certificates of
RINGSQL_TEST_CERTS): the CLI and PyMySQL log in with the server's certificate verified, in
session and transaction mode; a 50 000-row result is byte-identical to the same query direct;
a 4 MiB value goes up and comes back whole; users[].require_tls refuses plaintext with 1045;
without tls: the greeting offers no TLS and a client that insists fails; garbage or a stall
after an SSLRequest closes that connection only (the stall after timeouts.handshake); client
certificates that chain to tls.ca log in, others do not, and min_version 1.3 refuses a TLS 1.2
client; SIGHUP loads rotated certificate files for new clients while open sessions keep
theirs, and files that fail to load are logged and the running certificates kept.

Towards backends (a MariaDB of its own that refuses plaintext, tests/mariadb.sh with
RINGSQL_MARIADB_REQUIRE_TLS=1): verify_identity serves (the backend sessions are TLS ones),
idle connections are pinged over their TLS session, a large result crosses it intact; mode
disabled, a CA that did not sign the server's certificate, and an expired server certificate
(swapped in with FLUSH SSL) each mark the backend down with the reason in /metrics, the log
and the client's ERR. Every ringsql exits 0 on SIGTERM with no sanitizer report in its log.

Usage: test_tls.py RINGSQL_BIN MARIADB_SH. Prints TAP. Needs the Debian python3 (PyMySQL)."""
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ringsql_proc import RingsqlProc, check as run_check, engines, finish  # noqa: E402
from taplib import Tap, free_port, wait_until  # noqa: E402

try:
    import pymysql
except ImportError:
    print("Bail out! PyMySQL is not installed for this python (apt-get install python3-pymysql)")
    sys.exit(1)

if len(sys.argv) != 3:
    print("Bail out! usage: test_tls.py RINGSQL_BIN MARIADB_SH")
    sys.exit(1)
bin_path, mariadb_sh = sys.argv[1], sys.argv[2]
for var in ("RINGSQL_TEST_MARIADB_PORT", "RINGSQL_TEST_CERTS"):
    if not os.environ.get(var):
        print(f"Bail out! {var} is not set (run through scripts/test.sh)")
        sys.exit(1)
DB_HOST = os.environ.get("RINGSQL_TEST_MARIADB_HOST", "127.0.0.1")
DB_PORT = int(os.environ["RINGSQL_TEST_MARIADB_PORT"])
CERTS = os.environ["RINGSQL_TEST_CERTS"]
CA = os.path.join(CERTS, "ca.pem")

tap = Tap()
started = time.monotonic()
work = tempfile.mkdtemp(prefix="ringsql-tls-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
# Each ringsql gets the engine its case names: the suite's RINGSQL_IO chooses which run.
base_env, engine_list = engines()

BIG_SQL = "SELECT seq, REPEAT('y', 2000) FROM ringsql_test.seq_1_to_50000"
START_S = 30  # bound on a ringsql (or the sanitizer build of it) starting to serve
CLIENT_SSL, PROTOCOL_41, SECURE_CONNECTION = 0x800, 0x200, 0x8000

USERS = """users:
  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
"""
# Only where tls: is configured: require_tls without it is a config error.
TLS_ONLY_USER = """  - name: tlsonly
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
    require_tls: true
"""


def check(what, fn):
    run_check(tap, what, fn)


# ---------- ringsql ----------

class Ringsql(RingsqlProc):
    """One ringsql from a config body (the listen and admin lines are added here)."""

    def __init__(self, name, body, engine):
        self.port, admin = free_port(), free_port()
        base = os.path.join(work, f"{engine}-{name}")
        with open(base + ".yaml", "w") as f:
            f.write(f'listen: "127.0.0.1:{self.port}"\nworkers: 2\n'
                    f'admin:\n  listen: "127.0.0.1:{admin}"\n' + body)
        super().__init__(tap, f"{engine}/{name}", bin_path, base + ".yaml", base + ".log", admin,
                         engine, base_env)

    def count(self, pattern):
        return len(re.findall(pattern, self.log()))

    def metric(self, sample):
        """The value of one sample (name with its labels, as /metrics prints it), or None."""
        m = re.search(r"^" + re.escape(sample) + r" (\S+)$", self.metrics(), re.M)
        return float(m.group(1)) if m else None

    def down_info(self, backend):
        m = re.search(r'^ringsql_backend_down_info\{backend="' + re.escape(backend) +
                      r'",error="(.*)"\} 1$', self.metrics(), re.M)
        return m.group(1) if m else None

    def reload(self, want):
        """SIGHUP, then a bounded wait for a new line matching want (again if ringsql says the
        previous reload is still being applied, as its reload_skipped asks); whether it came.
        Returns once event=reloaded follows it, when the workers' messages are sent."""
        for _ in range(5):
            wanted, done = self.count(want), self.count(r"event=reloaded ")
            skipped = self.count(r"event=reload_skipped")
            self.proc.send_signal(signal.SIGHUP)
            if not wait_until(lambda: self.count(r"event=reload_skipped") > skipped or
                              self.count(r"event=reloaded ") > done, 10):
                return False
            if self.count(r"event=reloaded ") > done:
                return self.count(want) > wanted
        return False


# ---------- clients ----------

def cli_args(port, user="app", pw="secret", tls="verify", ca=CA):
    args = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{user}", f"-p{pw}",
            "--connect-timeout=5", "-N", "-B"]
    if tls == "verify":
        args += ["--ssl", f"--ssl-ca={ca}", "--ssl-verify-server-cert"]
    elif tls == "off":
        args += ["--skip-ssl"]
    return args


def cli(port, sql, **kw):
    return subprocess.run(cli_args(port, **kw) + ["-e", sql], capture_output=True, text=True,
                          timeout=60)


def cli_md5(port, sql, **kw):
    """(exit status, md5 of stdout, byte count, stderr) of the CLI's output for sql, streamed."""
    p = subprocess.Popen(cli_args(port, **kw) + ["-e", sql], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    h, n = hashlib.md5(), 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    err = p.stderr.read().decode(errors="replace")
    return p.wait(timeout=60), h.hexdigest(), n, err


def serves(port, **kw):
    try:
        r = cli(port, "SELECT 6 * 7", **kw)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and r.stdout.strip() == "42"


def wait_serving(rs, bound=START_S, **kw):
    """Bounded wait until rs answers a query; False (with its log shown) if it never does."""
    wait_until(lambda: rs.proc.poll() is not None or serves(rs.port, **kw), bound, 0.1)
    ok = rs.proc.poll() is None and serves(rs.port, **kw)
    if not ok:
        for line in rs.log().splitlines()[-8:]:
            print(f"# {rs.name}: {line}")
    return ok


def pm(port, user="app", pw="secret", ssl_opts=None, **kw):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw, ssl=ssl_opts,
                           database="ringsql_test",
                           connect_timeout=10, read_timeout=60, write_timeout=60, **kw)


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def tls_version(conn):
    sock = conn._sock  # PyMySQL keeps the socket it wrapped
    return sock.version() if isinstance(sock, ssl.SSLSocket) else None


# ---------- raw protocol ----------

def read_packet(s):
    hdr = b""
    while len(hdr) < 4:
        part = s.recv(4 - len(hdr))
        if not part:
            raise ConnectionError("closed before a packet header")
        hdr += part
    n, seq = int.from_bytes(hdr[:3], "little"), hdr[3]
    body = b""
    while len(body) < n:
        part = s.recv(n - len(body))
        if not part:
            raise ConnectionError("closed inside a packet")
        body += part
    return seq, body


def greeting_caps(body):
    """The lower capability flags of an initial handshake packet (v10)."""
    if body[0] != 10:
        raise ValueError(f"not a v10 greeting: {body[:60]!r}")
    i = body.index(b"\0", 1) + 1 + 4 + 8 + 1
    return struct.unpack_from("<H", body, i)[0]


def ssl_request(seq):
    body = struct.pack("<IIB23x", CLIENT_SSL | PROTOCOL_41 | SECURE_CONNECTION, 1 << 24, 33)
    return len(body).to_bytes(3, "little") + bytes([seq]) + body


def greet(port):
    """A connected socket and the greeting's capabilities."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    seq, body = read_packet(s)
    return s, seq, greeting_caps(body)


def start_tls(port):
    """A socket on which the greeting was read and an SSLRequest sent."""
    s, seq, _ = greet(port)
    s.sendall(ssl_request(seq + 1))
    return s


def client_ctx(ca=CA, maximum=None):
    ctx = ssl.create_default_context(cafile=ca)
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def peer_fp(port, ctx=None):
    """sha256 of the certificate a new TLS client of port is shown (verified against CA)."""
    ctx = ctx or client_ctx()
    with ctx.wrap_socket(start_tls(port), server_hostname="127.0.0.1") as t:
        return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def file_fp(pem):
    with open(pem) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def closed_within(s, bound):
    """Seconds until the peer closed s (EOF or reset), or None if it did not within bound."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < bound:
        try:
            if not s.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


# ---------- certificates ----------

EXT_CNF = """[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
"""


def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {r.stderr[-400:]}")


def make_signed(d, name, cn, ca_pem, ca_key, ext):
    """d/name-cert.pem and d/name-key.pem, signed by ca_pem/ca_key with extensions ext."""
    cnf = os.path.join(d, "ext.cnf")
    with open(cnf, "w") as f:
        f.write(EXT_CNF)
    key, csr, cert = (os.path.join(d, f"{name}{s}") for s in ("-key.pem", ".csr", "-cert.pem"))
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", key,
            "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-sha256", "-set_serial",
            "0x" + os.urandom(8).hex(), "-days", "2", "-extfile", cnf, "-extensions", ext,
            "-out", cert)
    return cert, key


def make_certs():
    """A second server certificate of the test CA (rotation) and a client certificate of a CA
    ringsql does not trust (other-ca.pem's key is not kept, so a CA of its own)."""
    d = os.path.join(work, "certs")
    os.makedirs(d)
    rotated = make_signed(d, "rotated", "localhost", CA, os.path.join(CERTS, "ca-key.pem"),
                          "server_ext")
    rogue_ca, rogue_ca_key = os.path.join(d, "rogue-ca.pem"), os.path.join(d, "rogue-ca-key.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=ringsql rogue test CA", "-config", os.path.join(d, "ext.cnf"), "-extensions",
            "ca_ext", "-keyout", rogue_ca_key, "-out", rogue_ca)
    rogue = make_signed(d, "rogue-client", "ringsql_test", rogue_ca, rogue_ca_key, "client_ext")
    return rotated, rogue


# ---------- client side ----------

def tls_block(cert=None, key=None, ca=None, min_version=None):
    out = (f"tls:\n  cert: {cert or os.path.join(CERTS, 'server-cert.pem')}\n"
           f"  key: {key or os.path.join(CERTS, 'server-key.pem')}\n")
    if ca:
        out += f"  ca: {ca}\n"
    if min_version:
        out += f'  min_version: "{min_version}"\n'
    return out


def primary(mode="session", extra=""):
    users = USERS + (TLS_ONLY_USER if "\ntls:" in "\n" + extra else "")
    return (f'backends:\n  - name: primary\n    address: "{DB_HOST}:{DB_PORT}"\n' + users +
            f"pool:\n  size: 8\n  mode: {mode}\n" + extra)


def client_checks(engine, direct_md5, rotated, rogue):
    sess = Ringsql("session", primary("session", tls_block() +
                                      "timeouts:\n  handshake: 1s\nlog:\n  level: debug\n"), engine)
    txn = Ringsql("txn", primary("transaction", tls_block()), engine)
    plain = Ringsql("no_tls", primary(), engine)
    mtls = Ringsql("client_certs", primary("session", tls_block(ca=CA, min_version="1.3") +
                                           "log:\n  level: debug\n"), engine)
    rot_dir = os.path.join(work, f"{engine}-rotation")
    os.makedirs(rot_dir)
    rot_cert, rot_key = os.path.join(rot_dir, "cert.pem"), os.path.join(rot_dir, "key.pem")
    shutil.copy(os.path.join(CERTS, "server-cert.pem"), rot_cert)
    shutil.copy(os.path.join(CERTS, "server-key.pem"), rot_key)
    rot = Ringsql("rotation", primary("session", tls_block(rot_cert, rot_key)), engine)
    all_rs = [sess, txn, plain, mtls, rot]
    try:
        for rs in all_rs:
            tap(wait_serving(rs, tls="off" if rs is plain else "verify"),
                f"{rs.name}: serves (engine {rs.engine()})")
        check(f"{engine}: queries over TLS", lambda: c1_queries(sess, txn, direct_md5))
        check(f"{engine}: require_tls", lambda: c2_require_tls(sess))
        check(f"{engine}: no tls:", lambda: c3_no_tls(plain, sess))
        check(f"{engine}: broken handshakes", lambda: c4_bad_handshakes(sess))
        check(f"{engine}: client certificates", lambda: c5_client_certs(mtls, rogue))
        check(f"{engine}: SIGHUP rotation", lambda: c6_rotation(rot, rot_cert, rot_key, rotated))
    finally:
        for rs in all_rs:
            rs.stop()


def c1_queries(sess, txn, direct_md5):
    for rs in (sess, txn):
        r = cli(rs.port, "status", user="app")
        tap(r.returncode == 0 and "Cipher in use is" in r.stdout,
            f"{rs.name}: the CLI's session is TLS, server certificate verified",
            f"rc {r.returncode}; {r.stderr.strip()[-200:]}; "
            f"{[ln for ln in r.stdout.splitlines() if 'SSL' in ln]}")
        r = cli(rs.port, "SELECT 6 * 7")
        tap(r.returncode == 0 and r.stdout.strip() == "42", f"{rs.name}: CLI query over TLS",
            f"rc {r.returncode}; {r.stdout!r} {r.stderr.strip()[-200:]}")
        conn = pm(rs.port, ssl_opts={"ca": CA})
        try:
            ver = tls_version(conn)
            got = one(conn, "SELECT 6 * 7, CURRENT_USER()")
            conn.begin()
            one(conn, "CREATE TEMPORARY TABLE IF NOT EXISTS tls_t (v INT)")
            one(conn, "INSERT INTO tls_t VALUES (1), (2)")
            in_txn = one(conn, "SELECT SUM(v) FROM tls_t")
            conn.commit()
            tap(ver is not None and got[0] == 42 and in_txn[0] == 3,
                f"{rs.name}: PyMySQL over TLS ({ver}), query and a transaction",
                f"version {ver}; {got}; {in_txn}")
            value = os.urandom(2 << 20).hex()  # 4 MiB
            back = one(conn, "SELECT %s, LENGTH(%s)", (value, value))
            tap(back[0] == value and back[1] == len(value),
                f"{rs.name}: a 4 MiB value up and back over TLS",
                f"got {len(back[0])} chars, LENGTH {back[1]}")
        finally:
            conn.close()
        rc, md5, n, err = cli_md5(rs.port, BIG_SQL)
        tap(rc == 0 and md5 == direct_md5[0], f"{rs.name}: 50 000 rows over TLS, byte-identical",
            f"rc {rc}; {n} bytes, md5 {md5}; direct {direct_md5[1]} bytes, md5 {direct_md5[0]};"
            f" {err.strip()[-200:]}")
    # ringsql_clients_tls_total counts TLS sessions, not plaintext ones.
    before = sess.metric("ringsql_clients_tls_total")
    r1 = cli(sess.port, "SELECT 1", tls="off")
    after_plain = sess.metric("ringsql_clients_tls_total")
    r2 = cli(sess.port, "SELECT 1")
    ok = wait_until(lambda: sess.metric("ringsql_clients_tls_total") == (before or 0) + 1, 5)
    tap(before is not None and before >= 4 and r1.returncode == 0 and r2.returncode == 0 and
        after_plain == before and ok,
        f"{sess.name}: ringsql_clients_tls_total counts TLS clients only",
        f"before {before}, after a plaintext login {after_plain}, after a TLS one "
        f"{sess.metric('ringsql_clients_tls_total')}")


def c2_require_tls(sess):
    r = cli(sess.port, "SELECT 1", user="tlsonly", tls="off")
    tap(r.returncode != 0 and "1045" in r.stderr and "TLS" in r.stderr,
        f"{sess.name}: require_tls user refused in plaintext with 1045 naming TLS",
        f"rc {r.returncode}; {r.stderr.strip()[-300:]!r}")
    r = cli(sess.port, "SELECT 6 * 7", user="tlsonly")
    tap(r.returncode == 0 and r.stdout.strip() == "42",
        f"{sess.name}: require_tls user served over TLS",
        f"rc {r.returncode}; {r.stderr.strip()[-300:]!r}")


def c3_no_tls(plain, sess):
    s, _, caps = greet(plain.port)
    s.close()
    s, _, caps_tls = greet(sess.port)
    s.close()
    tap(not caps & CLIENT_SSL and caps_tls & CLIENT_SSL,
        "greeting offers CLIENT_SSL with tls: and only with it",
        f"without tls: {caps:#06x}, with: {caps_tls:#06x}")
    r = cli(plain.port, "SELECT 1")
    tap(r.returncode != 0, f"{plain.name}: CLI with --ssl --ssl-verify-server-cert fails",
        f"rc {r.returncode}; {r.stdout!r}")
    r = cli(plain.port, "SELECT 6 * 7", tls="off")
    tap(r.returncode == 0 and r.stdout.strip() == "42", f"{plain.name}: plaintext login works",
        f"rc {r.returncode}; {r.stderr.strip()[-200:]}")
    bad = os.path.join(work, "require_tls_without_tls.yaml")
    with open(bad, "w") as f:
        f.write(f'backends:\n  - name: primary\n    address: "{DB_HOST}:{DB_PORT}"\n' + USERS +
                TLS_ONLY_USER)
    r = subprocess.run([bin_path, "--check", "-c", bad], capture_output=True, text=True,
                       timeout=30)
    tap(r.returncode == 2 and "require_tls: true, but ringsql offers no TLS" in r.stderr,
        "a require_tls user without tls: is a config error",
        f"rc {r.returncode}; {r.stderr.strip()[-200:]!r}")


def c4_bad_handshakes(sess):
    bound = 1 + 4  # timeouts.handshake + a bound
    # Two stalls held open while the rest runs: one after the SSLRequest, one inside the TLS
    # handshake (half of a real ClientHello).
    stall = start_tls(sess.port)
    t_stall = time.monotonic()
    half = start_tls(sess.port)
    out = ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(ssl.MemoryBIO(), out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    half.sendall(hello[:len(hello) // 2])
    t_half = time.monotonic()
    # Garbage instead of a ClientHello.
    closed_before = sess.count(r"event=session_closed .*reason=\"TLS handshake")
    junk = start_tls(sess.port)
    junk.sendall(b"this is not a TLS ClientHello\r\n" * 8)
    took = closed_within(junk, 5)
    junk.close()
    logged = wait_until(
        lambda: sess.count(r"event=session_closed .*reason=\"TLS handshake") > closed_before, 5)
    tap(took is not None, f"{sess.name}: garbage after an SSLRequest: connection closed",
        "still open after 5 s")
    line = ([ln for ln in sess.log().splitlines()
             if re.search(r"event=session_closed .*reason=\"TLS handshake", ln)] or [""])[-1]
    tap(logged, f"{sess.name}: garbage: the log names the TLS failure",
        "no session_closed with reason=\"TLS handshake...\"")
    if logged:
        print(f"# {line}")
    tap(serves(sess.port), f"{sess.name}: served while two handshakes stall")
    for s, t0, what in ((stall, t_stall, "after the SSLRequest"),
                        (half, t_half, "inside the TLS handshake")):
        closed = closed_within(s, max(bound - (time.monotonic() - t0), 0.1)) is not None
        took = time.monotonic() - t0
        s.close()
        tap(closed and 0.9 <= took, f"{sess.name}: a stall {what} is closed after "
            f"timeouts.handshake (1 s), within 4 s more ({took:.2f} s)",
            f"closed after {took:.2f} s" if closed else f"still open after {took:.2f} s")
    timeouts = sess.count(r"event=client_timeout .*error=\"timeouts.handshake passed\"")
    tap(timeouts >= 2, f"{sess.name}: the stalls are logged as handshake timeouts",
        f"{timeouts} client_timeout lines")
    r = cli(sess.port, "SELECT 6 * 7")
    tap(r.returncode == 0 and r.stdout.strip() == "42",
        f"{sess.name}: a TLS client is served after them", r.stderr.strip()[-200:])


def c5_client_certs(mtls, rogue):
    good = {"ca": CA, "cert": os.path.join(CERTS, "client-cert.pem"),
            "key": os.path.join(CERTS, "client-key.pem")}
    conn = pm(mtls.port, ssl_opts=good)
    try:
        got = one(conn, "SELECT 6 * 7")[0]
        ver = tls_version(conn)
    finally:
        conn.close()
    tap(got == 42 and ver == "TLSv1.3",
        f"{mtls.name}: a client certificate of tls.ca logs in ({ver})", f"{got}, {ver}")
    err = None
    try:
        conn = pm(mtls.port, ssl_opts={"ca": CA, "cert": rogue[0], "key": rogue[1]})
        try:
            err = f"logged in, answered {one(conn, 'SELECT 6 * 7')}"
        finally:
            conn.close()
        ok = False
    except (pymysql.err.OperationalError, pymysql.err.InterfaceError, ssl.SSLError, OSError) as e:
        ok, err = True, repr(e)
    tap(ok, f"{mtls.name}: a client certificate of another CA is refused", err)
    if ok:
        print(f"# {err[:200]}")
    pattern = r"event=session_closed .*reason=\"TLS[^\"]*certificate"
    logged = wait_until(lambda: mtls.count(pattern) > 0, 5)
    tap(logged, f"{mtls.name}: the refused certificate is in the log (session_closed)",
        "no session_closed whose reason names the certificate")
    if logged:
        print("# " + [ln for ln in mtls.log().splitlines() if re.search(pattern, ln)][-1])
    try:
        peer_fp(mtls.port, client_ctx(maximum=ssl.TLSVersion.TLSv1_2))
        refused = "handshake succeeded"
    except (ssl.SSLError, OSError) as e:
        refused = e
    tap(not isinstance(refused, str), f"{mtls.name}: min_version 1.3 refuses a TLS 1.2 client",
        refused)
    # Not specified either way: a client with no certificate at all (SSL_VERIFY_PEER without
    # FAIL_IF_NO_PEER_CERT admits it). Reported, not judged.
    try:
        conn = pm(mtls.port, ssl_opts={"ca": CA})
        conn.close()
        print(f"# {mtls.name}: a TLS client without a certificate is admitted")
    except Exception as e:  # noqa: BLE001
        print(f"# {mtls.name}: a TLS client without a certificate is refused ({e!r})")


def c6_rotation(rot, cert, key, rotated):
    old_fp, new_fp = file_fp(cert), file_fp(rotated[0])
    tap(peer_fp(rot.port) == old_fp, f"{rot.name}: new clients see the first certificate")
    conn = pm(rot.port, ssl_opts={"ca": CA})
    try:
        held_fp = hashlib.sha256(conn._sock.getpeercert(binary_form=True)).hexdigest()
        one(conn, "SELECT 1")
        # Rotate: both files replaced (as a secret volume does), then SIGHUP.
        shutil.copy(rotated[0], cert + ".new")
        shutil.copy(rotated[1], key + ".new")
        os.replace(cert + ".new", cert)
        os.replace(key + ".new", key)
        tap(rot.reload(r"event=reload_tls cert="), f"{rot.name}: SIGHUP: event=reload_tls logged")
        # The workers take the new context from a message sent as event=reloaded is logged: a
        # client may still meet the old certificate for a moment, not for long.
        t0, seen = time.monotonic(), []
        ok = wait_until(lambda: seen.append(peer_fp(rot.port)) or seen[-1] == new_fp, 5)
        print(f"# {rot.name}: rotated certificate served {time.monotonic() - t0:.3f} s after "
              f"event=reloaded, {len(seen)} connections tried")
        tap(ok, f"{rot.name}: new clients get the rotated certificate",
            f"got {seen[-1][:16]}, rotated {new_fp[:16]}, first {old_fp[:16]}")
        got = one(conn, "SELECT COUNT(*), SUM(seq) FROM ringsql_test.seq_1_to_1000")
        tap(held_fp == old_fp and got == (1000, 500500),
            f"{rot.name}: the session open across the rotation keeps working", got)
        # A broken key: logged, the running certificate stays.
        with open(key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        ok = rot.reload(r"event=reload_tls_failed")
        line = ([ln for ln in rot.log().splitlines() if "reload_tls_failed" in ln] or [""])[-1]
        tap(ok and "kept the running certificates" in line,
            f"{rot.name}: a broken key: event=reload_tls_failed, running certificates kept", line)
        fp = peer_fp(rot.port)
        tap(fp == new_fp, f"{rot.name}: after the failed reload new clients still see the "
            "rotated certificate", f"got {fp[:16]}")
        # A key that does not belong to the certificate fails too.
        shutil.copy(os.path.join(CERTS, "server-key.pem"), key)
        ok = rot.reload(r"event=reload_tls_failed")
        fp = peer_fp(rot.port)
        tap(ok and fp == new_fp, f"{rot.name}: a key of another certificate: reload_tls_failed, "
            "rotated certificate kept", f"logged {ok}, got {fp[:16]}")
        r = cli(rot.port, "SELECT 6 * 7")
        got = one(conn, "SELECT 6 * 7")
        tap(r.returncode == 0 and r.stdout.strip() == "42" and got == (42,),
            f"{rot.name}: new and old sessions served after the failed reloads",
            f"{r.returncode} {r.stderr.strip()[-200:]}; {got}")
    finally:
        conn.close()


# ---------- backend side ----------

def secure_backend(port, tls_yaml, mode="session", extra=""):
    return (f'backends:\n  - name: secure\n    address: "127.0.0.1:{port}"\n    tls:\n' +
            "".join(f"      {ln}\n" for ln in tls_yaml.strip().splitlines()) + USERS +
            f"pool:\n  size: 2\n  mode: {mode}\n  health_check_interval: 1s\n" + extra)


def wait_down(rs, want, bound=20):
    """Bounded wait until /metrics says backend secure is down with want in its reason."""
    def down():
        return (rs.metric('ringsql_backend_up{backend="secure"}') == 0 and
                want in (rs.down_info("secure") or ""))
    wait_until(lambda: rs.proc.poll() is not None or down(), bound, 0.1)
    return down(), rs.down_info("secure")


def backend_checks(engine, sdb_port, scerts, direct_md5):
    sca, other = os.path.join(scerts, "ca.pem"), os.path.join(CERTS, "other-ca.pem")
    vi = Ringsql("backend_verify_identity", secure_backend(
        sdb_port, f"mode: verify_identity\nca: {sca}"), engine)
    vt = Ringsql("backend_verify_identity_txn", secure_backend(
        sdb_port, f"mode: verify_identity\nca: {sca}", "transaction"), engine)
    off = Ringsql("backend_disabled", secure_backend(sdb_port, "mode: disabled"), engine)
    wrong = Ringsql("backend_wrong_ca", secure_backend(sdb_port, f"mode: verify_ca\nca: {other}"),
                    engine)
    req = Ringsql("backend_required", secure_backend(sdb_port, f"mode: required\nca: {other}"),
                  engine)
    all_rs = [vi, vt, off, wrong, req]
    try:
        for rs in (vi, vt, req):
            tap(wait_serving(rs, tls="off"), f"{rs.name}: serves (engine {rs.engine()})")
        check(f"{engine}: backend verify_identity", lambda: b1_verified(vi, vt, direct_md5))
        check(f"{engine}: backend refusals", lambda: b2_refused(off, wrong, req))
    finally:
        for rs in all_rs:
            rs.stop()


def b1_verified(vi, vt, direct_md5):
    for rs in (vi, vt):
        r = cli(rs.port, "SHOW SESSION STATUS LIKE 'Ssl_version'", tls="off")
        tap(r.returncode == 0 and "TLSv1" in r.stdout,
            f"{rs.name}: the backend session is TLS ({r.stdout.strip()})",
            f"rc {r.returncode}; {r.stdout!r} {r.stderr.strip()[-200:]}")
    rc, md5, n, err = cli_md5(vi.port, BIG_SQL, tls="off")
    tap(rc == 0 and md5 == direct_md5[0], f"{vi.name}: 50 000 rows from a TLS backend, "
        "byte-identical", f"rc {rc}; {n} bytes, md5 {md5}; {err.strip()[-200:]}")
    conn = pm(vt.port)
    try:
        value = os.urandom(2 << 20).hex()
        back = one(conn, "SELECT %s", (value,))
        tap(back[0] == value, f"{vt.name}: a 4 MiB value up and back over backend TLS",
            f"got {len(back[0])} chars")
    finally:
        conn.close()
    # Idle pooled connections are pinged over their TLS session.
    for rs in (vi, vt):
        ok = wait_until(lambda: (rs.metric("ringsql_backend_pings_total") or 0) >= 2, 15, 0.2)
        pings = rs.metric("ringsql_backend_pings_total")
        fails = rs.metric("ringsql_backend_ping_failures_total")
        tap(ok and fails == 0, f"{rs.name}: idle TLS connections pinged ({pings} pings, "
            f"{fails} failures)", f"pings {pings}, failures {fails}")
        r = cli(rs.port, "SELECT COUNT(*) FROM ringsql_test.seq_1_to_1000", tls="off")
        tap(r.returncode == 0 and r.stdout.strip() == "1000", f"{rs.name}: served after pings",
            f"rc {r.returncode}; {r.stderr.strip()[-200:]}")
        up = rs.metric('ringsql_backend_up{backend="secure"}')
        tap(up == 1 and rs.count(r"event=backend_down") == 0,
            f"{rs.name}: backend up, never logged down", f"up {up}")


def b2_refused(off, wrong, req):
    ok, why = wait_down(off, "1045")
    tap(ok, f"{off.name}: down against a server that refuses plaintext, its 1045 in "
        "ringsql_backend_down_info", f"down_info {why!r}")
    ok, why = wait_down(wrong, "its certificate failed verification: ")
    tap(ok, f"{wrong.name}: down, /metrics says the certificate failed verification",
        f"down_info {why!r}")
    want = 'error="TLS with the backend: its certificate failed verification: '
    lines = [ln for ln in wrong.log().splitlines() if "event=backend_down" in ln]
    tap(any(want in ln for ln in lines), f"{wrong.name}: event=backend_down with the reason",
        f"{lines[-1:]}")
    r = cli(wrong.port, "SELECT 1", tls="off")
    tap(r.returncode != 0 and "certificate failed verification" in r.stderr and
        ("1429" in r.stderr or "2003" in r.stderr),
        f"{wrong.name}: the client's ERR names the reason", f"{r.stderr.strip()[-300:]!r}")
    r = cli(req.port, "SHOW SESSION STATUS LIKE 'Ssl_version'", tls="off")
    tap(r.returncode == 0 and "TLSv1" in r.stdout,
        f"{req.name}: mode required does not verify: serves over TLS with an unrelated ca",
        f"{r.stdout!r} {r.stderr.strip()[-200:]}")


def root_sql(port, sql):
    return subprocess.run(["mariadb", "--no-defaults", "--ssl", "-h127.0.0.1", f"-P{port}",
                           "-uroot", "-e", sql], capture_output=True, text=True, timeout=30)


def expired_checks(sdb_port, scerts):
    """The server's certificate swapped for the expired one (FLUSH SSL), a fresh ringsql per
    engine in verify_ca mode; then the valid one back."""
    cert, key = os.path.join(scerts, "server-cert.pem"), os.path.join(scerts, "server-key.pem")
    keep = os.path.join(work, "secure-orig")
    os.makedirs(keep)
    shutil.copy(cert, keep)
    shutil.copy(key, keep)
    shutil.copy(os.path.join(scerts, "expired-cert.pem"), cert)
    shutil.copy(os.path.join(scerts, "expired-key.pem"), key)
    rss = []
    try:
        r = root_sql(sdb_port, "FLUSH SSL")
        expired_fp = file_fp(os.path.join(scerts, "expired-cert.pem"))
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        fp = peer_fp(sdb_port, ctx)
        tap(r.returncode == 0 and fp == expired_fp, "secure MariaDB: FLUSH SSL put the expired "
            "certificate in place", f"{r.stderr.strip()[-200:]}; fp {fp[:16]}")
        for engine in engine_list:
            rss.append(Ringsql("backend_expired", secure_backend(
                sdb_port, f"mode: verify_ca\nca: {os.path.join(scerts, 'ca.pem')}"), engine))
        for rs in rss:
            ok, why = wait_down(rs, "expired")
            tap(ok and "certificate failed verification" in (why or ""),
                f"{rs.name}: down, the reason says expired", f"down_info {why!r}")
            r = cli(rs.port, "SELECT 1", tls="off")
            tap(r.returncode != 0 and "expired" in r.stderr,
                f"{rs.name}: the client's ERR says expired", f"{r.stderr.strip()[-300:]!r}")
    finally:
        for rs in rss:
            rs.stop()
        shutil.copy(os.path.join(keep, "server-cert.pem"), cert)
        shutil.copy(os.path.join(keep, "server-key.pem"), key)
        r = root_sql(sdb_port, "FLUSH SSL")
        tap(r.returncode == 0 and peer_fp(sdb_port, client_ctx(os.path.join(scerts, "ca.pem")))
            == file_fp(cert), "secure MariaDB: the valid certificate restored (FLUSH SSL)",
            r.stderr.strip()[-200:])


# ---------- main ----------

def main():
    # meson's timeout sends SIGTERM: the cleanup below (the private MariaDB) still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("SIGTERM"))
    print(f"# engines: {', '.join(engine_list)}; ringsql {bin_path}")
    rotated, rogue = make_certs()
    rc, md5, n, err = cli_md5(DB_PORT, BIG_SQL, user="ringsql_test", pw="test_pass", tls="off")
    if rc != 0 or n < 50000 * 2000:
        print(f"Bail out! the direct query failed: rc {rc}, {n} bytes, {err[-300:]}")
        sys.exit(1)
    direct = (md5, n)
    sdb = os.path.join(work, "securedb")
    env = dict(base_env, RINGSQL_MARIADB_REQUIRE_TLS="1")
    r = subprocess.run([mariadb_sh, "start", sdb], capture_output=True, text=True, env=env,
                       timeout=120)
    if r.returncode != 0:
        print(f"Bail out! the TLS-only MariaDB did not start: {r.stderr[-500:]}")
        sys.exit(1)
    try:
        with open(os.path.join(sdb, "port")) as f:
            sdb_port = int(f.read())
        scerts = os.path.join(sdb, "certs")
        r = subprocess.run(["mariadb", "--no-defaults", "--skip-ssl", "-h127.0.0.1",
                            f"-P{sdb_port}", "-uringsql_test", "-ptest_pass", "-e", "SELECT 1"],
                           capture_output=True, text=True, timeout=30)
        tap(r.returncode != 0, "secure MariaDB refuses plaintext", r.stdout)
        print(f"# set-up (certificates, direct query, TLS-only MariaDB) "
              f"{time.monotonic() - started:.1f} s")
        for engine in engine_list:
            t0 = time.monotonic()
            client_checks(engine, direct, rotated, rogue)
            t1 = time.monotonic()
            backend_checks(engine, sdb_port, scerts, direct)
            print(f"# {engine}: client side {t1 - t0:.1f} s, backend side "
                  f"{time.monotonic() - t1:.1f} s")
        t0 = time.monotonic()
        check("expired backend certificate", lambda: expired_checks(sdb_port, scerts))
        print(f"# expired certificate {time.monotonic() - t0:.1f} s")
    finally:
        RingsqlProc.kill_left()
        subprocess.run([mariadb_sh, "stop", sdb], capture_output=True, timeout=60)
    finish(tap, work, started)


main()
