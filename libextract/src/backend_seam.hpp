// The seam between the core and the two backends: what a batch of spot evaluations
// and a batch of patch solves need and produce, independent of the backend that runs
// them, and each backend's entry points (the same signature per stage). cpu_fallback/
// and cuda/ implement them by running the same kernels/ functors (cuda/ has a stub
// that throws when CUDA is off).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/spot.hpp"
#include "libextract/image.hpp"
#include "patch_plan.hpp"
#include "psf_model.hpp"

namespace libextract {
namespace detail {

// A batch of spot evaluations: inputs fibers[n], waves[n]; outputs stamps
// [n][ny_max][nx_max], footprints[n] and status[n] (kernels::SpotStatus).
struct SpotJob {
  const int* fibers = nullptr;
  const double* waves = nullptr;
  int count = 0;
  int rule = kernels::spot_rule_gpu_specter;
  double* stamps = nullptr;
  kernels::SpotFootprint* footprints = nullptr;
  int* status = nullptr;
};

void cpu_evaluate_spots(const PsfModel& psf, const SpotJob& job, int threads);
void cuda_evaluate_spots(const PsfModel& psf, const SpotJob& job, int device);

bool cuda_backend_compiled() noexcept;
int cuda_backend_device_count() noexcept;

struct SolveSettings {
  Compat compat = Compat::gpu_specter;
  double regularize = 0.0;
  double psferr = 0.01;
  bool decorrelate_fibers = false;
  bool model = false;
  int ndiag = 5;
};

// Outputs of one patch for its core fibres × stored bins, in counts per bin (the
// driver converts units when it stitches).
struct PatchResult {
  enum Status { ok = 0, retried = 1, failed = 2 };
  int status = ok;
  std::string error;                 // set when a spot could not be evaluated
  std::vector<double> flux, ivar;    // [ncore_fibres][nkeep]
  std::vector<double> chi2pix, pmf;  // [ncore_fibres][nkeep]
  std::vector<double> resolution;    // [ncore_fibres][2*ndiag+1][nkeep]
  std::vector<double> model;         // [window rows][window cols] when asked for
  bool model_valid = false;          // gpu_specter skips all-zero or non-finite models
  double rcond = 0.0;                // reciprocal 1-norm condition number of iCov
};

// Per-stage thread-seconds, summed over the patches a backend solved.
struct StageClock {
  double spots = 0, normal_equations = 0, solve = 0, resolution = 0, products = 0;
  // Work counts: each patch adds a whole number of flops, so the sums are exact and
  // the same in any order (threads, schedule, batches, ranks).
  double flops_spots = 0, flops_normal = 0, flops_solve = 0, flops_resolution = 0;
  long long loops = 0;
  // Kernel launches per stage (CUDA backend; the CPU backend counts loops instead).
  long long launches_spots = 0, launches_normal = 0, launches_solve = 0, launches_resolution = 0,
            launches_products = 0;
};

struct PatchBatch {
  const PsfModel* psf = nullptr;
  const Image* image = nullptr;
  const Plan* plan = nullptr;
  SolveSettings settings;
  int first = 0;  // first patch of the batch in plan order
  int count = 0;
  std::vector<PatchResult>* results = nullptr;  // count entries, filled by the backend
};

void cpu_solve_patches(const PatchBatch& batch, int threads, StageClock& clock);
void cuda_solve_patches(const PatchBatch& batch, int device, StageClock& clock);

// Patch batches on a CUDA device, up to `depth` in flight (cuda/backend_cuda.cu), so
// that the host packs the next batch and unpacks and stitches the last one while the
// device computes: submit() packs a batch's inputs, enqueues its copies and kernels on
// free streams and returns; finish_oldest() waits for the oldest batch and fills its
// results and clock. Each batch, its results vector and its clock must stay alive
// until finish_oldest() has returned for it. The device state is per host thread, so
// a queue is used by the thread that made it. The destructor waits for whatever is
// still in flight and discards it. With CUDA off the constructor throws
// BackendUnavailable.
class CudaBatchQueue {
 public:
  static constexpr int depth = 2;  // one stream per in-flight chunk, at most depth chunks
  explicit CudaBatchQueue(int device);
  CudaBatchQueue(const CudaBatchQueue&) = delete;
  CudaBatchQueue& operator=(const CudaBatchQueue&) = delete;
  ~CudaBatchQueue();
  int free_slots() const;  // streams without a submitted, unfinished chunk
  // Splits the batch into `chunks` (1 ≤ chunks ≤ free_slots()) chunks, one per stream;
  // the results are bitwise the same for any split.
  void submit(const PatchBatch& batch, StageClock& clock, int chunks);
  void finish_oldest();  // the oldest batch (all its chunks)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace detail
}  // namespace libextract
