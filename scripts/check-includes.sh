#!/bin/sh
# check-includes.sh - fail when the modules of include/ and src/ include each other in a cycle
#
# A module is a name: include/dns64d/NAME.h and src/NAME.c (and src/NAME_*.c, src/NAME_*.h). Module A depends on B when A's
# header or source has #include "dns64d/B.h". Any cycle in that graph is printed and the
# script exits 1 (0: no cycle). Edges listed in scripts/include-cycles.allow ("a -> b", one
# per line) are known to close cycles and are left out until the modules they name are
# reworked; a listed edge that no longer exists is an error too, so the list only shrinks.
# Usage: check-includes.sh [SOURCE_DIR]
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
exec python3 - "$src" <<'PY'
import os, re, sys
root = sys.argv[1]
deps = {}
headers = {f[:-2] for f in os.listdir(os.path.join(root, "include/dns64d")) if f.endswith(".h")}
def module(name):
    # a module's extra files (src/fetch_attempt.c, src/fetch_int.h) belong to it
    while name not in headers and "_" in name:
        name = name.rsplit("_", 1)[0]
    return name
for d, ext in (("include/dns64d", ".h"), ("src", ".c"), ("src", ".h")):
    for f in sorted(os.listdir(os.path.join(root, d))):
        if not f.endswith(ext):
            continue
        mod = module(f[: -len(ext)])
        with open(os.path.join(root, d, f), errors="replace") as fh:
            for m in re.finditer(r'^\s*#\s*include\s+"dns64d/([^"]+)\.h"', fh.read(), re.M):
                if m.group(1) != mod:
                    deps.setdefault(mod, set()).add(m.group(1))
allowed = set()
allow_path = os.path.join(root, "scripts", "include-cycles.allow")
if os.path.exists(allow_path):
    with open(allow_path) as fh:
        for l in fh:
            if l.strip() and not l.startswith("#"):
                a, b = (x.strip() for x in l.split("->"))
                allowed.add((a, b))
bad = 0
for a, b in sorted(allowed):
    if b in deps.get(a, ()):
        print("known edge left out (scripts/include-cycles.allow): %s -> %s" % (a, b))
        deps[a].discard(b)
    else:
        print("%s no longer includes %s: remove the line from scripts/include-cycles.allow" % (a, b))
        bad += 1
cycles, state, stack = set(), {}, []
def visit(m):
    state[m] = 1
    stack.append(m)
    for n in sorted(deps.get(m, ())):
        if state.get(n) == 1:
            c = stack[stack.index(n):]
            i = c.index(min(c))
            cycles.add(tuple(c[i:] + c[:i]))
        elif n not in state:
            visit(n)
    stack.pop()
    state[m] = 2
for m in sorted(deps):
    if m not in state:
        visit(m)
for c in sorted(cycles):
    print("include cycle: " + " -> ".join(c + (c[0],)))
print("%d modules, %d include edges (%d known left out), %d cycles" % (
      len(set(deps) | {n for v in deps.values() for n in v}), sum(len(v) for v in deps.values()) + len(allowed),
      len(allowed), len(cycles)))
sys.exit(1 if cycles or bad else 0)
PY
