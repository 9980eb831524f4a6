// Test wrappers of the CPU's team types: a team of one that counts its barriers, and
// the N-thread teams of cpu_fallback/thread_team.hpp under the names the tests use.
#pragma once

#include "cpu_fallback/thread_team.hpp"
#include "kernels/team.hpp"

namespace libextract_test {

using libextract::cpu::run_team;
using libextract::cpu::run_teams;
using libextract::cpu::ThreadTeam;

// A team of one that counts its barriers (the latency of the device's team kernels).
struct CountingTeam {
  long* syncs;
  int rank() const { return 0; }
  int size() const { return 1; }
  void sync() const { ++*syncs; }
  void raise_flag(int* flag, int value) const { *flag = value; }
};

}  // namespace libextract_test
