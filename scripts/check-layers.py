#!/usr/bin/env python3
"""The library's import graph: no circle between top-level modules, every arrow down the layers.

Reads every `src/**/*.rs` of the library (not `main.rs`, not `src/bin/`), finds the references
`crate::name` (in `use` lines, grouped `use crate::{a, b}` and paths in code), and draws an
arrow from the top-level module of the file to `name`. Comments are skipped, and so is test code:
an inline `#[cfg(test)] mod … { … }` and the files of a `#[cfg(test)] mod name;` (tests may set
up anything; the product may not). `lib.rs` only declares modules and is not a node.

Fails (exit 1) naming each circle found and each arrow that points up the declared layer list
below (a module may use those listed before it, never those after). A module missing from the
list fails too, so a new module is placed on purpose, and so does a use of an item defined in
`lib.rs` (which holds only the module list).

Usage: python3 scripts/check-layers.py [--graph]   (--graph prints every arrow)
"""

import os
import re
import sys

# Bottom first. A module may use only modules listed before it. The middle follows the flow of
# a message (imap → journal → read → decide → graph → reply → file); below it the plain data and
# the settings every stage reads, above it the glue that runs the stages.
LAYERS = [
    # shared, depending on nothing of the flow
    "model",
    "malloc",
    "secret",
    "logging",
    "tls",
    "lock",
    "config",
    "metrics",
    # imap: the session (connect, fetch, IDLE, move)
    "imap",
    # journal: one durable row per message
    "journal",
    # read: the incoming mail, the approver's own words, authentication results, in a sandbox
    "read",
    # decide: SPEC §3
    "decide",
    # graph: tokens, sign-ins, status, reject
    "graph",
    # reply: templates, compose, SMTP; logins for IMAP and SMTP with Graph's tokens
    "reply",
    "mailauth",
    # the glue: alerts and the notifier, one message's steps, the linking endpoint, the service
    "alerts",
    "notify",
    "pipeline",
    "web",
    "service",
    "check",
]

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
REF = re.compile(r"\bcrate::(?:\{([^}]*)\}|([a-z_][a-z0-9_]*))")
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*([;{])")


def strip_comments(text):
    """Source without `//` comments and string literals (a crude lexer, enough for this code)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:i + 12])
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_blocks(text):
    """`text` without inline `#[cfg(test)] mod … { … }`, and the names of `#[cfg(test)] mod x;`."""
    skipped = []
    while True:
        m = None
        for m in TEST_MOD.finditer(text):
            if m.group(2) == "{":
                break
            skipped.append(m.group(1))
        else:
            m = None
        if m is None:
            return text, skipped
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        text = text[:m.start()] + text[j + 1:]


def library_files():
    """(top-level module, path) for each library file that is product code."""
    test_files = set()
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        if rel == "bin" or rel.startswith("bin" + os.sep):
            dirnames[:] = []
            continue
        for f in sorted(filenames):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            relpath = os.path.relpath(path, ROOT)
            if relpath in ("main.rs", "lib.rs"):
                continue
            top = relpath.split(os.sep)[0]
            top = top[:-3] if top.endswith(".rs") else top
            found.append((top, path))
    return found


def module_dir(path):
    """The folder holding the children of the module in `path`."""
    d, f = os.path.split(path)
    return d if f == "mod.rs" else os.path.join(d, f[:-3])


def edges():
    files = library_files()
    texts, test_paths = {}, set()
    for top, path in files:
        with open(path, encoding="utf-8") as fh:
            text, skipped = drop_test_blocks(strip_comments(fh.read()))
        texts[path] = (top, text)
        for name in skipped:
            base = os.path.join(module_dir(path), name)
            test_paths.add(base + ".rs")
            test_paths.add(os.path.join(base, "mod.rs"))
            test_paths.add(base + os.sep)
    graph = {}
    for path, (top, text) in texts.items():
        if path in test_paths or any(path.startswith(p) for p in test_paths if p.endswith(os.sep)):
            continue
        graph.setdefault(top, {})
        for m in REF.finditer(text):
            names = [m.group(2)] if m.group(2) else [
                part.strip().split("::")[0].split(" ")[0] for part in m.group(1).split(",")
            ]
            for name in names:
                if name and name != top and name != "self":
                    graph[top].setdefault(name, os.path.relpath(path, os.path.join(ROOT, "..")))
    return graph


def cycles(graph):
    """Each strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def one_circle(graph, comp):
    """A concrete circle inside a strongly connected component, as a list a → b → … → a."""
    start = comp[0]
    members = set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, {})):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def main():
    graph = edges()
    if "--graph" in sys.argv:
        for v in sorted(graph):
            print(f"{v} -> {', '.join(sorted(graph[v])) or '(nothing)'}")
    failed = False
    for comp in cycles(graph):
        circle = one_circle(graph, comp)
        arrows = " -> ".join(circle)
        where = "; ".join(f"{a} -> {b} in {graph[a][b]}" for a, b in zip(circle, circle[1:]))
        print(f"circle among {', '.join(comp)}: {arrows}  ({where})")
        failed = True
    rank = {name: i for i, name in enumerate(LAYERS)}
    for v in sorted(graph):
        for w, where in sorted(graph[v].items()):
            if w not in graph:
                print(f"crate-root item: {v} uses crate::{w} in {where} (lib.rs holds only mod lines)")
                failed = True
    for v in sorted(graph):
        if v not in rank:
            print(f"unlisted module: {v} (add it to LAYERS in scripts/check-layers.py)")
            failed = True
            continue
        for w, where in sorted(graph[v].items()):
            if w not in rank:
                continue
            if rank[w] > rank[v]:
                print(f"upward arrow: {v} -> {w} in {where} ({w} is above {v} in LAYERS)")
                failed = True
    if failed:
        return 1
    print(f"layers: {len(graph)} modules, {sum(len(e) for e in graph.values())} arrows, no circle, all down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
