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
//                   void raise_flag(int* flag, int value) const;
// Rules for code written against it: every member reaches every sync() (control flow
// around a sync depends only on values all members read after a sync); a value that
// members read after a sync is not overwritten before the next sync; an element has
// one writer per phase. The one exception is a flag that several members (or several
// teams of one launch) may raise in the same phase, all to the same value: raise_flag
// stores it atomically (CUDA: atomicExch), so that this is not a data race; it is read
// after a sync or in a later launch. Tests run the team kernels on threads under
// ThreadSanitizer (scripts/check_team_races.sh).
#pragma once

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

// Scalars a team shares (kernels write them from rank 0 and read them after a sync):
// CUDA shared memory, or a per-thread struct on the CPU.
struct TeamShared {
  double d[8];
  int i[8];
};

struct SerialTeam {
  LIBEXTRACT_HD int rank() const { return 0; }
  LIBEXTRACT_HD int size() const { return 1; }
  LIBEXTRACT_HD void sync() const {}
  // Host only (SerialTeam is the CPU's team); atomic because the CPU run of a launch
  // runs several one-member teams at once on OpenMP threads.
  void raise_flag(int* flag, int value) const { __atomic_store_n(flag, value, __ATOMIC_RELAXED); }
};

}  // namespace kernels
}  // namespace libextract
