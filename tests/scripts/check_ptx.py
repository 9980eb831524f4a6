#!/usr/bin/env python3
"""Fails when a PTX file has an instruction it must not have.

Usage: check_ptx.py FILE.ptx [FORBIDDEN_REGEX ...]
Default: 64-bit integer divide and remainder (div/rem .s64/.u64), which the device
emulates with a long instruction sequence (tests/scripts/ptx_eigen_stage.cu).
"""
import re
import sys

DEFAULT = [r"\b(div|rem)\.(s64|u64)\b"]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    patterns = [re.compile(p) for p in (argv[2:] or DEFAULT)]
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    entries = [l for l in lines if l.lstrip().startswith(".visible .entry") or l.lstrip().startswith(".entry")]
    if not entries:
        print(f"check_ptx: {path}: no kernel entry found")
        return 1
    bad = [(n + 1, l.strip()) for n, l in enumerate(lines) for p in patterns if p.search(l)]
    for n, l in bad[:20]:
        print(f"check_ptx: {path}:{n}: {l}")
    print(f"check_ptx: {path}: {len(entries)} kernel(s), {len(lines)} lines, {len(bad)} forbidden instruction(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
