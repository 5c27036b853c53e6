"""A ringsql process for the Python integration tests (test_tls.py, test_replication.py):
started from a config file with its log captured, its log and /metrics read, stopped with
SIGTERM and judged (exit 0, no sanitizer report); a case run so that an exception is one failed
TAP line; and the end of a run (the logs of a failed one shown, the work folder removed)."""
import os
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request


def engines():
    """The environment for ringsql without RINGSQL_IO, and the engines each case runs on:
    the one RINGSQL_IO names (meson's epoll setup), else auto (io_uring where allowed) and
    epoll."""
    base_env = {k: v for k, v in os.environ.items() if k != "RINGSQL_IO"}
    env_io = os.environ.get("RINGSQL_IO")
    return base_env, [env_io] if env_io else ["auto", "epoll"]


class RingsqlProc:
    """ringsql -c cfg_path on engine, its stderr in log_path, /metrics on port admin."""

    started = []  # every one, for the kill at exit of those a failed case left running

    def __init__(self, tap, name, bin_path, cfg_path, log_path, admin, engine, base_env):
        self.tap, self.name, self.admin = tap, name, admin
        self.cfg, self.log_path = cfg_path, log_path
        env = dict(base_env)
        if engine != "auto":
            env["RINGSQL_IO"] = engine
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen([bin_path, "-c", cfg_path], stdout=subprocess.DEVNULL,
                                         stderr=log, env=env)
        self.stopped = False
        RingsqlProc.started.append(self)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def metrics(self):
        """/metrics' text, or "" when the admin endpoint does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return ""

    def engine(self):
        for line in self.log().splitlines():
            if "event=io_engine " in line and " engine=" in line:
                return line.split(" engine=", 1)[1].split()[0]
        return "?"

    def stop(self):
        """SIGTERM; one TAP line: exit status 0 and no sanitizer report in its log."""
        if self.stopped:
            return
        self.stopped = True
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "no exit within 30 s"
        bad = [ln for ln in self.log().splitlines() if "Sanitizer" in ln or "runtime error" in ln]
        self.tap(rc == 0 and not bad, f"{self.name}: SIGTERM, exit 0, no sanitizer report",
                 f"status {rc}; {bad[:3]}")

    @classmethod
    def kill_left(cls):
        """Ends the ringsql processes started that still run (after an exception)."""
        for rs in cls.started:
            if rs.proc.poll() is None:
                rs.proc.kill()
                rs.proc.wait()


def check(tap, what, fn):
    """Runs fn (which reports its own TAP lines); an exception is one failed line of its own."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001: any failure of the harness is a failed check
        tap(False, f"{what}: ran to its end", f"{type(e).__name__}: {e}")
        for line in traceback.format_exc().splitlines()[-6:]:
            print(f"# {line}")


def finish(tap, work, started):
    """Ends the run: the last lines of every log in work when something failed (work is kept),
    else work removed; the time taken, the plan, the exit status."""
    if tap.failed:
        for f in sorted(os.listdir(work)):
            if f.endswith(".log"):
                lines = [ln for ln in open(os.path.join(work, f), errors="replace").read()
                         .splitlines() if "level=debug" not in ln]
                for line in lines[-6:]:
                    print(f"# {f}: {line}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# {time.monotonic() - started:.1f} s")
    tap.plan()
    sys.exit(1 if tap.failed else 0)
