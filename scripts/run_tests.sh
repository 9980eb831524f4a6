#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (CTest: C++ unit, reference,
# CLI, install, benchmark smoke runs; GPU tests report "skipped" without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DLIBEXTRACT_BUILD_PYTHON=ON "$@"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)"
