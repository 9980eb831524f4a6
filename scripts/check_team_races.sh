#!/usr/bin/env bash
# Race check of the device's team kernels without a GPU: builds the two test binaries
# that run the shared team kernels (kernels/envelope_cholesky.hpp, kernels/symmetric_eigen.hpp,
# kernels/batch_pipeline.hpp's PatchSolveFunctor and EigenFunctor) on teams of host
# threads, every problem of a stage at once as the blocks of a CUDA launch, under
# ThreadSanitizer, and fails on any report. A missing barrier or two writers of one
# element in a phase shows here as it would (silently) on the device.
# Usage: scripts/check_team_races.sh   (build folder: $TSAN_BUILD_DIR, default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
# CUDA off: the team kernels are plain C++ here. No vector clones under sanitizers
# (cpu_fallback/vector_clones.hpp) and one OpenBLAS/OpenMP thread: their own threads
# are not instrumented and would only add noise.
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBEXTRACT_ENABLE_CUDA=OFF \
  -DLIBEXTRACT_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target test_gpu_pipeline_on_cpu test_eigen_kernel
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
# The tests that run teams of several threads.
"$BUILD_DIR/tests/test_gpu_pipeline_on_cpu" \
  --gtest_filter='EnvelopeCholesky.TeamSizeDoesNotChangeTheBits:EnvelopeCholesky.ReportsTheFailingColumnLikeLapack:GpuPipelineOnCpu.TeamStagesAreIndependentOfTheTeamSize'
"$BUILD_DIR/tests/test_eigen_kernel" --gtest_filter='EigenKernel.TeamSizeAndVectorVariantDoNotChangeTheBits'
echo "check_team_races: no data race in the team kernels"
