// The CUDA backend's pipeline executed on the CPU: the same layout (batch_layout.hpp)
// and the same stage functors (kernels/batch_pipeline.hpp) in host loops, teams of
// one (kernels::SerialTeam) for the team stages. Plain C++: built into the tests, so
// every line of math the device runs is executed and checked where no GPU exists
// (tests/test_gpu_pipeline_on_cpu.cpp). With the FP contract (no contraction on
// either side, IEEE division and sqrt) the device computes these same bits.
#pragma once

#include <chrono>
#include <limits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cuda/batch_layout.hpp"
#include "kernels/batch_pipeline.hpp"
#include "kernels/spot_batch.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace detail {
namespace gpu {

struct EmulationOptions {
  int slots = 2;            // chunks per batch, as the streams in flight on the device
  bool fast_memory = true;  // per-fibre eigenproblems in a team buffer (CUDA: shared memory)
  int last_stage = stage_products;
};

namespace emulate_detail {
template <class F>
void for_each_element(long long count, int scratch_doubles, const F& f) {
#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<double> scratch(static_cast<std::size_t>(scratch_doubles > 0 ? scratch_doubles : 1));
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 64)
#endif
    for (long long s = 0; s < count; ++s) f(static_cast<int>(s), scratch.data());
  }
}

template <class F>
void for_each_team(int count, long fast_doubles, const F& f) {
#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<double> fast(static_cast<std::size_t>(fast_doubles > 0 ? fast_doubles : 1));
    kernels::TeamShared shared{};
    const kernels::SerialTeam team;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 1)
#endif
    for (int s = 0; s < count; ++s)
      f(team, s, &shared, fast_doubles > 0 ? fast.data() : nullptr, fast_doubles);
  }
}
}  // namespace emulate_detail

// Runs the stages of one chunk on the host. The arena starts as NaN everywhere, so a
// stage that read memory no earlier stage wrote would show in the outputs.
inline void emulate_chunk(const PatchBatch& batch, const ChunkLayout& l, ChunkDump& dump,
                          const EmulationOptions& o) {
  using namespace emulate_detail;
  dump.layout = l;
  dump.arena.assign(l.total_bytes / sizeof(double) + 1, std::numeric_limits<double>::quiet_NaN());
  void* base = dump.arena.data();
  pack_inputs(batch, l, base);
  const kernels::BatchView v = bind(batch, l, base);
  const kernels::SpotBatchFunctor spots{v.psf,    v.fibers,     v.waves,      v.rule,
                                        v.stamps, v.footprints, v.spot_status};
  for_each_element(l.unknowns, kernels::spot_scratch_size(v.psf), spots);
  for_each_element(l.unknowns, 0, kernels::CutFunctor{v});
  if (o.last_stage < stage_normal) return;
  for_each_element(l.unknowns, 0, kernels::NormalEquationsFunctor{v});
  if (o.last_stage < stage_solve) return;
  for_each_team(l.count, 0, kernels::PatchSolveFunctor{v});
  if (o.last_stage < stage_resolution) return;
  const long fast =
      (o.fast_memory && !batch.settings.decorrelate_fibers) ? kernels::eigen_fast_doubles(l.max_nw) : 0;
  for_each_team(l.problems, fast, kernels::EigenFunctor{v});
  if (o.last_stage < stage_products) return;
  for_each_element(l.pixels, 0, kernels::PixelFunctor{v});
  for_each_element(l.outputs, 0, kernels::OutputFunctor{v});
}

// cuda_solve_patches on the CPU: fills batch.results exactly as the device would.
inline void emulate_solve_patches(const PatchBatch& batch, StageClock& clock, const EmulationOptions& o = {},
                                  std::vector<ChunkDump>* dumps = nullptr) {
  std::vector<PatchResult>& results = *batch.results;
  results.assign(static_cast<std::size_t>(batch.count), PatchResult{});
  if (dumps) dumps->clear();
  for (const ChunkLayout& l : plan_chunks(batch, o.slots)) {
    ChunkDump dump;
    emulate_chunk(batch, l, dump, o);
    if (o.last_stage >= stage_products)
      unpack_outputs(batch, l, dump.bytes() + l.output_offset, results, clock);
    if (dumps) dumps->push_back(std::move(dump));
  }
  clock.loops += 1;
}

}  // namespace gpu
}  // namespace detail
}  // namespace libextract
