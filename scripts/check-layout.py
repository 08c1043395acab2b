#!/usr/bin/env python3
"""README's Layout section matches the tree: every source file of `src/` is named there, and every
`src/…` path it names exists. A newcomer reads that section first, so it must not drift.

A file counts as named when its file name appears in the section (a folder's `mod.rs` when the
folder `src/…/` does). Test code (`tests.rs`, files under a `tests/` folder) is covered by the
section's one sentence about tests and is not listed. Fails (exit 1) naming each file left out
and each path that does not exist.

Usage: python3 scripts/check-layout.py
"""

import os
import re
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    readme = open(os.path.join(HERE, "README.md"), encoding="utf-8").read()
    start = readme.index("## Layout")
    end = readme.index("\n## ", start + 1)
    layout = readme[start:end]
    problems = []
    for root, _, files in os.walk(os.path.join(HERE, "src")):
        for name in sorted(files):
            path = os.path.relpath(os.path.join(root, name), HERE)
            parts = path.split(os.sep)
            if not name.endswith((".rs", ".sql")) or name == "tests.rs" or "tests" in parts[:-1]:
                continue
            folder = os.path.dirname(path) + "/"
            if f"`{name}`" in layout or f"`{path}`" in layout or re.search(rf"[`/]{re.escape(name)}`", layout):
                continue
            if name == "mod.rs" and f"`{folder}`" in layout:
                continue
            problems.append(f"README.md Layout: {path} is not named; say what it holds")
    for named in sorted(set(re.findall(r"`(src/[^`\s]+)`", layout))):
        if "/x" in named:
            continue
        if not os.path.exists(os.path.join(HERE, named)):
            problems.append(f"README.md Layout: {named} does not exist")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("layout: README names every file of src/")


if __name__ == "__main__":
    main()
