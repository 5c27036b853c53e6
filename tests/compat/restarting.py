#!/usr/bin/env python3
"""Prints the tests of mtr's main suite that stop, kill or restart the server (themselves or
through a file they source): with --extern mtr runs them but cannot restart a server it did not
start, so they wait for nothing until their time is up and leave the server down for the tests
after them. tests/compat/run.sh reports them as skipped.

    restarting.py MTR_DIR TEST...
"""
import os
import re
import sys

# What stopping or restarting looks like in mysqltest: mtr's expect file, the commands, the
# include files of mtr that do it (restart_mysqld.inc, kill_mysqld.inc, ...).
RESTART = re.compile(r"mysqld\.\d+\.expect|shutdown_server|send_shutdown|^\s*shutdown\s*;"
                     r"|_mysqld\.inc|restart_mysqld|kill_mysqld", re.I)
SOURCE = re.compile(r"^\s*-*\s*source\s+([^\s;]+)", re.I)


def lines(path):
    try:
        with open(path, errors="replace") as f:
            return [l for l in f if not l.lstrip().startswith("#")]
    except OSError:
        return []


def main():
    mtr_dir, tests = sys.argv[1], sys.argv[2:]
    memo = {}

    def restarts(path, depth=0):
        if path in memo:
            return memo[path]
        memo[path] = False  # sources that loop back
        found = False
        for line in lines(path):
            if RESTART.search(line):
                found = True
                break
            m = SOURCE.match(line)
            if m and depth < 8:
                name = m.group(1)
                for base in (mtr_dir, os.path.join(mtr_dir, "main")):
                    inc = os.path.join(base, name)
                    if os.path.isfile(inc) and restarts(inc, depth + 1):
                        found = True
                        break
                if found:
                    break
        memo[path] = found
        return found

    for test in tests:
        if restarts(os.path.join(mtr_dir, "main", test + ".test")):
            print(test)


if __name__ == "__main__":
    main()
