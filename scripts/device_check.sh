#!/usr/bin/env bash
# The GPU checks of the CUDA backend as one prepared run on a borrowed GPU machine that
# has CUDA but none of our other dependencies and no network (the `device` tool of our
# development sessions; any bare CUDA node works the same way).
#
#   scripts/device_check.sh prepare   here, on the build machine: builds the CUDA backend
#       (build-device/, sm_90 by default: DEVICE_ARCH=80 for an A100) and packs the
#       library, the executable, the GPU test binaries, the shared libraries they load
#       (glibc and libstdc++ excepted) and ../shared/data into .device/bundle.tar.xz
#       (ignored by git; about 30 MB).
#   scripts/device_check.sh run       there, in the repository root, with .device carried:
#       unpacks the bundle under /tmp, runs the GPU tests with LIBEXTRACT_REQUIRE_GPU=1
#       (a skip is a failure), compute-sanitizer's racecheck and memcheck on one small
#       case, and `libextract bench` on a full simulated r frame (CPU against CUDA,
#       outputs compared); logs and JSON go to $OUT (or .device/out).
#
# With the device tool: prepare here, then
#   run(command="scripts/device_check.sh run", carry=[".device"], timeout_s=540)
# and record the numbers from the returned files in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}

prepare() {
  local build=build-device arch=${DEVICE_ARCH:-90}
  command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLIBEXTRACT_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLIBEXTRACT_BUILD_BENCH=OFF -DLIBEXTRACT_BUILD_PYTHON=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)" --target libextract_cli test_gpu_extract test_gpu_spots
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/lib" "$stage/data" .device
  local bins=("$build/libextract/apps/libextract" "$build/tests/test_gpu_extract" "$build/tests/test_gpu_spots")
  cp "${bins[@]}" "$stage/bin/"
  cp -L "$build/libextract/libextract.so.0" "$stage/lib/"
  # Every shared library they load, except the C and C++ runtimes the machine has.
  ldd "${bins[@]}" | awk '/=> \//{print $3}' | sort -u |
    grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' |
    grep -v "$build" | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
  cp -r ../shared/data/. "$stage/data/"
  git rev-parse HEAD >"$stage/commit"
  tar -C "$stage" -cJf .device/bundle.tar.xz .
  rm -rf "$stage"
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
  echo "device_check: .device/bundle.tar.xz ($(du -h .device/bundle.tar.xz | cut -f1)), commit $(git rev-parse --short HEAD)"
}

run_there() {
  local out=${OUT:-.device/out} root=/tmp/libextract-device
  mkdir -p "$out" "$root"
  tar -C "$root" -xJf .device/bundle.tar.xz
  export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LIBEXTRACT_SHARED_DATA="$root/data" LIBEXTRACT_REQUIRE_GPU=1 TMPDIR=/tmp
  local status=0
  {
    echo "commit $(cat "$root/commit")"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
    nproc
  } | tee "$out/machine.txt"
  for t in test_gpu_spots test_gpu_extract; do
    "$root/bin/$t" --gtest_output="json:$out/$t.json" 2>&1 | tee "$out/$t.log" || status=1
  done
  if command -v compute-sanitizer >/dev/null 2>&1; then
    # The synthetic cases only (no shared data): the sanitizers slow kernels 100-fold.
    for tool in racecheck memcheck; do
      LIBEXTRACT_SHARED_DATA=/nonexistent timeout 150 compute-sanitizer --tool "$tool" --error-exitcode 3 \
        "$root/bin/test_gpu_extract" --gtest_filter='GpuExtract.WholePipelineBitwiseEqualToTheCpuRun' \
        >"$out/sanitizer-$tool.log" 2>&1 || status=1
      tail -3 "$out/sanitizer-$tool.log"
    done
  fi
  "$root/bin/libextract" bench --simulate r --backends cpu,cuda --json "$out/bench-runner.json" 2>&1 |
    tee "$out/bench.log" || status=1
  return "$status"
}

case "$mode" in
  prepare) prepare ;;
  run) run_there ;;
  *)
    sed -n '2,19p' "$0"
    exit 2
    ;;
esac
