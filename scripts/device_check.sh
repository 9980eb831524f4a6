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
#       unpacks the bundle under /tmp and runs, in sections ordered by priority, each
#       writing its JSON and log to $OUT (or .device/out) as it finishes:
#         1. equality: --backend cuda == --backend cpu, bitwise, every output, patch by
#            patch, on the synthetic cases and every shared case (decorrelate mode on
#            case-decorr included): the GPU tests that compare the two;
#         2. frames: `libextract bench` on a full simulated r frame in both compat modes
#            and in decorrelate mode on one bundle (CPU against CUDA, bitwise, with the
#            wall times);
#         3. the rest of the GPU tests (LIBEXTRACT_REQUIRE_GPU=1: a skip is a failure),
#            with LIBEXTRACT_CUDA_SYNC=1: every launch synchronised and checked, so a
#            fault names the kernel that caused it;
#         4. compute-sanitizer's racecheck, synccheck and memcheck on one small case.
#       Meant to finish in about 5 minutes, so that a 15-minute device allocation can
#       run it twice.
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
  local equality='GpuExtract.MatchesCpuBackendPatchByPatch:GpuExtract.WholePipelineBitwiseEqualToTheCpuRun:GpuExtract.TierZeroArraysBitwiseEqualToTheCpuRun:GpuSpots.*'
  echo "== 1. equality: cuda == cpu, bitwise"
  "$root/bin/test_gpu_extract" --gtest_filter="$equality" --gtest_output="json:$out/1-equality.json" 2>&1 |
    tee "$out/1-equality.log" || status=1
  "$root/bin/test_gpu_spots" --gtest_output="json:$out/1-equality-spots.json" 2>&1 |
    tee "$out/1-equality-spots.log" || status=1
  echo "== 2. frames: full r frame (both compat modes), decorrelate mode on one bundle"
  for compat in gpu_specter specter; do
    "$root/bin/libextract" bench --simulate r --backends cpu,cuda --compat "$compat" \
      --json "$out/2-frame-r-$compat.json" 2>&1 | tee "$out/2-frame-r-$compat.log" || status=1
  done
  "$root/bin/libextract" bench --simulate r --nspec 25 --backends cpu,cuda --decorrelate-fibers \
    --json "$out/2-bundle-decorrelate.json" 2>&1 | tee "$out/2-bundle-decorrelate.log" || status=1
  echo "== 3. the other GPU tests, every launch synchronised and checked"
  LIBEXTRACT_CUDA_SYNC=1 "$root/bin/test_gpu_extract" --gtest_filter="-$equality" --gtest_output="json:$out/3-gpu-tests.json" 2>&1 |
    tee "$out/3-gpu-tests.log" || status=1
  if command -v compute-sanitizer >/dev/null 2>&1; then
    echo "== 4. sanitizers"
    # The synthetic cases only (no shared data): the sanitizers slow kernels 100-fold.
    for tool in racecheck synccheck memcheck; do
      LIBEXTRACT_SHARED_DATA=/nonexistent timeout 100 compute-sanitizer --tool "$tool" --error-exitcode 3 \
        "$root/bin/test_gpu_extract" --gtest_filter='GpuExtract.WholePipelineBitwiseEqualToTheCpuRun' \
        >"$out/4-sanitizer-$tool.log" 2>&1 || status=1
      tail -3 "$out/4-sanitizer-$tool.log"
    done
  fi
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
