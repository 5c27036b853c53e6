#!/usr/bin/env python3
"""Driver conformance checks (contract: tests/drivers/run.sh) for the two Python DB-API
MySQL drivers: PyMySQL (pure Python) and mysqlclient (MySQLdb, on libmariadb), chosen by
argv[1] ("pymysql" or "MySQLdb"). Prints one "<check>: ok|FAIL why|skip why" line per check.

With DRV_TLS_CA set only the TLS checks run, on one connection that requires TLS and verifies
the server's certificate against that CA. PyMySQL: ssl={'ca': ...} verifies (CERT_REQUIRED, host
name checked) but falls back to plaintext when the server offers no TLS, so its socket is checked
too. mysqlclient: ssl={'ca': ...} plus libmariadb's ssl-verify-server-cert=1 from an option file
(mysqlclient 1.4 has no API for it; the client flag alone does not stop the plaintext fallback),
with which libmariadb refuses a server without TLS or with a certificate of another CA."""
import hashlib
import importlib
import os
import re
import ssl
import sys

CONNECT_TIMEOUT_S = 10
IO_TIMEOUT_S = 10

env = os.environ.get
HOST, PORT = env("DRV_HOST", "127.0.0.1"), int(env("DRV_PORT", "3306"))
USER, PASSWORD, DB = env("DRV_USER", ""), env("DRV_PASSWORD", ""), env("DRV_DB", "")
USER2, PASSWORD2, DB2 = env("DRV_USER2", ""), env("DRV_PASSWORD2", ""), env("DRV_DB2", "")
TARGET = env("DRV_TARGET", "direct")
TLS_CA = env("DRV_TLS_CA", "")
MODULE = sys.argv[1] if len(sys.argv) > 1 else "pymysql"
PREFIX = re.sub(r"[^A-Za-z0-9]", "_", "drv_%s_%s" % (env("DRV_NAME", MODULE), TARGET))
# Both users always map to these backend users through ringsql; direct they are themselves.
BACKEND_USER2 = "ringsql_test2"


def import_driver(name):
    """The driver module. Where a python3 without the distribution's packages comes first on
    PATH (pyenv), run this script again with the distribution's interpreter."""
    try:
        return importlib.import_module(name)
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK):
            os.execv(system, [system] + sys.argv)
        raise


db = import_driver(MODULE)
CLIENT = importlib.import_module(MODULE + ".constants.CLIENT")


def connect(user=USER, password=PASSWORD, database=DB, client_flag=0, **extra):
    """A fresh connection; both drivers take the same keyword arguments (autocommit is off,
    as DB-API requires)."""
    return db.connect(host=HOST, port=PORT, user=user, password=password, database=database,
                      connect_timeout=CONNECT_TIMEOUT_S, read_timeout=IO_TIMEOUT_S,
                      write_timeout=IO_TIMEOUT_S, client_flag=client_flag, **extra)


def connect_tls():
    """A connection that requires TLS and verifies the server's certificate against TLS_CA."""
    if MODULE == "pymysql":
        c = connect(ssl={"ca": TLS_CA})
        if not isinstance(c._sock, ssl.SSLSocket):
            c.close()
            raise AssertionError("PyMySQL connected without TLS (the server offered none)")
        return c
    option_file = os.path.join(env("DRV_TMPDIR", "/tmp"), "tls-client.cnf")
    with open(option_file, "w") as f:
        f.write("[client]\nssl-verify-server-cert=1\n")
    return connect(ssl={"ca": TLS_CA}, read_default_file=option_file)


def errno_of(err):
    return err.args[0] if err.args and isinstance(err.args[0], int) else None


