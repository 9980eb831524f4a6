#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (CTest: C++ unit, reference,
# CLI, install, benchmark smoke runs; GPU tests report "skipped" without a GPU), then
# the race check of the device's team kernels under ThreadSanitizer
# (scripts/check_team_races.sh, its own build in ${BUILD_DIR:-build}-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DLIBEXTRACT_BUILD_PYTHON=ON "$@"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)")
TSAN_BUILD_DIR="${BUILD_DIR:-build}-tsan" scripts/check_team_races.sh
