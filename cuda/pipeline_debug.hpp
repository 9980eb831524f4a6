// Internal test hook of the CUDA backend (plain C++): run one chunk of the device
// pipeline up to a stage and download its whole arena, so that tests compare every
// intermediate array (the tier-0 ones bitwise) with the CPU run of the same pipeline
// (cpu_fallback/batch_pipeline_cpu.hpp). Not part of the public API; the stub throws BackendUnavailable.
#pragma once

#include "batch_layout.hpp"
#include "backend_seam.hpp"

namespace libextract {
namespace detail {

// All of batch's patches as one chunk, stages up to `last_stage` (batch::Stage).
void cuda_debug_chunk(const PatchBatch& batch, int device, int last_stage, batch::ChunkDump& dump);

}  // namespace detail
}  // namespace libextract
