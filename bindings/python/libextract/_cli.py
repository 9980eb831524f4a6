"""The ``libextract`` command of the pip wheel: runs the C++ executable that the wheel
carries inside the package (``libextract/bin/libextract``), with the same arguments,
exit status and signals (the process is replaced, not wrapped)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["executable", "main"]


def executable() -> Path:
    """Path of the C++ ``libextract`` executable inside this package."""
    return Path(__file__).resolve().parent / "bin" / "libextract"


def main() -> int:
    """Entry point of the console script ``libextract`` ([project.scripts])."""
    exe = executable()
    if not os.access(exe, os.X_OK):
        print(f"libextract: the executable {exe} is missing from this installation "
              "(build with LIBEXTRACT_BUILD_APPS=ON)", file=sys.stderr)
        return 127
    os.execv(exe, [str(exe), *sys.argv[1:]])
    return 127  # not reached: execv replaces this process or raises OSError


if __name__ == "__main__":  # python -m libextract._cli ...: what the console script runs
    sys.exit(main())
