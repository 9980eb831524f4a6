// The CPU launchers of the shared kernels/ functors: an OpenMP loop over the elements
// of a batch with a per-thread scratch buffer, and an OpenMP loop over the problems of a
// team stage, each on a team of one (kernels::SerialTeam) with per-thread team scratch
// (kernels::TeamShared, and `fast_doubles` of team-visible memory: what a CUDA block has
// in shared memory). Each element is written by one iteration only, so the result is
// independent of the thread count and schedule.
#pragma once

#include "cpu_fallback/scratch_vector.hpp"
#include "kernels/team.hpp"

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

// functor(team, problem, &shared, fast, fast_doubles) for problem = 0..count−1; fast is
// nullptr when fast_doubles is 0.
template <class Functor>
void launch_teams(int count, long fast_doubles, int threads, const Functor& functor) {
  const kernels::SerialTeam team;
#if defined(_OPENMP)
  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nthreads)
  {
    ScratchVector<double> fast(static_cast<std::size_t>(fast_doubles > 0 ? fast_doubles : 1));
    kernels::TeamShared shared{};
#pragma omp for schedule(dynamic, 1)
    for (int s = 0; s < count; ++s)
      functor(team, s, &shared, fast_doubles > 0 ? fast.data() : nullptr, fast_doubles);
  }
#else
  (void)threads;
  ScratchVector<double> fast(static_cast<std::size_t>(fast_doubles > 0 ? fast_doubles : 1));
  kernels::TeamShared shared{};
  for (int s = 0; s < count; ++s)
    functor(team, s, &shared, fast_doubles > 0 ? fast.data() : nullptr, fast_doubles);
#endif
}

}  // namespace cpu
}  // namespace libextract
