#!/usr/bin/env python3
"""No function of the product over 80 lines: long functions are where a newcomer gets lost.

Reads every `src/**/*.rs` except test code (`tests.rs` files, files under a `tests/` folder, and
inline `#[cfg(test)] mod … { … }` blocks), finds each `fn` and the line of its closing brace (the
first line after it that is a `}` at the `fn`'s own indentation, as rustfmt writes it), and fails
(exit 1) naming every function longer than the limit. `--files` also lists the files over 400
lines (a hint for splitting by content, not a failure).

Usage: python3 scripts/check-size.py [--files]
"""

import os
import re
import sys

MAX_FN_LINES = 80
FILE_HINT_LINES = 400
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
FN = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
CFG_TEST_MOD = re.compile(r"^(\s*)#\[cfg\(test\)\]\s*$")


def is_test_file(path):
    parts = os.path.relpath(path, ROOT).split(os.sep)
    return parts[-1] == "tests.rs" or "tests" in parts[:-1]


def long_functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    skip_until = -1
    out = []
    for i, line in enumerate(lines):
        if i <= skip_until:
            continue
        m = CFG_TEST_MOD.match(line)
        if m and i + 1 < len(lines) and re.match(r"\s*(pub\S*\s+)?mod\s+\w+\s*\{", lines[i + 1]):
            close = m.group(1) + "}"
            skip_until = next((j for j in range(i + 2, len(lines)) if lines[j] == close), len(lines))
            continue
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        close = m.group(1) + "}"
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == close), None)
        if end is not None and end - i + 1 > MAX_FN_LINES:
            out.append((i + 1, m.group(2), end - i + 1))
    return out, len(lines)


def main():
    failed = False
    big_files = []
    for dirpath, _, files in sorted(os.walk(ROOT)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            if not name.endswith(".rs") or is_test_file(path):
                continue
            found, n = long_functions(path)
            rel = os.path.relpath(path, os.path.join(ROOT, ".."))
            for line, fn, length in found:
                print(f"{rel}:{line}: fn {fn} is {length} lines (at most {MAX_FN_LINES}): split it into named steps")
                failed = True
            if n > FILE_HINT_LINES:
                big_files.append((n, rel))
    if "--files" in sys.argv:
        for n, rel in sorted(big_files, reverse=True):
            print(f"{rel}: {n} lines")
    if failed:
        sys.exit(1)
    print(f"size: no function over {MAX_FN_LINES} lines")


if __name__ == "__main__":
    main()
