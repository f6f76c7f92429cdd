#!/usr/bin/env python3
"""The module layering check: no circle of imports, no module importing one above it.

Reads every crate of the workspace as text. Each `.rs` file is a module; a path that starts
with `crate::`, `super::` or `self::` (or with a child module's name) in a `use` line or in code
is an edge to the module it names. A name a module only re-exports (`pub use x::Y`) is followed
to where it lives, so a folder's `mod.rs` that gathers its children's items is not itself a
dependency. Test modules at the end of a file (`#[cfg(test)]`) and comments are not read.

Checks, failing with the offending path and line:
  1. the module graph of every crate has no cycle;
  2. in crates with a layer table (LAYERS below), every module sits in a layer and imports only
     its own layer or the ones under it;
  3. no file is longer than MAX_LINES lines;
  4. the test convention: every file (sources, tests, benches) opens with a `//!` line saying
     what it is, and a unit-test module is the last thing in its file.

Run from anywhere: `python3 .ci/layers.py` (exit 1 on a violation); `--graph` prints the edges.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MAX_LINES = 600

# Crates: name -> source root.
CRATES = {
    "lockscope-format": "probe/format/src",
    "lockscope": "probe/src",
    "lockscope-viewer": "viewer/src",
    "lockscope-samples": "samples/src",
}

# The probe's stack, bottom first. A module belongs to the first layer whose prefix matches
# its path (the most specific prefix is tried first); it may import its own layer and lower
# ones. The crate doc (`probe/src/lib.rs`) shows the same order.
LAYERS = {
    "lockscope": [
        ("ground", ["format", "raw", "clock", "span", "diag"]),
        ("settings", ["settings"]),
        ("sink", ["sink"]),
        ("actors", ["actor", "class", "stats"]),
        ("detectors", ["symbols", "detect", "recorder", "sampler", "dump"]),
        ("boot", ["boot"]),
        ("lock core", ["lock_core"]),
        ("primitives", ["lock", "stdsync", "tokio", "tracing"]),
        ("crate root", [""]),
    ],
}

COMMENT = re.compile(r"//.*$")
STRING = re.compile(r'"(?:\\.|[^"\\])*"')
PATH = re.compile(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)")
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S | re.M)
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)
TEST_START = re.compile(r"^\s*#\[cfg\((?:all\()?test\b")


def module_files(src):
    """Maps module path (tuple) -> file, for every .rs file under `src`."""
    out = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            if rel and rel[0] == "bin":
                continue  # each binary is its own crate
            out[tuple(rel)] = full
    return out


VIS_IN = re.compile(r"pub\(in [^)]*\)")


def strip(text):
    """Code without comments, string contents, visibility paths (`pub(in crate::x)` names no
    dependency) or test-only modules (`#[cfg(test)] mod ...`)."""
    text = VIS_IN.sub("pub", text)
    lines = []
    skip_depth = None
    pending_test = False
    for line in text.splitlines():
        code = COMMENT.sub("", STRING.sub('""', line))
        if skip_depth is not None:
            skip_depth += code.count("{") - code.count("}")
            if skip_depth <= 0:
                skip_depth = None
            lines.append("")
            continue
        if TEST_START.match(line):
            pending_test = True
            lines.append("")
            continue
        if pending_test and re.match(r"^\s*(pub(\([^)]*\))?\s+)?mod\s", code):
            pending_test = False
            if "{" in code:
                depth = code.count("{") - code.count("}")
                skip_depth = depth if depth > 0 else None
            lines.append("")
            continue
        if pending_test and code.strip() and not code.strip().startswith("#["):
            pending_test = False
        lines.append(code)
    return "\n".join(lines)


def expand_use(tree):
    """`a::{b, c::{d, e as f}}` -> [['a','b'], ['a','c','d'], ['a','c','e']]."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, s):
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:i])
                start = i + 1
        parts.append(s[start:])
        for p in parts:
            if not p:
                continue
            if "{" in p:
                head, rest = p.split("{", 1)
                head = [x for x in head.split("::") if x]
                walk(prefix + head, rest[:-1])
            else:
                p = p.split("as")[0] if re.search(r"\bas\b", p) else p
                p = re.sub(r"as\w+$", "", p) if False else p
                segs = [x for x in p.split("::") if x]
                out.append(prefix + segs)

    walk([], tree)
    return out