class Skip(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def scalar(conn, sql, args=None):
    return query(conn, sql, args)[0][0]


def fresh_table(conn, suffix, columns):
    name = "%s_%s" % (PREFIX, suffix)
    query(conn, "DROP TABLE IF EXISTS " + name)
    query(conn, "CREATE TABLE %s (%s)" % (name, columns))
    return name


class Checks:
    """One method per check, in the contract's order; the shared connection `c` is opened by
    `login` and reused by the checks that need no fresh one."""

    def __init__(self):
        self.c = None

    def conn(self):
        if self.c is None:
            self.c = connect()
        return self.c

    def login(self):
        self.c = connect()
        expect("DATABASE()", scalar(self.c, "SELECT DATABASE()"), DB)

    def wrong_password(self):
        try:
            connect(password=PASSWORD + "-wrong").close()
        except db.OperationalError as e:
            expect("error code", errno_of(e), 1045)
            return
        raise AssertionError("connected with a wrong password")

    def select1(self):
        expect("SELECT 1", scalar(self.conn(), "SELECT 1"), 1)

    def rows_1000(self):
        c = self.conn()
        t = fresh_table(c, "rows", "id INT PRIMARY KEY, v VARCHAR(64)")
        rows = [(i, "value-%d-%s" % (i, hashlib.md5(str(i).encode()).hexdigest())) for i in range(1000)]
        with c.cursor() as cur:  # both drivers rewrite this into multi-row INSERTs
            cur.executemany("INSERT INTO " + t + " (id, v) VALUES (%s, %s)", rows)
        c.commit()
        got = query(c, "SELECT id, v FROM %s ORDER BY id" % t)
        expect("row count", len(got), 1000)
        digest = lambda rs: hashlib.sha256("\n".join("%d:%s" % r for r in rs).encode()).hexdigest()
        expect("checksum of rows", digest(got), digest(rows))
        expect("server COUNT(*)", scalar(c, "SELECT COUNT(*) FROM " + t), 1000)
        query(c, "DROP TABLE " + t)

    def rollback(self):
        c = self.conn()
        t = fresh_table(c, "tx", "id INT PRIMARY KEY")
        c.begin()
        query(c, "INSERT INTO %s VALUES (%%s)" % t, (1,))
        expect("rows inside the transaction", scalar(c, "SELECT COUNT(*) FROM " + t), 1)
        c.rollback()
        expect("rows after ROLLBACK", scalar(c, "SELECT COUNT(*) FROM " + t), 0)
        query(c, "DROP TABLE " + t)

    def prepared_100(self):
        raise Skip("%s has no server-side prepared statements (cursor.execute interpolates "
                   "parameters client-side into COM_QUERY)" % MODULE)

    def blob_5mb(self):
        c = self.conn()
        t = fresh_table(c, "blob", "id INT PRIMARY KEY, b LONGBLOB")
        blob = os.urandom(5 * 1024 * 1024)
        query(c, "INSERT INTO %s VALUES (1, %%s)" % t, (blob,))
        c.commit()
        got, length = query(c, "SELECT b, LENGTH(b) FROM %s WHERE id = 1" % t)[0]
        expect("LENGTH(b)", length, len(blob))
        if bytes(got) != blob:
            raise AssertionError("blob read back differs (%d bytes)" % len(got))
        query(c, "DROP TABLE " + t)

    def multi_statement(self):
        c = connect(client_flag=CLIENT.MULTI_STATEMENTS)
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 1; SELECT 2")
                first = cur.fetchall()
                expect("another result set", bool(cur.nextset()), True)
                second = cur.fetchall()
                expect("results", (first, second), (((1,),), ((2,),)))
                expect("a third result set", bool(cur.nextset()), False)
        finally:
            c.close()

    def user_var(self):
        c = self.conn()
        query(c, "SET @v = 42")
        expect("@v", scalar(c, "SELECT @v"), 42)

    def error_then_query(self):
        c = self.conn()
        try:
            query(c, "SELECT * FROM no_such_table_" + PREFIX)
            raise AssertionError("querying a missing table did not fail")
        except db.ProgrammingError as e:
            expect("error code", errno_of(e), 1146)
        expect("SELECT 1 after the error", scalar(c, "SELECT 1"), 1)

    def result_20mb(self):
        rows = query(self.conn(), "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000")
        expect("rows", len(rows), 20000)
        expect("sum of seq", sum(r[0] for r in rows), 20000 * 20001 // 2)
        expect("total length", sum(len(r[1]) for r in rows), 20000 * 1000)

    def use_db(self):
        c = connect()
        try:
            query(c, "USE " + DB2)
            expect("DATABASE()", scalar(c, "SELECT DATABASE()"), DB2)
        finally:
            c.close()

    def change_db(self):
        c = connect()
        try:
            c.select_db(DB2)  # COM_INIT_DB
            expect("DATABASE()", scalar(c, "SELECT DATABASE()"), DB2)
        finally:
            c.close()

    def change_user(self):
        c = connect()
        try:
            if not hasattr(c, "change_user"):
                raise Skip("%s %s has no COM_CHANGE_USER API" % (MODULE, db.__version__))
            c.change_user(USER2, PASSWORD2, DB2)
            user = scalar(c, "SELECT CURRENT_USER()")
            if not user.startswith(BACKEND_USER2):
                raise AssertionError("CURRENT_USER() = %r, want %s@..." % (user, BACKEND_USER2))
        finally:
            c.close()

    def close(self):
        c, self.c = self.conn(), None
        c.close()
        c2 = connect()
        try:
            expect("SELECT 1 on a new connection", scalar(c2, "SELECT 1"), 1)
        finally:
            c2.close()


class TlsChecks:
    """The checks of the TLS targets (DRV_TLS_CA set): both on one verified TLS connection."""

    def __init__(self):
        self.c = None

    def tls_login(self):
        self.c = connect_tls()
        expect("DATABASE()", scalar(self.c, "SELECT DATABASE()"), DB)

    def tls_rows(self):
        if self.c is None:
            self.c = connect_tls()
        rows = query(self.c, "SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000")
        expect("rows", len(rows), 5000)
        expect("sum of seq", sum(r[0] for r in rows), 12502500)


TLS_ORDER = ["tls_login", "tls_rows"]

ORDER = ["login", "wrong_password", "select1", "rows_1000", "rollback", "prepared_100",
         "blob_5mb", "multi_statement", "user_var", "error_then_query", "result_20mb",
         "use_db", "change_db", "change_user", "close"]


def one_line(text):
    return " ".join(str(text).split())[:300]


def main():
    checks, order = (TlsChecks(), TLS_ORDER) if TLS_CA else (Checks(), ORDER)
    for name in order:
        try:
            getattr(checks, name)()
            print("%s: ok" % name, flush=True)
        except Skip as e:
            print("%s: skip %s" % (name, one_line(e)), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported and the run goes on
            print("%s: FAIL %s: %s" % (name, type(e).__name__, one_line(e)), flush=True)
            print("%s: %r" % (name, e), file=sys.stderr)
            if checks.c is not None and name != "close":
                # A failed check may leave the shared connection unusable: start afresh.
                try:
                    checks.c.close()
                except Exception:  # noqa: BLE001
                    pass
                checks.c = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
