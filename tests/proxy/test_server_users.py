#!/usr/bin/python3
"""Users the server knows (auth.from_backend): a client whose user ringsql's config does not list
is checked against the server's own account and pooled as that user, against the MariaDB of
RINGSQL_TEST_MARIADB_* (accounts made here as root), on each I/O engine (io: auto and epoll, or
only RINGSQL_IO's), in session and transaction pooling:
  - a native-password account logs in (the CLI, PyMySQL) and works with its own privileges
    (CURRENT_USER() is it; another database is refused by the server as it would be); an
    account without a password too;
  - refusals are the server's: a wrong password or an unknown user 1045 with the client's
    address, a locked account 4151, an expired password the server's sandbox (1820 on a
    statement), an account for another host 1045; an account of another plugin (unix_socket) 1045 saying why; none marks the backend
    down (a listed user is still served, /metrics says the backend is up);
  - COM_CHANGE_USER (MySQLdb) to a server user and back; to a wrong password or an unknown
    user: the server's 1045, and the session goes on as it was; after three refused, 1047;
  - a password changed on the server: the new one gets in, the old one no longer;
  - what the server changes in an account shows at its next login (a REVOKE of a global
    privilege, DROP USER), though the backend connection is a pooled one;
  - a name without an account logs in as the anonymous account (''@'%');
  - a second login is served from what ringsql keeps (no second check), a SIGHUP keeps the
    logged-in session and makes the next login check with the server again;
  - KILL QUERY of another session of the same server user stops its statement, by the id of
    ringsql's greeting (ringsql asks the server as auth.user) and by CONNECTION_ID();
  - auth.max_connections bounds the server users' backend connections (the server's
    processlist never shows more), and an idle server user's pool shrinks to nothing.
Every ringsql exits 0 on SIGTERM with no sanitizer report in its log.
Usage: test_server_users.py RINGSQL_BIN. Prints TAP. Needs python3-pymysql and python3-mysqldb."""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ringsql_proc import RingsqlProc, check as run_check, engines, finish  # noqa: E402
from taplib import Tap, free_port, ringsql_config, wait_until  # noqa: E402

try:
    import MySQLdb
    import pymysql
except ImportError:
    print("Bail out! PyMySQL or MySQLdb is missing (apt-get install python3-pymysql "
          "python3-mysqldb)")
    sys.exit(1)
if len(sys.argv) != 2 or not os.environ.get("RINGSQL_TEST_MARIADB_PORT"):
    print("Bail out! usage: test_server_users.py RINGSQL_BIN, with RINGSQL_TEST_MARIADB_* set")
    sys.exit(1)
bin_path = sys.argv[1]
DB_HOST = os.environ.get("RINGSQL_TEST_MARIADB_HOST", "127.0.0.1")
DB_PORT = int(os.environ["RINGSQL_TEST_MARIADB_PORT"])

tap = Tap()
started = time.monotonic()
work = tempfile.mkdtemp(prefix="ringsql-server-users-", dir=os.environ.get("RINGSQL_TEST_TMPDIR"))
base_env, engine_list = engines()
MAX_CONNS = 2

ACCOUNTS = """
DROP USER IF EXISTS su_plain@'%', su_nopw@'%', su_locked@'%', su_expired@'%', su_far@'10.9.9.9',
  su_sock@'%', su_auth@'%', su_pwchange@'%';
CREATE USER su_plain@'%' IDENTIFIED BY 'pw_plain';
GRANT SELECT ON ringsql_test.* TO su_plain@'%';
CREATE USER su_nopw@'%';
CREATE USER su_locked@'%' IDENTIFIED BY 'pw_locked' ACCOUNT LOCK;
CREATE USER su_expired@'%' IDENTIFIED BY 'pw_expired' PASSWORD EXPIRE;
CREATE USER su_far@'10.9.9.9' IDENTIFIED BY 'pw_far';
CREATE USER su_sock@'%' IDENTIFIED VIA unix_socket;
CREATE USER su_pwchange@'%' IDENTIFIED BY 'pw_old';
CREATE USER su_auth@'%' IDENTIFIED BY 'pw_auth';
GRANT SELECT ON mysql.* TO su_auth@'%';
GRANT CONNECTION ADMIN ON *.* TO su_auth@'%';
"""


def root_sql(sql):
    r = subprocess.run(["mariadb", "--no-defaults", "-N", "-h", DB_HOST, f"-P{DB_PORT}", "-uroot",
                        "-e", sql], capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"root: {sql[:80]!r}: {r.stderr.decode(errors='replace')}")
    return r.stdout.decode().split()


