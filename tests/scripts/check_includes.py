#!/usr/bin/env python3
"""Fails on an #include that goes the wrong way between the project's layers.

Rules (each names the folder it governs, relative to the repository root):
  libextract/kernels/       only other kernels/ headers and C/C++ standard headers that
                            bring no container or I/O (the shared math compiles for the
                            device and never allocates)
  libextract/include/       only the public API (libextract/...) and standard headers:
                            no CUDA, MPI or CFITSIO type reaches a user
  cpu_fallback/             never the CUDA backend (cuda/...)
  cuda/                     never the CPU backend (cpu_fallback/...)
  bindings/python/src/      only the public API, nanobind and standard headers

Usage: check_includes.py [ROOT]       check the tree at ROOT (default: the repository)
       check_includes.py --self-test  show that each rule catches a violation
"""
import pathlib
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCES = (".hpp", ".cpp", ".cu", ".cuh", ".h", ".in")

# Standard headers the kernels may use: numerics and fixed-size types only.
KERNEL_STD = {"cmath", "cstdint", "cstring", "cstddef", "climits", "cfloat", "limits", "type_traits", "utility"}
# Third-party headers that must never appear in a public header.
FORBIDDEN_PUBLIC = re.compile(r"^(cuda|cuda_runtime|cublas|cusolver|thrust/|cub/|mpi|fitsio|longnam|omp)", re.I)


def is_standard(name, kind):
    return kind == "<" and "/" not in name and "." not in name


def kernels_rule(name, kind):
    if kind == '"':
        return name.startswith("kernels/") or name == "hd.hpp"
    return name in KERNEL_STD


def public_rule(name, kind):
    if FORBIDDEN_PUBLIC.match(name):
        return False
    return name.startswith("libextract/") if kind == '"' else is_standard(name, kind)


def cpu_rule(name, kind):
    return not name.startswith("cuda/")


def cuda_rule(name, kind):
    return not name.startswith("cpu_fallback/")


def bindings_rule(name, kind):
    if name.startswith("libextract/"):
        return True
    return kind == "<" and (name.startswith("nanobind/") or is_standard(name, kind))


RULES = [
    ("libextract/kernels", kernels_rule, "kernels/ includes only kernels/ headers and numeric standard headers"),
    ("libextract/include", public_rule, "public headers include only the public API and standard headers"),
    ("cpu_fallback", cpu_rule, "the CPU backend never includes the CUDA backend"),
    ("cuda", cuda_rule, "the CUDA backend never includes the CPU backend"),
    ("bindings/python/src", bindings_rule, "the bindings include only the public API, nanobind and std"),
]


def check(root):
    root = pathlib.Path(root)
    problems, files = [], 0
    for folder, rule, why in RULES:
        base = root / folder
        if not base.is_dir():
            problems.append(f"{folder}: folder missing")
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            files += 1
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and not rule(m.group(2), m.group(1)):
                    problems.append(f"{path.relative_to(root)}:{number}: {line.strip()}  ({why})")
    return problems, files


def self_test():
    violations = {
        "libextract/kernels/bad.hpp": '#include <vector>\n#include "libextract/psf.hpp"\n',
        "libextract/include/libextract/bad.hpp": "#include <fitsio.h>\n#include <cuda_runtime.h>\n",
        "cpu_fallback/bad.cpp": '#include "cuda/launch.cuh"\n',
        "cuda/bad.cu": '#include "cpu_fallback/launch.hpp"\n',
        "bindings/python/src/bad.cpp": '#include "patch_plan.hpp"\n',
    }
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in violations.items():
            path = pathlib.Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        problems, _ = check(tmp)
    expected = 7  # every line above
    if len(problems) != expected:
        print(f"self-test: expected {expected} violations, found {len(problems)}:", *problems, sep="\n  ")
        return 1
    print(f"self-test: all {expected} planted violations caught")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
    problems, files = check(root)
    for p in problems:
        print(p)
    print(f"check_includes: {files} files, {len(problems)} forbidden includes")
    return 1 if problems or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
