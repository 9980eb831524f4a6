// The CPU launcher: an OpenMP loop over the elements of a batch that calls a shared
// kernels/ functor with a per-thread scratch buffer. Each element is written by one
// iteration only, so the result is independent of the thread count and schedule.
#pragma once

#include "cpu_fallback/scratch_vector.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace libextract {
namespace cpu {

template <class Functor>
void launch(int count, int scratch_doubles, int threads, const Functor& functor) {
#if defined(_OPENMP)
  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nthreads)
  {
    ScratchVector<double> scratch(static_cast<std::size_t>(scratch_doubles > 0 ? scratch_doubles : 1));
#pragma omp for schedule(dynamic, 16)
    for (int s = 0; s < count; ++s) functor(s, scratch.data());
  }
#else
  (void)threads;
  ScratchVector<double> scratch(static_cast<std::size_t>(scratch_doubles > 0 ? scratch_doubles : 1));
  for (int s = 0; s < count; ++s) functor(s, scratch.data());
#endif
}

}  // namespace cpu
}  // namespace libextract
