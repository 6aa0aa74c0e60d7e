#!/usr/bin/env python3
"""tests/abi/stub.py HEADER: prints a C file that defines every function HEADER declares.

Compiled with -g into a shared library, it carries the ABI the header describes (every
function's signature and every type reachable from one, in C's DWARF) and nothing else, so
abidw and abidiff can compare headers without looking into the Rust library's internals.
Prints the function names, one a line, with --names.
"""
import os
import re
import sys


def declarations(text):
    """Yields the top-level function declarations of a C header, without their ';'."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", " ", text, flags=re.M)
    # C++ only, between #ifdef __cplusplus lines: its closing brace is skipped below.
    text = re.sub(r'extern\s+"C"\s*\{', " ", text)
    depth, start = 0, 0
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                start = i + 1
        elif c == ";" and depth == 0:
            stmt = " ".join(text[start:i].split())
            start = i + 1
            if stmt.startswith("typedef"):
                continue
            if re.fullmatch(r"[\w\s\*]*?\b\w+\s*\(.*\)", stmt) and "(*" not in stmt.split("(")[0]:
                yield stmt


def main():
    args = sys.argv[1:]
    names = args[:1] == ["--names"]
    if names:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: stub.py [--names] HEADER")
    with open(args[0], encoding="utf-8") as f:
        decls = list(declarations(f.read()))
    if not decls:
        sys.exit(f"stub.py: no function declarations found in {args[0]}")
    if names:
        for d in decls:
            print(re.search(r"(\w+)\s*\(", d).group(1))
        return
    print(f"#include \"{os.path.abspath(args[0])}\"")
    for d in decls:
        print(f"{d} {{ __builtin_trap(); }}")


if __name__ == "__main__":
    main()
