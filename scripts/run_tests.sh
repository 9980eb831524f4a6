#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (CTest: C++ unit, reference,
# CLI, install, benchmark smoke runs; GPU tests report "skipped" without a GPU), then
# the race check of the device's team kernels under ThreadSanitizer
# (scripts/check_team_races.sh, its own build in ${BUILD_DIR:-build}-tsan). Exits
# non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DLIBEXTRACT_BUILD_PYTHON=ON "$@"
# Both parts run even when the first fails, so one run reports every failure; the
# script fails if either did.
status=0
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)") || status=$?
TSAN_BUILD_DIR="${BUILD_DIR:-build}-tsan" scripts/check_team_races.sh || status=$?
if [ "$status" -ne 0 ]; then
  echo "run_tests: FAILED (see above: CTest and/or the race check)" >&2
fi
exit "$status"