def server_conns(user):
    """How many connections the server has for user (its processlist)."""
    return int(root_sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                        f"WHERE USER = '{user}'")[0])


def check(what, fn):
    run_check(tap, what, fn)


class Ringsql(RingsqlProc):
    def __init__(self, engine, mode):
        self.port, admin = free_port(), free_port()
        base = os.path.join(work, f"{engine}-{mode}")
        with open(base + ".yaml", "w") as f:
            f.write(ringsql_config(
                self.port, admin, pool_size=4,
                pool=f"  mode: {mode}\n  stale_after: 2s\n  health_check_interval: 1s\n",
                extra=f"auth:\n  from_backend: true\n  user: su_auth\n  password: pw_auth\n"
                      f"  max_connections: {MAX_CONNS}\ntimeouts:\n  pool_wait: 1s\n"))
        super().__init__(tap, f"{engine}/{mode}", bin_path, base + ".yaml", base + ".log", admin,
                         engine, base_env)

    def checks(self, user):
        return self.log().count(f'event=server_user_checked user="{user}"')


def cli(port, sql, user, pw, extra=()):
    args = ["mariadb", "--no-defaults", "-N", "-h127.0.0.1", f"-P{port}", f"-u{user}", *extra,
            "-e", sql]
    if pw:
        args.insert(5, f"-p{pw}")
    r = subprocess.run(args, capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace").split(), \
        r.stderr.decode(errors="replace").strip()


def refused(rs, user, pw, code, words):
    rc, _, err = cli(rs.port, "SELECT 1", user, pw)
    tap(rc != 0 and f"ERROR {code} " in err and words in err,
        f"{rs.name}: {user}: ERROR {code} ({words})", err)


def c1_login(rs):
    rc, out, err = cli(rs.port, "SELECT CURRENT_USER(); SELECT COUNT(*) FROM ringsql_test.seq_1_to_10",
                       "su_plain", "pw_plain")
    tap(rc == 0 and out == ["su_plain@%", "10"],
        f"{rs.name}: a server user logs in (CLI) and reads as itself", f"{out} {err}")
    rc, _, err = cli(rs.port, "SELECT COUNT(*) FROM mysql.user", "su_plain", "pw_plain")
    tap(rc != 0 and "1142" in err, f"{rs.name}: with its own privileges (mysql.user refused by "
        "the server)", err)
    c = pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain", password="pw_plain")
    with c.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        tap(cur.fetchall() == (("su_plain@%",),), f"{rs.name}: PyMySQL logs in as it too")
    c.close()
    rc, out, err = cli(rs.port, "SELECT CURRENT_USER()", "su_nopw", "")
    tap(rc == 0 and out == ["su_nopw@%"], f"{rs.name}: an account without a password",
        f"{out} {err}")
    checks = rs.checks("su_plain")
    rc, _, _ = cli(rs.port, "SELECT 1", "su_plain", "pw_plain")
    tap(rc == 0 and rs.checks("su_plain") == checks,
        f"{rs.name}: the next login is served from what ringsql keeps (no second check)")


def c2_refusals(rs):
    refused(rs, "su_plain", "wrong", 1045,
            "Access denied for user 'su_plain'@'127.0.0.1' (using password: YES)")
    refused(rs, "su_ghost", "x", 1045,
            "Access denied for user 'su_ghost'@'127.0.0.1' (using password: YES)")
    refused(rs, "su_locked", "pw_locked", 4151, "locked")
    # MariaDB lets an expired password in (disconnect_on_expired_password is off), in its
    # sandbox: ERROR 1820 on every statement but SET PASSWORD, through ringsql as directly.
    refused(rs, "su_expired", "pw_expired", 1820, "SET PASSWORD")
    refused(rs, "su_far", "pw_far", 1045, "Access denied for user 'su_far'")
    refused(rs, "su_sock", "x", 1045, "uses unix_socket")
    rc, out, err = cli(rs.port, "SELECT CURRENT_USER()", "app", "secret")
    tap(rc == 0 and out == ["ringsql_test@%"], f"{rs.name}: a listed user is still served",
        f"{out} {err}")
    tap('ringsql_backend_up{backend="primary"} 1' in rs.metrics(),
        f"{rs.name}: the refusals did not mark the backend down", rs.metrics()[-300:])


def c3_change_user(rs):
    c = MySQLdb.connect(host="127.0.0.1", port=rs.port, user="app", password="secret")
    try:
        def who():
            cur = c.cursor()
            cur.execute("SELECT CURRENT_USER()")
            return cur.fetchall()[0][0]
        c.change_user("su_plain", "pw_plain")
        tap(who() == "su_plain@%", f"{rs.name}: COM_CHANGE_USER to a server user")
        for user, pw in (("su_plain", "wrong"), ("su_ghost", "x")):
            try:
                c.change_user(user, pw)
                tap(False, f"{rs.name}: COM_CHANGE_USER to {user}/{pw} refused")
            except MySQLdb.OperationalError as e:
                tap(e.args[0] == 1045 and f"'{user}'@'127.0.0.1'" in e.args[1],
                    f"{rs.name}: COM_CHANGE_USER to {user}/{pw}: the server's 1045", f"{e}")
            tap(who() == "su_plain@%", f"{rs.name}: ... and the session goes on as it was")
        c.change_user("app", "secret")
        tap(who() == "ringsql_test@%", f"{rs.name}: COM_CHANGE_USER back to a listed user")
        # A third refusal, then none more are tried: "Unknown command", as MariaDB answers
        # (MDEV-3915, against password guessing), and the session goes on.
        codes = []
        for _ in range(2):
            try:
                c.change_user("su_plain", "wrong")
            except MySQLdb.OperationalError as e:
                codes.append(e.args[0])
        tap(codes == [1045, 1047] and who() == "ringsql_test@%",
            f"{rs.name}: COM_CHANGE_USER after three refused: 1047, as the server", f"{codes}")
    finally:
        c.close()


def c4_password_change(rs):
    rc, _, err = cli(rs.port, "SELECT 1", "su_pwchange", "pw_old")
    tap(rc == 0, f"{rs.name}: su_pwchange logs in with its password", err)
    root_sql("ALTER USER su_pwchange@'%' IDENTIFIED BY 'pw_new'")
    try:
        rc, out, err = cli(rs.port, "SELECT CURRENT_USER()", "su_pwchange", "pw_new")
        tap(rc == 0 and out == ["su_pwchange@%"],
            f"{rs.name}: after ALTER USER on the server, the new password gets in", err)
        refused(rs, "su_pwchange", "pw_old", 1045, "Access denied for user 'su_pwchange'")
    finally:
        root_sql("ALTER USER su_pwchange@'%' IDENTIFIED BY 'pw_old'")


def c5_kill(rs):
    # The id ringsql's greeting gave (what mysql_thread_id() says), and CONNECTION_ID(): the
    # server's thread id in session pooling (the server judges that KILL), ringsql's in
    # transaction pooling.
    for how in ("thread_id", "CONNECTION_ID()"):
        kill_one(rs, how)
    # Any other KILL (of an expression, KILL USER, ...): the server's in session pooling, as
    # for a direct client; refused by ringsql in transaction pooling.
    rc, _, err = cli(rs.port, "KILL QUERY (SELECT 2097151)", "su_plain", "pw_plain")
    want = "ERROR 1235" if rs.name.endswith("transaction") else "ERROR 1094"
    tap(rc != 0 and want in err, f"{rs.name}: KILL of an expression: {want}", err)


def kill_one(rs, how):
    victim = pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain",
                             password="pw_plain", read_timeout=30)
    vid = victim.thread_id()
    if how != "thread_id":
        with victim.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            vid = cur.fetchall()[0][0]
    result = {}

    def sleep():
        t0 = time.monotonic()
        try:
            with victim.cursor() as cur:
                cur.execute("SELECT SLEEP(20)")
                result["rows"] = cur.fetchall()
        except pymysql.MySQLError as e:
            result["error"] = e.args[0]
        result["s"] = time.monotonic() - t0
    t = threading.Thread(target=sleep)
    t.start()
    try:
        wait_until(lambda: server_conns("su_plain") > 0 and "SLEEP" in " ".join(root_sql(
            "SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = 'su_plain' "
            "AND INFO IS NOT NULL")), 10)
        killer = pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain",
                                 password="pw_plain")
        with killer.cursor() as cur:
            cur.execute(f"KILL QUERY {vid}")
        killer.close()
    finally:
        t.join(30)
        victim.close()
    stopped = result.get("rows") == ((1,),) or result.get("error") == 1317
    tap(stopped and result.get("s", 99) < 15,
        f"{rs.name}: KILL QUERY (by {how}) of another session of the same server user stops "
        "it", result)


