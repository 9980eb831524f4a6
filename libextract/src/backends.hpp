// The seam between host code and the two backends. Each stage has one entry point
// per backend with the same signature; cpu_fallback/ and cuda/ implement them by
// running the same kernels/ functors (cuda/ has a stub that throws when CUDA is off).
#pragma once

#include "kernels/spot.hpp"
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

}  // namespace detail
}  // namespace libextract
