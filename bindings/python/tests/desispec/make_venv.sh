#!/usr/bin/env bash
# CTest fixture `desispec_venv`: one venv and one wheel for the desispec tests
# (test_desispec.py, test_desispec_mpi.py, test_selection.py).
#   make_venv.sh SOURCE_DIR VENV_DIR
# The venv sees the system's packages (numpy, astropy, nanobind, scikit-build-core) and
# gets desispec 0.70.0 or newer from PyPI with --no-deps, then the packages desispec
# needs, mpi4py built against the installed OpenMPI, and libextract's wheel (built from
# SOURCE_DIR, CPU only). Without PyPI it writes VENV_DIR/SKIP with the reason, which
# the tests report as a skip.
set -euo pipefail
src=$1
venv=$2
rm -rf "$venv"
mkdir -p "$venv"
if ! python3 - <<'PY'
import urllib.request, sys
try:
    urllib.request.urlopen("https://pypi.org/simple/desispec/", timeout=20).read(64)
except Exception as exc:
    sys.exit(f"{exc}")
PY
then
  echo "PyPI (https://pypi.org) cannot be reached from this machine" > "$venv/SKIP"
  echo "make_venv: $(cat "$venv/SKIP"); the desispec tests will skip"
  exit 0
fi
t0=$SECONDS
python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" --no-deps "desispec>=0.70.0" desiutil desitarget desimodel speclite pytz
"${pip[@]}" numpy scipy astropy pyyaml requests numba fitsio healpy
# The binary wheel of mpi4py brings an MPI of its own; mpirun needs the system's.
"${pip[@]}" --no-binary mpi4py mpi4py
echo "make_venv: PyPI packages in $((SECONDS - t0)) s"
t0=$SECONDS
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
"$venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$venv/wheel" \
  -Cbuild-dir="$venv/wheel-build" "${launcher[@]}" "$src"
"${pip[@]}" --no-deps "$venv"/wheel/libextract-*.whl
echo "make_venv: libextract wheel built and installed in $((SECONDS - t0)) s"