def c6_bounds(rs):
    others = ("su_nopw", "su_pwchange", "su_plain")
    tap(wait_until(lambda: all(server_conns(u) == 0 for u in others), 15, 0.25),
        f"{rs.name}: idle server users' pools shrink to nothing (stale_after)",
        f"{[server_conns(u) for u in others]}")
    conns = []
    try:
        for _ in range(MAX_CONNS):
            conns.append(pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain",
                                         password="pw_plain"))
            with conns[-1].cursor() as cur:
                cur.execute("BEGIN")  # held in both pool modes
                cur.execute("SELECT 1")
        try:
            extra = pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain",
                                    password="pw_plain")
            with extra.cursor() as cur:
                cur.execute("SELECT 1")
            extra.close()
            got = "served"
        except pymysql.MySQLError as e:
            got = e.args[0]
        tap(got in (1040, 1203) and server_conns("su_plain") <= MAX_CONNS,
            f"{rs.name}: auth.max_connections {MAX_CONNS}: one client more is refused, the "
            "server never sees more", f"{got}, {server_conns('su_plain')} on the server")
    finally:
        for c in conns:
            c.close()
    tap(wait_until(lambda: server_conns("su_plain") == 0, 15, 0.25),
        f"{rs.name}: ... and again once its clients left", f"{server_conns('su_plain')} left")


