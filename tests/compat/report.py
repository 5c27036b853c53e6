#!/usr/bin/env python3
"""Reads what mariadb-test-run printed for each shard and target of a tests/compat/run.sh run
(DIR/shard*/var-TARGET.log, the tests each shard had in DIR/shard*/tests), writes
DIR/results.tsv (test, target, result, first line of the failure) and prints a table per
target, the tests that pass directly but not through ringsql, and a summary line.

    report.py --results DIR --targets direct,session,txn [--assert session,txn] [--tap]

With --assert, exits 1 when a test that passed directly does not pass on one of those targets.
With --tap every line is a TAP comment but one line per test and asserted target (a test that
did not pass directly is a TAP skip there).
"""
import argparse
import collections
import glob
import os
import re
import sys

RESULT_RE = re.compile(
    r"^(?:\[[^\]]*\]\s+)?main\.(\S+?)(?:\s+'[^']*')?\s+(?:w\d+\s+)?"
    r"\[ (?:retry-)?(pass|fail|skipped|disabled) \]\s*(.*)$")
END_RE = re.compile(r"^-{20,}$|^The servers were restarted|^Completed: |^Spent ")
QUERY_RE = re.compile(r"^At line (\d+): query '(.*)' failed: (.*)$", re.S)


def clean(text, limit=240):
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failure_reason(first, details):
    """The first line that tells why: mysqltest's error, else the first differing lines."""
    if first:
        return clean(first)
    for i, line in enumerate(details):
        if line.startswith("mysqltest: "):
            # The message, with the lines that continue it ("In included file ...:").
            msg = [line[len("mysqltest: "):]]
            for more in details[i + 1:]:
                if not more.strip():
                    break
                msg.append(more)
            msg = " ".join(m.strip() for m in msg)
            m = QUERY_RE.match(msg)
            if m:
                return clean("At line %s: query '%s' failed: %s"
                             % (m.group(1), clean(m.group(2), 60), m.group(3)))
            return clean(msg)
    # The first hunk of the diff: its first line removed and first line added.
    hunk, seen = [], False
    for line in details:
        if line.startswith("@@"):
            if seen:
                break
            seen = True
        elif seen:
            hunk.append(line)
    minus = next((l for l in hunk if l.startswith("-")), None)
    plus = next((l for l in hunk if l.startswith("+")), None)
    if minus is not None or plus is not None:
        parts = []
        if minus is not None:
            parts.append("expected %r" % clean(minus[1:], 100))
        if plus is not None:
            parts.append("got %r" % clean(plus[1:], 100))
        return "result differs: " + ", ".join(parts)
    for line in details:
        line = line.strip()
        if line and not line.startswith("Test ended at"):
            return clean(line)
    return "failed (no reason printed)"


