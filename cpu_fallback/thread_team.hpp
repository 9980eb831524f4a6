// Teams of N host threads with a real barrier: what a CUDA block is to the shared team
// kernels (libextract/kernels/team.hpp), on the CPU. The CPU backend itself runs teams
// of one (kernels::SerialTeam, cpu_fallback/launch.hpp); these run every problem of a
// team stage at once, each on its own team of threads, as the blocks of one CUDA launch
// do, so that the tests compare the bits of every team size and ThreadSanitizer sees
// the races a missing barrier would cause on the device (scripts/check_team_races.sh).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/team.hpp"

namespace libextract {
namespace cpu {

class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_, waiting_ = 0;
  long generation_ = 0;
};

struct ThreadTeam {
  int r, n;
  Barrier* barrier;
  int rank() const { return r; }
  int size() const { return n; }
  void sync() const { barrier->wait(); }
  void raise_flag(int* flag, int value) const { __atomic_store_n(flag, value, __ATOMIC_RELAXED); }
};

// f(team) on `size` threads (size 1: on this thread, as SerialTeam).
template <class F>
void run_team(int size, const F& f) {
  if (size == 1) {
    f(kernels::SerialTeam{});
    return;
  }
  Barrier barrier(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) threads.emplace_back([&, r] { f(ThreadTeam{r, size, &barrier}); });
  for (auto& t : threads) t.join();
}

// f(team, e) for problems e = 0..count−1 all at once, each on its own team of `size`
// threads with its own barrier: what the blocks of one CUDA launch are. Under
// ThreadSanitizer this shows races inside a team and between the problems of a launch.
template <class F>
void run_teams(int count, int size, const F& f) {
  std::deque<Barrier> barriers;  // not movable: a deque builds them in place
  for (int e = 0; e < count; ++e) barriers.emplace_back(size);
  std::vector<std::thread> threads;
  for (int e = 0; e < count; ++e)
    for (int r = 0; r < size; ++r)
      threads.emplace_back([&, e, r] { f(ThreadTeam{r, size, &barriers[static_cast<std::size_t>(e)]}, e); });
  for (auto& t : threads) t.join();
}

}  // namespace cpu
}  // namespace libextract
