#!/usr/bin/env bash
# Installs everything libextract needs on Debian 12 (root or sudo): compilers and
# CMake, CFITSIO, OpenBLAS/LAPACK, OpenMPI, GoogleTest, Google Benchmark, and the
# Python packages of the demo plot and the bindings. Safe to run again.
# The CUDA toolkit is not installed here: the build uses it when nvcc is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

packages=(
  build-essential cmake ninja-build pkg-config git gzip
  libcfitsio-dev zlib1g-dev libopenblas-dev liblapack-dev
  libopenmpi-dev openmpi-bin
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-dev python3-pip python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "install_deps: Debian packages already present"
fi

# Python: numpy/astropy/matplotlib for the demo's summary and plot, pytest and the
# build tools for the Python bindings, mypy for the typing test, desiutil for the test of
# the log in desiutil's format.
PY=${PYTHON:-python3}
need_py=()
for m in numpy astropy matplotlib pytest nanobind scikit_build_core mypy desiutil; do
  "$PY" -c "import $m" >/dev/null 2>&1 || need_py+=("${m//_/-}")
done
if [ "${#need_py[@]}" -gt 0 ]; then
  echo "install_deps: pip installing ${need_py[*]}"
  "$PY" -m pip install -q "${need_py[@]}" 2>/dev/null || "$PY" -m pip install -q --break-system-packages "${need_py[@]}"
fi
echo "install_deps: done"