def parse_log(path):
    """{test: (result, reason)} from one mtr output."""
    results = {}
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return results
    i = 0
    while i < len(lines):
        m = RESULT_RE.match(lines[i])
        if not m:
            i += 1
            continue
        name, status, rest = m.group(1), m.group(2), m.group(3)
        i += 1
        details = []
        while i < len(lines) and not RESULT_RE.match(lines[i]) and not END_RE.match(lines[i]):
            details.append(lines[i])
            i += 1
        if status == "pass":
            results[name] = ("pass", "")
        elif status in ("skipped", "disabled"):
            results[name] = ("skip", clean(("disabled: " if status == "disabled" else "") + rest))
        else:
            results[name] = ("fail", failure_reason(rest, details))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--targets", default="direct,session,txn")
    ap.add_argument("--assert", dest="assert_", default="")
    ap.add_argument("--tap", action="store_true")
    args = ap.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    asserted = [t for t in args.assert_.split(",") if t]

    def say(text=""):
        print(("# " + text) if args.tap else text)

    # test -> target -> (result, reason)
    table = collections.OrderedDict()
    shards = sorted(glob.glob(os.path.join(args.results, "shard*")))
    # ringsql's own health, per target: exit status 0 on SIGTERM, no sanitizer report in its log.
    health = {t: [] for t in targets if t != "direct"}
    for shard in shards:
        for target in health:
            try:
                with open(os.path.join(shard, "ringsql-%s.exit" % target)) as f:
                    rc = f.read().strip()
                if rc != "0":
                    health[target].append("%s: ringsql exited with status %s"
                                          % (os.path.basename(shard), rc))
            except OSError:
                pass
            try:
                with open(os.path.join(shard, "ringsql-%s.log" % target), errors="replace") as f:
                    bad = [l.strip() for l in f if "Sanitizer" in l or "runtime error" in l]
                if bad:
                    health[target].append("%s: %s" % (os.path.basename(shard), clean(bad[0])))
            except OSError:
                pass
    for shard in shards:
        try:
            with open(os.path.join(shard, "tests")) as f:
                names = [l.strip() for l in f if l.strip()]
        except OSError:
            continue
        for target in targets:
            log = os.path.join(shard, "var-%s.log" % target)
            got = parse_log(log)
            for name in names:
                table.setdefault(name, {})[target] = got.get(
                    name, ("fail", "not run: mtr ended before it (time limit or crash; see %s)"
                           % os.path.relpath(log, args.results)))
    try:
        with open(os.path.join(args.results, "restarting")) as f:
            for name in (l.strip() for l in f):
                if name:
                    table[name] = {t: ("skip", "stops or restarts the server: not with --extern")
                                   for t in targets}
    except OSError:
        pass
    names = sorted(table)

    with open(os.path.join(args.results, "results.tsv"), "w") as out:
        out.write("test\ttarget\tresult\treason\n")
        for name in names:
            for target in targets:
                result, reason = table[name][target]
                out.write("main.%s\t%s\t%s\t%s\n" % (name, target, result, reason))

    counts = {}
    for target in targets:
        c = collections.Counter(table[n][target][0] for n in names)
        counts[target] = c
        say("== %s: %d tests: %d passed, %d failed, %d skipped"
            % (target, len(names), c["pass"], c["fail"], c["skip"]))
        for name in names:
            result, reason = table[name][target]
            if result == "fail":
                say("   fail  main.%-36s %s" % (name, reason))
        skips = collections.Counter(table[n][target][1] for n in names
                                    if table[n][target][0] == "skip")
        for reason, k in skips.most_common(8):
            say("   skip  %4d x %s" % (k, reason))
        if len(skips) > 8:
            say("   skip  (%d more reasons)" % (len(skips) - 8))

    lost = {}
    if "direct" in targets:
        for target in targets:
            if target == "direct":
                continue
            lost[target] = [n for n in names
                            if table[n]["direct"][0] == "pass" and table[n][target][0] != "pass"]
            say("== passed directly, not through ringsql (%s): %d" % (target, len(lost[target])))
            for name in lost[target]:
                result, reason = table[name][target]
                say("   %s  main.%-36s %s" % (result, name, reason))

    for target, problems in health.items():
        for p in problems:
            say("== ringsql (%s): %s" % (target, p))

    failed_assert = 0
    if args.tap:
        n = 0
        for target in asserted:
            if target in health:
                n += 1
                if health[target]:
                    print("not ok %d - ringsql %s: %s" % (n, target, "; ".join(health[target])))
                else:
                    print("ok %d - ringsql %s: exit status 0, no sanitizer report" % (n, target))
            for name in names:
                n += 1
                direct = table[name].get("direct", ("pass", ""))[0]
                result, reason = table[name][target]
                if direct != "pass":
                    print("ok %d - %s main.%s # SKIP %s directly" % (n, target, name, direct))
                elif result == "pass":
                    print("ok %d - %s main.%s" % (n, target, name))
                else:
                    print("not ok %d - %s main.%s (%s: %s)" % (n, target, name, result, reason))
        print("1..%d" % n)
    for target in asserted:
        failed_assert += len(lost.get(target, [])) + len(health.get(target, []))

    parts = []
    for target in targets:
        c = counts[target]
        part = "%s %d passed, %d failed, %d skipped" % (target, c["pass"], c["fail"], c["skip"])
        if target in lost:
            part += " (%d of direct's passes fail)" % len(lost[target])
        parts.append(part)
    say("compat: %d tests; %s" % (len(names), "; ".join(parts)))
    return 1 if failed_assert else 0


if __name__ == "__main__":
    sys.exit(main())