def c8_account_changes(rs):
    """What the server changes in an account after its login shows at the next login, as on a
    new direct connection, though the backend connection is a pooled one."""
    root_sql("CREATE USER su_tmp@'%' IDENTIFIED BY 'pw_tmp'; GRANT SELECT ON *.* TO su_tmp@'%'")
    try:
        rc, out, err = cli(rs.port, "SELECT COUNT(*) > 0 FROM mysql.db", "su_tmp", "pw_tmp")
        tap(rc == 0 and out == ["1"], f"{rs.name}: su_tmp reads mysql.db (global SELECT)", err)
        root_sql("REVOKE SELECT ON *.* FROM su_tmp@'%'")
        rc, _, err = cli(rs.port, "SELECT COUNT(*) FROM mysql.db", "su_tmp", "pw_tmp")
        tap(rc != 0 and "1142" in err, f"{rs.name}: REVOKE on the server: the next login no "
            "longer reads it", err)
        root_sql("DROP USER su_tmp@'%'")
        rc, _, err = cli(rs.port, "SELECT 1", "su_tmp", "pw_tmp")
        tap(rc != 0 and "ERROR 1045" in err, f"{rs.name}: DROP USER on the server: the next "
            "login is refused", err)
    finally:
        root_sql("DROP USER IF EXISTS su_tmp@'%'")


def c9_anonymous(rs):
    """A name with no account of its own logs in as the anonymous account, as directly."""
    root_sql("CREATE USER ''@'%'")
    try:
        rc, out, err = cli(rs.port, "SELECT CURRENT_USER()", "su_nobody", "")
        tap(rc == 0 and out == ["@%"], f"{rs.name}: a name without an account logs in as the "
            "anonymous one", f"{out} {err}")
    finally:
        root_sql("DROP USER IF EXISTS ''@'%'")


def c7_sighup(rs):
    c = pymysql.connect(host="127.0.0.1", port=rs.port, user="su_plain", password="pw_plain")
    try:
        checks = rs.checks("su_plain")
        rs.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "event=reloaded" in rs.log(), 10)
        with c.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            tap(cur.fetchall() == (("su_plain@%",),),
                f"{rs.name}: SIGHUP: a logged-in server user's session goes on")
        rc, _, err = cli(rs.port, "SELECT 1", "su_plain", "pw_plain")
        tap(rc == 0 and rs.checks("su_plain") == checks + 1,
            f"{rs.name}: ... and its next login is checked with the server again", err)
    finally:
        c.close()


def main():
    print(f"# engines: {', '.join(engine_list)}; ringsql {bin_path}")
    root_sql(ACCOUNTS)
    try:
        for engine in engine_list:
            for mode in ("session", "transaction"):
                rs = Ringsql(engine, mode)
                try:
                    if not wait_until(lambda: cli(rs.port, "SELECT 1", "app", "secret")[0] == 0,
                                      30):
                        tap(False, f"{rs.name}: serves within 30 s", rs.log()[-500:])
                        continue
                    for what, fn in (("login", c1_login), ("refusals", c2_refusals),
                                     ("change_user", c3_change_user),
                                     ("password change", c4_password_change), ("kill", c5_kill),
                                     ("bounds", c6_bounds), ("sighup", c7_sighup),
                                     ("account changes", c8_account_changes),
                                     ("anonymous", c9_anonymous)):
                        check(f"{rs.name}: {what}", lambda fn=fn: fn(rs))
                finally:
                    rs.stop()
    finally:
        RingsqlProc.kill_left()
        root_sql("DROP USER IF EXISTS su_plain@'%', su_nopw@'%', su_locked@'%', su_expired@'%', "
                 "su_far@'10.9.9.9', su_sock@'%', su_auth@'%', su_pwchange@'%'")
    finish(tap, work, started)


main()
