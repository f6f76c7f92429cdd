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
        ("detectors", ["symbols", "detect", "causal", "recorder", "sampler", "dump", "http", "profile"]),
        ("boot", ["boot", "fork"]),
        ("lock core", ["lock_core"]),
        ("primitives", ["lock", "lockapi", "stdsync", "tokio", "tracing"]),
        ("crate root", [""]),
    ],
}

ANY_PATH = re.compile(r"(?<![\w:])([A-Za-z_]\w*(?:::\w+)+)")
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
CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
RAW = re.compile(r'b?r(#*)"')


def blank(text):
    """Keeps newlines, turns everything else into spaces (so line numbers stay right)."""
    return re.sub(r"[^\n]", " ", text)


def clean(text):
    """The code with comments, string and char literal contents blanked out."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        prev = text[i - 1] if i else " "
        ident_before = prev.isalnum() or prev == "_"
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif c in "br" and not ident_before and RAW.match(text, i):
            m = RAW.match(text, i)
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + blank(text[i + 2:j]))
            i = j
        elif c == '"' or (c == "b" and not ident_before and text.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append('""' + blank(text[i + 2:j]))
            i = j
        elif c == "'" and CHAR.match(text, i):
            m = CHAR.match(text, i)
            out.append("' '" + " " * (m.end() - i - 3))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip(text):
    """Code without comments, literals, visibility paths (`pub(in crate::x)` names no
    dependency) or test-only modules (`#[cfg(test)] mod ...`)."""
    text = VIS_IN.sub("pub", clean(text))
    lines = []
    skip_depth = None
    pending_test = False
    for code in text.splitlines():
        if skip_depth is not None:
            skip_depth += code.count("{") - code.count("}")
            if skip_depth <= 0:
                skip_depth = None
            lines.append("")
            continue
        if TEST_START.match(code):
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


def expand_use(tree, aliases=None):
    """`a::{b, c::{d, e as f}}` -> [['a','b'], ['a','c','d'], ['a','c','e']]; `aliases` (when
    given) gets the name each path is bound to (`f` for `e as f`)."""
    tree = re.sub(r"\s+as\s+", "@as@", tree.strip())
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
                alias = None
                if "@as@" in p:
                    p, alias = p.split("@as@", 1)
                segs = [x for x in p.split("::") if x]
                path = prefix + segs
                out.append(path)
                if aliases is not None and path:
                    name = alias or (path[-2] if path[-1] == "self" and len(path) > 1 else path[-1])
                    aliases.append((name, path))

    walk([], tree)
    return out


class Crate:
    def __init__(self, name, src):
        self.name = name
        self.mods = module_files(src)
        self.text = {}
        self.children = defaultdict(set)
        self.reexports = defaultdict(dict)  # module -> public name -> absolute path
        self.bound = defaultdict(dict)  # module -> name in scope -> absolute path
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
            for child in self.children[m]:
                self.bound[m][child] = list(m) + [child]
            for vis, tree in USE.findall(self.text[m][1]):
                names = []
                expand_use(tree, names)
                for alias, segs in names:
                    absolute = self.absolute(m, segs)
                    if absolute is None or alias in ("*", "self"):
                        continue
                    if absolute and absolute[-1] == "self":
                        absolute = absolute[:-1]
                    self.bound[m][alias] = absolute
                    if vis:
                        self.reexports[m][alias] = absolute

    def absolute(self, m, segs):
        """The path from the crate root that `segs`, written in module `m`, names; `None`
        for another crate, std, or a name this check does not track."""
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
        if segs[0] in self.bound.get(m, {}):
            return self.bound[m][segs[0]] + segs[1:]
        return None

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

            def add(segs, lineno, text):
                a = self.absolute(m, segs)
                if a is None:
                    return
                t = self.resolve(a)
                if t != m:
                    out[m].setdefault(t, (lineno, text))

            for lineno, line in enumerate(code.splitlines(), 1):
                if re.match(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s", line):
                    continue  # use trees are read whole below
                for p in ANY_PATH.findall(line):
                    add(p.split("::"), lineno, line.strip())
            for match in USE.finditer(code):
                lineno = code.count("\n", 0, match.start()) + 1
                text = code[match.start():match.end()].strip().replace("\n", " ")
                for segs in expand_use(match.group(2)):
                    add(segs, lineno, text)
        return out


def collapse(edges):
    """The graph between top-level modules (the crate root stays its own node)."""
    out = defaultdict(dict)
    for a, targets in edges.items():
        for b, how in targets.items():
            ta, tb = a[:1], b[:1]
            if ta != tb:
                out[ta].setdefault(tb, how)
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
                code = lines[k]
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
                    p = test_module_last(rel, clean(text))
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
        top = collapse(edges)
        top_nodes = {m[:1] for m in crate.mods}
        for graph, nodes, what in ((edges, crate.mods.keys(), "files"), (top, top_nodes, "top-level modules")):
            for cycle in find_cycles(nodes, graph):
                steps = []
                for a, b in zip(cycle, cycle[1:]):
                    ln, text = graph[a][b]
                    src = crate.mods.get(a) or crate.mods[()]
                    steps.append(f"  {name(a)} -> {name(b)}   ({text} [line {ln}])" if what != "files"
                                 else f"  {name(a)} -> {name(b)}   ({os.path.relpath(src, ROOT)}:{ln}: {text})")
                problems.append(f"{cname}: a circle of imports between {what}:\n" + "\n".join(steps))
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
