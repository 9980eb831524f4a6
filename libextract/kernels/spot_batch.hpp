// The batched spot stage as one functor: element s evaluates request s into its own
// cell. Both launchers (cpu_fallback/launch.hpp, cuda/launch.cuh) call exactly this.
#pragma once

#include "kernels/hd.hpp"
#include "kernels/spot.hpp"

namespace libextract {
namespace kernels {

struct SpotBatchFunctor {
  PsfView psf;
  const int* fibers;
  const double* waves;
  int rule;
  double* stamps;  // [n][ny_max][nx_max]
  SpotFootprint* footprints;
  int* status;

  LIBEXTRACT_HD void operator()(int s, double* scratch) const {
    const int nx_max = spot_nx_max(psf);
    const long cell = static_cast<long>(nx_max) * spot_ny_max(psf);
    status[s] =
        evaluate_spot(psf, fibers[s], waves[s], rule, stamps + cell * s, nx_max, scratch, footprints + s);
  }
};

}  // namespace kernels
}  // namespace libextract
