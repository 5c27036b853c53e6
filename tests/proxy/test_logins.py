#!/usr/bin/python3
"""Logins against the stored password forms of users[].password (docs/config.md): a
caching_sha2_password hash ("$A$005$...", or 0x + hex), whose first login per worker is a
full authentication (the password in clear over TLS, or RSA-encrypted with ringsql's key) and
later ones the fast path; a client_ed25519 public key; a mysql_native_password "*HEX" hash (a
client of another plugin is switched to native); plaintext. With the mariadb CLI, PyMySQL and
MySQLdb (COM_CHANGE_USER), over TLS and without. Also `ringsql --hash-password` and `--check`
on what it prints, and a clean SIGTERM. Usage: test_logins.py RINGSQL_BIN. Prints TAP.

PyMySQL: runs under /usr/bin/python3 (the shebang), Debian's python3-pymysql."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taplib import Tap, free_port, wait_until  # noqa: E402

bin_path = sys.argv[1]
if not os.environ.get("RINGSQL_TEST_MARIADB_PORT"):
    print("Bail out! RINGSQL_TEST_MARIADB_PORT is not set (run through scripts/test.sh)")
    sys.exit(1)
certs = os.environ.get("RINGSQL_TEST_CERTS", "")
if not os.path.exists(os.path.join(certs, "server-cert.pem")):
    print("Bail out! RINGSQL_TEST_CERTS has no server-cert.pem (tests/mariadb.sh makes them)")
    sys.exit(1)
try:
    import pymysql
    import pymysql._auth as pymysql_auth
except ImportError:
    print("Bail out! PyMySQL is missing (apt-get install python3-pymysql)")
    sys.exit(1)
try:
    import MySQLdb  # libmariadb's mysql_change_user, which PyMySQL lacks
except ImportError:
    MySQLdb = None

tap = Tap()
work = tempfile.mkdtemp(prefix="ringsql-logins-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
ca = os.path.join(certs, "ca.pem")
mhost = os.environ.get("RINGSQL_TEST_MARIADB_HOST", "127.0.0.1")
mport = os.environ["RINGSQL_TEST_MARIADB_PORT"]

# caching_sha2_password's stored form of "secret" (made once with `ringsql --hash-password
# caching_sha2`: its salt is random), the same 70 bytes in SHOW CREATE USER's 0x spelling, and
# MariaDB's ed25519 public key of "secret" (SELECT ed25519_password('secret')).
SHA2_SECRET = "$A$005$SPUKZ75WveZ1HwA5DAIVChJ6Ky8iVeAOpM4ZtokujudXT/q2BGtgOZ/Lp50Qo24"
SHA2_SECRET_HEX = "0x" + SHA2_SECRET.encode().hex()
ED25519_SECRET = "ed25519:ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY"
NATIVE_SECRET = "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"  # PASSWORD('secret')


def hash_password(kind, password="secret"):
    r = subprocess.run([bin_path, "--hash-password", kind], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip(), r.stderr


def user_entry(name, password, extra=""):
    # Every user logs in to the MariaDB as ringsql_test: they have different passwords towards
    # ringsql, so each says share_backend_user.
    return (f"  - name: {name}\n    password: \"{password}\"\n"
            "    backend_user: ringsql_test\n    backend_password: test_pass\n"
            f"    share_backend_user: true\n{extra}")


def check_config(name, users_yaml):
    """Writes a config of users_yaml; `ringsql -c FILE --check`'s (status, output, path)."""
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"backends:\n  - name: primary\n    address: \"{mhost}:{mport}\"\n"
                f"users:\n{users_yaml}")
    r = subprocess.run([bin_path, "-c", path, "--check"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr, path


# ---- ringsql --hash-password and --check, without a running proxy ---------------------------
rc, native, err = hash_password("native")
tap(rc == 0 and native == NATIVE_SECRET, "--hash-password native: PASSWORD('secret')",
    f"status {rc}, printed {native!r} {err!r}")
rc, gen_sha2, err = hash_password("caching_sha2")
rc2, gen_sha2_b, _ = hash_password("caching_sha2")
tap(rc == 0 and rc2 == 0 and re.fullmatch(r"\$A\$005\$[^\x00$]{20}[./0-9A-Za-z]{43}", gen_sha2)
    is not None and gen_sha2 != gen_sha2_b,
    "--hash-password caching_sha2: $A$005$, 20 bytes of salt, 43 of digest; a new salt each time",
    f"status {rc}/{rc2}, printed {gen_sha2!r} then {gen_sha2_b!r} {err!r}")
r = subprocess.run([bin_path, "--hash-password", "bogus"], input="secret\n", capture_output=True,
                   text=True, timeout=30)
tap(r.returncode == 2 and "bogus" in r.stderr, "--hash-password bogus: status 2, named",
    f"status {r.returncode}, {r.stderr!r}")

gen_ok = rc == 0 and gen_sha2.startswith("$A$005$") and '"' not in gen_sha2 \
    and "\\" not in gen_sha2
rc, out, _ = check_config("gen_ok", user_entry("gen", gen_sha2 if gen_ok else SHA2_SECRET)
                          + user_entry("gen_native", native))
tap(rc == 0 and "OK" in out, "--check: a config of --hash-password's output is valid",
    f"status {rc}: {out!r}")
rc, out, path = check_config("gen_short", user_entry("gen", gen_sha2[:-1]))
tap(rc == 2 and re.search(re.escape(path) + r":5:5: users\[0\]: user 'gen' has a password that "
                          r"starts like a caching_sha2_password hash but is not one", out),
    "--check: a hash one byte short: status 2, file:line:col",
    f"status {rc}: {out!r}")
rc, out, path = check_config("gen_rounds", user_entry("gen", "$A$0C8$" + gen_sha2[7:]))
tap(rc == 2 and re.search(re.escape(path) + r":5:5: .*hash of 200000 rounds", out),
    "--check: a hash of 200000 rounds: status 2, file:line:col", f"status {rc}: {out!r}")
path = os.path.join(work, "gen_nobackend.yaml")
with open(path, "w") as f:
    f.write(f"backends:\n  - name: primary\n    address: \"{mhost}:{mport}\"\n"
            f"users:\n  - name: gen\n    password: \"{gen_sha2}\"\n")
r = subprocess.run([bin_path, "-c", path, "--check"], capture_output=True, text=True, timeout=30)
tap(r.returncode == 2 and f"{path}:5:5: users[0]: user 'gen' has a hashed password" in r.stderr,
    "--check: a hash without backend_password: status 2, file:line:col",
    f"status {r.returncode}: {r.stderr!r}")

# ---- the proxy -----------------------------------------------------------------------------
# One worker: each user's fast-path cache is that worker's, so which login is the first of a
# user is known. A user per path, so that each first login is a full authentication.
listen, admin = free_port(), free_port()
users = "".join([
    user_entry("sha2user", SHA2_SECRET),           # the CLI: TLS first, then RSA
    user_entry("sha2rsa", SHA2_SECRET),            # the CLI: RSA first (and wrong ones before)
    user_entry("sha2tls", SHA2_SECRET, "    require_tls: true\n"),
    user_entry("sha2py", SHA2_SECRET_HEX),         # PyMySQL without TLS
    user_entry("sha2pytls", SHA2_SECRET),          # PyMySQL over TLS
    user_entry("sha2cu", SHA2_SECRET),             # COM_CHANGE_USER without TLS
    user_entry("sha2cutls", SHA2_SECRET),          # COM_CHANGE_USER over TLS
    user_entry("sha2gen", gen_sha2 if gen_ok else SHA2_SECRET),  # --hash-password's output
    user_entry("eduser", ED25519_SECRET),
    user_entry("nativeuser", native if native.startswith("*") else NATIVE_SECRET),
    user_entry("plainuser", "secret"),
])
cfg_path = os.path.join(work, "logins.yaml")
with open(cfg_path, "w") as f:
    f.write(f"""listen: "127.0.0.1:{listen}"
workers: 1
backends:
  - name: primary
    address: "{mhost}:{mport}"
tls:
  cert: {certs}/server-cert.pem
  key: {certs}/server-key.pem
users:
{users}pool:
  size: 2
admin:
  listen: "127.0.0.1:{admin}"
""")
log_path = os.path.join(work, "ringsql.log")
log_file = open(log_path, "w")
proc = subprocess.Popen([bin_path, "-c", cfg_path], stdout=log_file, stderr=log_file)


def cli(user, password, *extra):
    """The mariadb CLI through ringsql: (status, stdout, stderr) of SELECT 6 * 7."""
    try:
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{listen}",
                            f"-u{user}", f"-p{password}", "--connect-timeout=5", "-N",
                            *extra, "-e", "SELECT 6 * 7"],
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return -1, "", "timed out"
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def cli_ok(user, password, *extra):
    rc, out, err = cli(user, password, *extra)
    return rc == 0 and out == "42", f"status {rc}, out {out!r}, err {err!r}"


def cli_denied(user, password, *extra, want="ERROR 1045 (28000)"):
    rc, out, err = cli(user, password, *extra)
    return rc != 0 and want in err, f"status {rc}, out {out!r}, err {err!r}"


def metrics():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def tls_logins():
    return metrics().get("ringsql_clients_tls_total", -1)


def busy(user):
    return metrics().get(
        f'ringsql_pool_connections{{backend="primary",user="{user}",state="busy"}}', -1)


# PyMySQL 1.0 scrambles with the 21 bytes of an AuthSwitchRequest (the 20-byte scramble and
# its NUL) after a switch to caching_sha2_password, so its fast-path answer never matches and
# each of its logins is a full authentication (ringsql then lets it in with the password, as
# MySQL does). fixed_salt() makes it answer as libmysqlclient does, so that the fast path can
# be seen; the round trips after the HandshakeResponse are recorded: [32] is the fast path
# alone, then b"\x02" (the public key asked for) and 256 (RSA), or len("secret\0") over TLS.
trips = []
_roundtrip, _scramble = pymysql_auth._roundtrip, pymysql_auth.scramble_caching_sha2
fix_salt = False


def recording_roundtrip(conn, data):
    trips.append(bytes(data) if len(data) <= 1 else len(data))
    return _roundtrip(conn, data)


def scramble(password, salt):
    if fix_salt and len(salt) == 21 and salt[-1] == 0:
        salt = salt[:20]
    return _scramble(password, salt)


pymysql_auth._roundtrip = recording_roundtrip
pymysql_auth.scramble_caching_sha2 = scramble


def pm(user, password, tls, fixed=False):
    """PyMySQL through ringsql: (result of SELECT 6 * 7 or the error, its round trips)."""
    global fix_salt
    fix_salt = fixed
    trips.clear()
    try:
        c = pymysql.connect(host="127.0.0.1", port=listen, user=user, password=password,
                            ssl={"ca": ca} if tls else None, connect_timeout=5,
                            read_timeout=10, write_timeout=10)
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 6 * 7")
                return cur.fetchone()[0], list(trips)
        finally:
            c.close()
    except pymysql.MySQLError as e:
        return e, list(trips)


def is_1045(e):
    return isinstance(e, pymysql.MySQLError) and e.args and e.args[0] == 1045


class NotUp(Exception):
    pass


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "killed after 20 s"


try:
    up = wait_until(lambda: proc.poll() is None and cli("plainuser", "secret")[0] == 0, 30, 0.1)
    tap(up, "ringsql with tls: and every password form starts and serves",
        open(log_path).read()[-600:])
    if not up:
        raise NotUp
    engine = re.search(r"event=io_engine .*", open(log_path).read())
    print(f"# {engine.group(0) if engine else 'no io_engine line'}", flush=True)

    # -- caching_sha2_password, the CLI ---------------------------------------------------
    before = tls_logins()
    ok, why = cli_ok("sha2user", "secret", "--ssl")
    tap(ok and tls_logins() == before + 1,
        "CLI --ssl: sha2user logs in (full authentication, the password over TLS)",
        f"{why}, TLS logins {before} -> {tls_logins()}")
    ok, why = cli_ok("sha2tls", "secret", "--ssl")
    tap(ok, "CLI --ssl: a require_tls sha2 user logs in", why)
    ok, why = cli_denied("sha2tls", "secret", "--skip-ssl", want="must connect with TLS")
    tap(ok, "CLI --skip-ssl: a require_tls sha2 user is refused, TLS named", why)
    # Wrong passwords before the user's first good login (nothing in the cache) ...
    ok, why = cli_denied("sha2rsa", "wrong", "--skip-ssl")
    tap(ok, "CLI --skip-ssl: wrong password, first login of the user: 1045", why)
    ok, why = cli_denied("sha2rsa", "wrong", "--ssl")
    tap(ok, "CLI --ssl: wrong password, first login of the user: 1045", why)
    ok, why = cli_denied("sha2rsa", "", "--skip-ssl", want="ERROR 1045")
    tap(ok, "CLI: no password for a sha2 user: 1045", why)
    before = tls_logins()
    ok, why = cli_ok("sha2rsa", "secret", "--skip-ssl")
    tap(ok and tls_logins() == before,
        "CLI --skip-ssl: sha2 user logs in (full authentication with ringsql's RSA key)",
        f"{why}, TLS logins {before} -> {tls_logins()}")
    # ... and after (the cache holds the right password's hash: a wrong answer is a full
    # authentication again, and refused).
    for tls in ("--ssl", "--skip-ssl"):
        ok, why = cli_denied("sha2user", "wrong", tls)
        tap(ok, f"CLI {tls}: wrong password after a good login: 1045", why)
    # Repeated logins (the fast path from the second on), either way.
    results = [cli_ok(u, "secret", tls) for _ in range(3) for u in ("sha2user", "sha2rsa")
               for tls in ("--ssl", "--skip-ssl")]
    tap(all(ok for ok, _ in results), "CLI: 12 more sha2 logins, TLS and not, all in",
        "; ".join(why for ok, why in results if not ok))
    ok, why = cli_ok("sha2user", "secret", "--skip-ssl", "--default-auth=client_ed25519")
    tap(ok, "CLI --default-auth=client_ed25519: a sha2 user is switched and logs in", why)
    ok, why = cli_ok("sha2user", "secret", "--skip-ssl", "--default-auth=mysql_native_password")
    tap(ok, "CLI --default-auth=mysql_native_password: a sha2 user is switched and logs in", why)
    ok, why = cli_ok("sha2gen", "secret", "--skip-ssl")
    ok2, why2 = cli_ok("sha2gen", "secret", "--ssl")
    tap(gen_ok and ok and ok2, "CLI: a user of --hash-password's fresh hash logs in",
        f"generated {gen_sha2!r}; {why}; {why2}")

    # -- caching_sha2_password, PyMySQL ---------------------------------------------------
    r, t = pm("sha2py", "wrong", tls=False, fixed=True)
    tap(is_1045(r), "PyMySQL without TLS: wrong password, first login (0x hash): 1045",
        f"{r!r}, trips {t}")
    r, t = pm("sha2py", "secret", tls=False, fixed=True)
    tap(r == 42 and b"\x02" in t and 256 in t,
        "PyMySQL without TLS: first login is a full authentication with RSA",
        f"{r!r}, trips {t}")
    r, t = pm("sha2py", "secret", tls=False, fixed=True)
    tap(r == 42 and t == [32], "PyMySQL without TLS: the second login takes the fast path",
        f"{r!r}, trips {t}")
    r, t = pm("sha2py", "wrong", tls=False, fixed=True)
    tap(is_1045(r) and b"\x02" in t,
        "PyMySQL without TLS: wrong password after: full authentication, 1045",
        f"{r!r}, trips {t}")
    r, t = pm("sha2pytls", "secret", tls=True, fixed=True)
    tap(r == 42 and len(b"secret\0") in t and b"\x02" not in t,
        "PyMySQL over TLS: first login is a full authentication, the password in clear",
        f"{r!r}, trips {t}")
    r, t = pm("sha2pytls", "secret", tls=True, fixed=True)
    tap(r == 42 and t == [32], "PyMySQL over TLS: the second login takes the fast path",
        f"{r!r}, trips {t}")
    r, t = pm("sha2pytls", "wrong", tls=True, fixed=True)
    tap(is_1045(r), "PyMySQL over TLS: wrong password: 1045", f"{r!r}, trips {t}")
    # PyMySQL as it ships (a full authentication every time).
    for tls in (False, True):
        res = [pm(u, "secret", tls) for u in ("sha2py", "sha2pytls", "sha2user")]
        tap(all(r == 42 for r, _ in res), f"PyMySQL as shipped, TLS {tls}: sha2 users log in",
            repr(res))
        r, t = pm("sha2user", "wrong", tls)
        tap(is_1045(r), f"PyMySQL as shipped, TLS {tls}: wrong password: 1045", repr(r))

    # -- COM_CHANGE_USER (libmariadb's mysql_change_user, through MySQLdb) -------------------
    def change_user(to, password, tls):
        """Logs in as plainuser, changes to `to`: (SELECT 6 * 7 or the error, busy
        connections of `to` and of plainuser while changed; want 1 and 0)."""
        kw = dict(host="127.0.0.1", port=listen, user="plainuser", passwd="secret",
                  connect_timeout=5)
        if tls:
            kw["ssl"] = {"ca": ca}
        try:
            c = MySQLdb.connect(**kw)
        except MySQLdb.MySQLError as e:
            return f"connect: {e!r}", None, None
        try:
            c.change_user(to, password)
            cur = c.cursor()
            cur.execute("SELECT 6 * 7")
            r = cur.fetchone()[0]
            cur.close()
            # plainuser's connection is reset and given back after the change, and one of the
            # previous session of `to` may still be resetting: bounded wait for the counts.
            want_plain = 1 if to == "plainuser" else 0
            wait_until(lambda: busy(to) == 1 and busy("plainuser") == want_plain, 5)
            return r, busy(to), busy("plainuser")
        except MySQLdb.MySQLError as e:
            return e, None, None
        finally:
            try:
                c.close()
            except MySQLdb.MySQLError:
                pass

    if MySQLdb is None:
        for what in ("to a sha2 user", "wrong password", "to ed25519 and native users"):
            tap.n += 1
            print(f"ok {tap.n} - COM_CHANGE_USER {what} # SKIP MySQLdb (python3-mysqldb) is "
                  "missing and PyMySQL has no change_user")
    else:
        for tls, to in ((False, "sha2cu"), (True, "sha2cutls")):
            before = tls_logins()
            first = change_user(to, "secret", tls)
            second = change_user(to, "secret", tls)
            tap(first == (42, 1, 0) and second == (42, 1, 0),
                f"COM_CHANGE_USER, TLS {tls}: plainuser to a sha2 user (its first login, then "
                "again); the session uses that user's pool",
                f"first {first!r}, second {second!r} (want (42, 1 busy, 0 busy))")
            tap(tls_logins() == before + (2 if tls else 0),
                f"COM_CHANGE_USER, TLS {tls}: the client's TLS as asked",
                f"TLS logins {before} -> {tls_logins()}")
            r = change_user(to, "wrong", tls)
            tap(isinstance(r[0], MySQLdb.MySQLError) and r[0].args[0] == 1045,
                f"COM_CHANGE_USER, TLS {tls}: wrong password: 1045", repr(r))
        res = {u: change_user(u, "secret", False) for u in ("eduser", "nativeuser", "plainuser")}
        tap(res["eduser"] == (42, 1, 0) and res["nativeuser"] == (42, 1, 0)
            and res["plainuser"] == (42, 1, 1),
            "COM_CHANGE_USER to the ed25519, native and plaintext users", repr(res))
        r = change_user("eduser", "wrong", False)
        tap(isinstance(r[0], MySQLdb.MySQLError) and r[0].args[0] == 1045,
            "COM_CHANGE_USER to the ed25519 user, wrong password: 1045", repr(r))

    # -- client_ed25519 ---------------------------------------------------------------------
    for tls in ("--skip-ssl", "--ssl"):
        ok, why = cli_ok("eduser", "secret", tls)
        tap(ok, f"CLI {tls}: eduser logs in (client_ed25519)", why)
        ok, why = cli_denied("eduser", "wrong", tls)
        tap(ok, f"CLI {tls}: eduser, wrong password: 1045", why)
    ok, why = cli_denied("eduser", "", "--skip-ssl", want="ERROR 1045")
    tap(ok, "CLI: eduser without a password: 1045", why)

    # -- mysql_native_password hash ---------------------------------------------------------
    ok, why = cli_ok("nativeuser", "secret")
    tap(ok, "CLI: nativeuser (*HEX) logs in", why)
    ok, why = cli_ok("nativeuser", "secret", "--default-auth=client_ed25519")
    tap(ok, "CLI --default-auth=client_ed25519: nativeuser is switched to native and logs in",
        why)
    ok, why = cli_ok("nativeuser", "secret", "--ssl", "--default-auth=caching_sha2_password")
    tap(ok, "CLI --default-auth=caching_sha2_password: nativeuser logs in", why)
    ok, why = cli_denied("nativeuser", "wrong")
    tap(ok, "CLI: nativeuser, wrong password: 1045", why)
    r, _ = pm("nativeuser", "secret", False)
    tap(r == 42, "PyMySQL: nativeuser logs in", repr(r))

    # -- plaintext (regression) -------------------------------------------------------------
    for tls in (False, True):
        r, _ = pm("plainuser", "secret", tls)
        tap(r == 42, f"PyMySQL, TLS {tls}: plainuser logs in", repr(r))
        r, _ = pm("plainuser", "wrong", tls)
        tap(is_1045(r), f"PyMySQL, TLS {tls}: plainuser, wrong password: 1045", repr(r))
    for extra in ((), ("--ssl",), ("--default-auth=caching_sha2_password",),
                  ("--default-auth=client_ed25519",)):
        ok, why = cli_ok("plainuser", "secret", *extra)
        tap(ok, f"CLI {' '.join(extra) or '(defaults)'}: plainuser logs in", why)
    ok, why = cli_denied("plainuser", "wrong")
    tap(ok, "CLI: plainuser, wrong password: 1045", why)
    ok, why = cli_denied("nobody", "secret")
    tap(ok, "CLI: an unknown user: 1045", why)

    # -- SIGHUP with new passwords: what a worker cached for the old one must not let it in ---
    rc, other, err = hash_password("caching_sha2", "other")
    with open(cfg_path) as f:
        text = f.read()
    # sha2user: its cache holds "secret" (many logins above); plainuser: plaintext "secret",
    # whose fast-path hash a worker computes at once.
    text = text.replace(f'name: sha2user\n    password: "{SHA2_SECRET}"',
                        f'name: sha2user\n    password: "{other}"')
    text = text.replace('name: plainuser\n    password: "secret"',
                        f'name: plainuser\n    password: "{other}"')
    with open(cfg_path, "w") as f:
        f.write(text)
    applied = metrics().get('ringsql_config_reloads_total{result="applied"}', -1)
    proc.send_signal(signal.SIGHUP)
    reloaded = wait_until(lambda: metrics().get(
        'ringsql_config_reloads_total{result="applied"}', -1) == applied + 1, 10)
    # Applied means published; each worker switches on its next turn: the new password works
    # within a bounded wait.
    switched = reloaded and wait_until(lambda: cli("sha2user", "other", "--ssl")[0] == 0, 10)
    tap(rc == 0 and reloaded and switched, "SIGHUP: new caching_sha2 passwords applied",
        f"hash status {rc} {err!r}; reloaded {reloaded}; new password works {switched}")
    for tls in ("--ssl", "--skip-ssl"):
        ok, why = cli_denied("sha2user", "secret", tls)
        tap(ok, f"after SIGHUP, CLI {tls}: sha2user's old password (cached): 1045", why)
        ok, why = cli_denied("plainuser", "secret", tls, "--default-auth=caching_sha2_password")
        tap(ok, f"after SIGHUP, CLI {tls}: plainuser's old password, sha2 fast path: 1045", why)
        ok, why = cli_denied("plainuser", "secret", tls)
        tap(ok, f"after SIGHUP, CLI {tls}: plainuser's old password, native: 1045", why)
    r, t = pm("sha2user", "secret", False, fixed=True)
    tap(is_1045(r), "after SIGHUP, PyMySQL: sha2user's old password: 1045", f"{r!r}, trips {t}")
    results = [cli_ok(u, "other", tls) for u in ("sha2user", "plainuser")
               for tls in ("--ssl", "--skip-ssl")]
    tap(all(ok for ok, _ in results), "after SIGHUP: the new passwords log in, TLS and not",
        "; ".join(why for ok, why in results if not ok))
except NotUp:
    pass
finally:
    rc = stop(proc)
    log_file.close()
log = open(log_path).read()
tap(rc == 0, "SIGTERM: ringsql exits 0", f"status {rc}")
bad = [line for line in log.splitlines() if "Sanitizer" in line or "runtime error" in line]
tap(not bad, "no sanitizer report in ringsql's log", "; ".join(bad[:5]))
if tap.failed:
    for line in log.splitlines()[-30:]:
        print(f"# {line}")
tap.plan()
sys.exit(1 if tap.failed else 0)
