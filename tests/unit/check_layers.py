#!/usr/bin/env python3
"""core/'s layers (docs/architecture.md): calls between its files run one way. Reads the
compiled objects (nm: what each defines and what it calls), draws the file-to-file call graph
and fails on any circle of files; also fails when a file calls into a layer above its own, and
when a core/ source file grows past 800 lines. Usage: check_layers.py OBJDIR SRCDIR
(build/core/libringsql_core.a.p and the source root's core/). Prints TAP."""
import collections
import glob
import os
import subprocess
import sys

objdir, srcdir = sys.argv[1], sys.argv[2]
# Lower first: a file may call its own layer (without a circle) and those below it.
LAYERS = ["io", "base", "worker", "conn", "maintenance", "admin", "top"]
MAX_LINES = 800


def layer_of(obj):
    head = obj.split("_", 1)[0] if "_" in obj else ""
    return head if head in LAYERS else "top"


defs, uses = {}, collections.defaultdict(set)
for path in glob.glob(os.path.join(objdir, "*.o")):
    name = os.path.basename(path)[: -len(".c.o")]
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBR":
            defs[f[2]] = name
        elif len(f) == 2 and f[0] == "U":
            uses[name].add(f[1])
edges = collections.defaultdict(set)
for name, syms in uses.items():
    for s in syms:
        if s in defs and defs[s] != name:
            edges[name].add((defs[s], s))

n = 0
failed = False


def tap(ok, what, details=()):
    global n, failed
    n += 1
    print(("ok" if ok else "not ok") + f" {n} - {what}")
    for d in details:
        print(f"# {d}")
    failed |= not ok


# Circles: Tarjan's strongly connected components over the files.
index, low, stack, on_stack, circles = {}, {}, [], set(), []
counter = [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w, _ in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            circles.append(sorted(comp))


for v in sorted(set(defs.values()) | set(uses)):
    if v not in index:
        visit(v)
tap(not circles, f"no circle of files among core's {len(index)} objects",
    [f"circle: {' '.join(c)}" for c in circles])

up = sorted(f"{a} calls {s} of {b} ({layer_of(a)} below {layer_of(b)})"
            for a in edges for b, s in edges[a]
            if LAYERS.index(layer_of(a)) < LAYERS.index(layer_of(b)))
tap(not up, "no call into a layer above (" + " < ".join(LAYERS) + ")", up)

long_files = []
for path in sorted(glob.glob(os.path.join(srcdir, "**", "*.[ch]"), recursive=True)):
    with open(path) as f:
        lines = sum(1 for _ in f)
    if lines > MAX_LINES:
        long_files.append(f"{os.path.relpath(path, srcdir)}: {lines} lines")
tap(not long_files, f"no core/ file over {MAX_LINES} lines", long_files)
print(f"1..{n}")
sys.exit(1 if failed else 0)
