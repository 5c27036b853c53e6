"""Helpers for the Python tests that print TAP: numbered results, a free port, a bounded wait."""
import socket
import time


class Tap:
    """Numbered TAP lines; failed is true once any was not ok."""

    def __init__(self):
        self.n = 0
        self.failed = False

    def __call__(self, ok, what, detail=""):
        self.n += 1
        suffix = f" ({detail})" if detail and not ok else ""
        print(("ok" if ok else "not ok") + f" {self.n} - {what}{suffix}", flush=True)
        self.failed |= not ok

    def plan(self):
        print(f"1..{self.n}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, bound_s, step_s=0.05):
    """Polls cond until it holds or bound_s passed; its last answer."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step_s)
    return cond()


def ringsql_config(listen, admin, workers=1, pool_size=2, extra="", pool=""):
    """A ringsql config: the test MariaDB (RINGSQL_TEST_MARIADB_HOST/PORT) as backend
    'primary', user app/secret as ringsql_test, the admin endpoint on admin; pool's lines
    (indented) added under pool:, extra appended."""
    import os
    host = os.environ.get("RINGSQL_TEST_MARIADB_HOST", "127.0.0.1")
    port = os.environ.get("RINGSQL_TEST_MARIADB_PORT")
    return f"""listen: "127.0.0.1:{listen}"
workers: {workers}
backends:
  - name: primary
    address: "{host}:{port}"
users:
  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
pool:
  size: {pool_size}
{pool}admin:
  listen: "127.0.0.1:{admin}"
""" + extra
