// A team of cooperating threads for the kernels that solve one small dense problem
// each (a patch's Cholesky, a fibre block's eigendecomposition). The algorithm is
// written once, as a template over the team, in phases: inside a phase every element
// is written by exactly one team member (chosen by a strided loop), each with a fixed
// sequential order of operations, and phases are separated by team.sync(). The result
// therefore does not depend on the team size or on scheduling: a one-member team on
// the CPU (SerialTeam, what the tests run) computes bit for bit what a CUDA block
// computes (cuda/launch.cuh: BlockTeam, rank = threadIdx.x, sync = __syncthreads).
//
// A Team provides:  int rank() const;  int size() const;  void sync() const;
// Rules for code written against it: every member reaches every sync() (control flow
// around a sync depends only on values all members read after a sync); a value that
// members read after a sync is not overwritten before the next sync; an element has
// one writer per phase, except a flag raised through raise_flag. Tests run the team
// kernels on threads under ThreadSanitizer (scripts/check_team_races.sh).
#pragma once

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

struct SerialTeam {
  LIBEXTRACT_HD int rank() const { return 0; }
  LIBEXTRACT_HD int size() const { return 1; }
  LIBEXTRACT_HD void sync() const {}
};

// The one exception to "one writer per element": a flag that several members of a
// team (or several blocks of a launch) may raise in the same phase, all to the same
// value. The store is atomic, so this is not a data race on either side (equal plain
// stores would formally be one); readers read it after a sync or in a later launch.
LIBEXTRACT_HD void raise_flag(int* flag, int value) {
#if defined(__CUDA_ARCH__)
  atomicExch(flag, value);
#else
  __atomic_store_n(flag, value, __ATOMIC_RELAXED);
#endif
}

}  // namespace kernels
}  // namespace libextract
