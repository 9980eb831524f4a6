// The batched pipeline (the CUDA backend's: the same chunk layout, libextract/src/
// batch_layout.hpp, and the same stage functors, kernels/batch_pipeline.hpp) launched on
// the CPU by this backend's launchers (cpu_fallback/launch.hpp: OpenMP loops, teams of
// one). Header-only, used by the tests, so every line of math the device runs is
// executed and checked where no GPU exists (tests/test_gpu_pipeline_on_cpu.cpp). With
// the FP contract (no contraction on either side, IEEE division and sqrt) the device
// computes these same bits.
#pragma once

#include <chrono>
#include <limits>
#include <vector>

#include "batch_layout.hpp"
#include "kernels/batch_pipeline.hpp"
#include "kernels/spot_batch.hpp"
#include "cpu_fallback/launch.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace detail {
namespace batch {

struct EmulationOptions {
  int slots = 2;            // chunks per batch, as the streams in flight on the device
  bool fast_memory = true;  // per-fibre eigenproblems in a team buffer (CUDA: shared memory)
  int last_stage = stage_products;
  int threads = 0;  // OpenMP threads (0: the default)
};

// Runs the stages of one chunk on the host. The arena starts as NaN everywhere, so a
// stage that read memory no earlier stage wrote would show in the outputs.
inline void emulate_chunk(const PatchBatch& batch, const ChunkLayout& l, ChunkDump& dump,
                          const EmulationOptions& o) {
  dump.layout = l;
  dump.arena.assign(l.total_bytes / sizeof(double) + 1, std::numeric_limits<double>::quiet_NaN());
  void* base = dump.arena.data();
  pack_inputs(batch, l, base);
  const kernels::BatchView v = bind(batch, l, base);
  const kernels::SpotBatchFunctor spots{v.psf,    v.fibers,     v.waves,      v.rule,
                                        v.stamps, v.footprints, v.spot_status};
  const int threads = o.threads;
  cpu::launch(static_cast<int>(l.unknowns), kernels::spot_scratch_size(v.psf), threads, spots);
  cpu::launch(static_cast<int>(l.unknowns), 0, threads, kernels::CutFunctor{v});
  if (o.last_stage < stage_normal) return;
  cpu::launch(static_cast<int>(l.unknowns), 0, threads, kernels::NormalEquationsFunctor{v});
  if (o.last_stage < stage_solve) return;
  cpu::launch_teams(l.count, 0, threads, kernels::PatchSolveFunctor{v});
  if (o.last_stage < stage_resolution) return;
  const long fast =
      (o.fast_memory && !batch.settings.decorrelate_fibers) ? kernels::eigen_fast_doubles(l.max_nw) : 0;
  cpu::launch_teams(l.problems, fast, threads, kernels::EigenFunctor{v});
  if (o.last_stage < stage_products) return;
  cpu::launch(static_cast<int>(l.pixels), 0, threads, kernels::PixelFunctor{v});
  cpu::launch(static_cast<int>(l.outputs), 0, threads, kernels::OutputFunctor{v});
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

}  // namespace batch
}  // namespace detail
}  // namespace libextract