class Crate:
    def __init__(self, name, src):
        self.name = name
        self.mods = module_files(src)
        self.text = {}
        self.children = defaultdict(set)
        self.reexports = defaultdict(dict)  # module -> name -> absolute path
        for m, f in self.mods.items():
            raw = open(f, encoding="utf-8").read()
            self.text[m] = (raw, strip(raw))
            for child in MOD_DECL.findall(self.text[m][1]):
                self.children[m].add(child)
        # `pub use other_crate as name;` at the root: `crate::name::...` is that other crate.
        self.external = set(
            re.findall(r"^\s*pub(?:\([^)]*\))?\s+use\s+(?!crate|self|super)\w+\s+as\s+(\w+)\s*;", self.text[()][1], re.M)
        ) if () in self.text else set()
        for m in self.mods:
            for vis, tree in USE.findall(self.text[m][1]):
                if not vis:
                    continue
                for segs in expand_use(tree):
                    segs = [s.split("as")[0] if False else s for s in segs]
                    absolute = self.absolute(m, segs)
                    if absolute is not None and absolute[-1] not in ("*", "self"):
                        self.reexports[m][absolute[-1]] = absolute

    def absolute(self, m, segs):
        segs = list(segs)
        if not segs:
            return None
        base = list(m)
        if segs[0] == "crate":
            if len(segs) > 1 and segs[1] in self.external:
                return None
            return segs[1:]
        if segs[0] == "self":
            return base + segs[1:]
        if segs[0] == "super":
            while segs and segs[0] == "super":
                if not base:
                    return None
                base = base[:-1]
                segs = segs[1:]
            return base + segs
        if segs[0] in self.children[m]:
            return base + segs
        return None  # another crate, std, or a name in scope

    def resolve(self, path, seen=None):
        """The module an absolute path lands in, following re-exports of the final name."""
        seen = seen or set()
        best = ()
        for i in range(len(path), -1, -1):
            if tuple(path[:i]) in self.mods:
                best = tuple(path[:i])
                break
        rest = path[len(best):]
        if rest and rest[0] in self.reexports.get(best, {}) and (best, rest[0]) not in seen:
            seen.add((best, rest[0]))
            target = self.reexports[best][rest[0]] + rest[1:]
            return self.resolve(target, seen)
        return best

    def edges(self):
        out = defaultdict(dict)  # from -> to -> (line number, text)
        for m, (raw, code) in self.text.items():
            for lineno, line in enumerate(code.splitlines(), 1):
                um = re.match(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", line)
                if um:
                    found = expand_use(um.group(1))
                else:
                    found = [p.split("::") for p in PATH.findall(line)]
                for segs in found:
                    a = self.absolute(m, segs)
                    if a is None:
                        continue
                    t = self.resolve(a)
                    if t != m and not (len(t) > len(m) and t[: len(m)] == m and False):
                        out[m].setdefault(t, (lineno, line.strip()))
            # multi-line use trees
            for vis, tree in USE.findall(code):
                if "\n" not in tree:
                    continue
                for segs in expand_use(tree):
                    a = self.absolute(m, segs)
                    if a is None:
                        continue
                    t = self.resolve(a)
                    if t != m:
                        out[m].setdefault(t, (0, "use " + "::".join(segs)))
        return out


def name(m):
    return "::".join(m) or "(crate root)"


def find_cycles(nodes, edges):
    """One cycle from each strongly connected component that has one (Tarjan)."""
    index, low, on, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(set(comp))

    sys.setrecursionlimit(10000)
    for n in sorted(nodes):
        if n not in index:
            strong(n)
    cycles = []
    for comp in sccs:
        start = min(comp)
        # shortest path back to `start` inside the component
        prev, frontier, found = {start: None}, [start], None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(edges.get(v, {})):
                    if w not in comp:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path = [start]
        v = found
        while v is not None and v != start:
            path.insert(1, v)
            v = prev[v]
        cycles.append(path + [start])
    return cycles


def layer_of(crate, m):
    table = LAYERS.get(crate)
    if not table:
        return None
    dotted = "::".join(m)
    best = None
    for idx, (_, prefixes) in enumerate(table):
        for p in prefixes:
            if dotted == p or dotted.startswith(p + "::") or p == "" and dotted == "":
                if best is None or len(p) > best[1]:
                    best = (idx, len(p))
    return None if best is None else best[0]


def test_module_last(path, text):
    """A `#[cfg(test)] mod` block, if any, must end the file."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not TEST_START.match(line):
            continue
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*(pub(\([^)]*\))?\s+)?mod\s", lines[j]):
            if lines[j].strip() and not lines[j].strip().startswith("#["):
                break
            j += 1
        if j >= len(lines) or not re.match(r"^\s*(pub(\([^)]*\))?\s+)?mod\s", lines[j]):
            continue  # a test-only item, not a module
        if lines[j].rstrip().endswith(";"):
            continue  # a test module in its own file, declared with the other modules
        else:
            depth, k = 0, j
            while k < len(lines):
                code = COMMENT.sub("", STRING.sub('""', lines[k]))
                depth += code.count("{") - code.count("}")
                if depth == 0 and "{" in "".join(lines[j:k + 1]):
                    break
                k += 1
            rest = lines[k + 1:]
        if any(r.strip() for r in rest):
            return f"{path}:{i + 1}: the test module is not the last thing in the file (move it to the end)"
    return None


def doc_problems():
    out = []
    for src in list(CRATES.values()):
        crate_dir = os.path.dirname(os.path.join(ROOT, src))
        for sub in ("src", "tests", "benches"):
            base = os.path.join(crate_dir, sub)
            for dirpath, _, files in os.walk(base):
                for f in sorted(files):
                    if not f.endswith(".rs"):
                        continue
                    full = os.path.join(dirpath, f)
                    rel = os.path.relpath(full, ROOT)
                    text = open(full, encoding="utf-8").read()
                    first = next((l for l in text.splitlines() if not l.startswith("#!")), "")
                    if not first.startswith("//!"):
                        out.append(f"{rel}:1: opens without a `//!` line saying what the file is")
                    p = test_module_last(rel, text)
                    if p:
                        out.append(p)
    return out


def main():
    problems = doc_problems()
    show = "--graph" in sys.argv
    for cname, src in CRATES.items():
        full = os.path.join(ROOT, src)
        if not os.path.isdir(full):
            continue
        crate = Crate(cname, full)
        edges = crate.edges()
        for m, f in crate.mods.items():
            n = crate.text[m][0].count("\n")
            if n > MAX_LINES:
                problems.append(f"{os.path.relpath(f, ROOT)}: {n} lines (at most {MAX_LINES}: split it by concern)")
        if show:
            for m in sorted(edges):
                for t in sorted(edges[m]):
                    print(f"{cname}: {name(m)} -> {name(t)}")
        for cycle in find_cycles(crate.mods.keys(), edges):
            steps = []
            for a, b in zip(cycle, cycle[1:]):
                ln, text = edges[a][b]
                steps.append(f"  {name(a)} -> {name(b)}   ({os.path.relpath(crate.mods[a], ROOT)}:{ln}: {text})")
            problems.append(f"{cname}: a circle of imports:\n" + "\n".join(steps))
        table = LAYERS.get(cname)
        if table:
            for m in crate.mods:
                if layer_of(cname, m) is None:
                    problems.append(f"{cname}: module {name(m)} is in no layer (add it to LAYERS in .ci/layers.py)")
            for m, targets in edges.items():
                lm = layer_of(cname, m)
                for t, (ln, text) in targets.items():
                    lt = layer_of(cname, t)
                    if lm is not None and lt is not None and lt > lm:
                        problems.append(
                            f"{cname}: {name(m)} ({table[lm][0]}) imports {name(t)} ({table[lt][0]}), a layer above it\n"
                            f"  {os.path.relpath(crate.mods[m], ROOT)}:{ln}: {text}"
                        )
    if problems:
        print("layering check failed:")
        for p in problems:
            print(p)
        return 1
    print("layering: no circle of imports, every module imports only its own layer or lower, no file over", MAX_LINES, "lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
