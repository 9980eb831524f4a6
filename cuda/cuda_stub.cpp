// Built instead of the .cu files when LIBEXTRACT_ENABLE_CUDA is OFF: the same entry
// points, each refusing with BackendUnavailable.
#include "backend_seam.hpp"
#include "cuda/pipeline_debug.hpp"
#include "libextract/errors.hpp"

namespace libextract {
namespace detail {

namespace {
[[noreturn]] void unavailable() {
  throw BackendUnavailable("this build of libextract has no CUDA backend (LIBEXTRACT_ENABLE_CUDA=OFF)");
}
}  // namespace

bool cuda_backend_compiled() noexcept {
  return false;
}
int cuda_backend_device_count() noexcept {
  return 0;
}

void cuda_evaluate_spots(const PsfModel&, const SpotJob&, int) {
  unavailable();
}

void cuda_solve_patches(const PatchBatch&, int, StageClock&) {
  unavailable();
}

struct CudaBatchQueue::State {};

CudaBatchQueue::CudaBatchQueue(int) {
  unavailable();
}
CudaBatchQueue::~CudaBatchQueue() = default;
int CudaBatchQueue::free_slots() const {
  return 0;
}
void CudaBatchQueue::submit(const PatchBatch&, StageClock&, int) {}
void CudaBatchQueue::finish_oldest() {}

void cuda_debug_chunk(const PatchBatch&, int, int, batch::ChunkDump&) {
  unavailable();
}

}  // namespace detail
}  // namespace libextract
