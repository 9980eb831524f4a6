// The rank watchdog of `extract --mpi`: a rank that finishes no batch for
// --rank-timeout seconds (a stopped or stuck rank, or one waiting forever on such a
// rank) ends the whole job with a message and exit status 1 instead of hanging.
// mpirun/srun take a rank that exits without MPI_Finalize as the job's failure.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace libextract {
namespace dispatch {

class RankWatchdog {
 public:
  // timeout_seconds <= 0: no watchdog.
  RankWatchdog(double timeout_seconds, int world_rank, std::string host);
  ~RankWatchdog();
  RankWatchdog(const RankWatchdog&) = delete;
  RankWatchdog& operator=(const RankWatchdog&) = delete;
  // A batch finished (or a frame started): the clock starts again.
  void beat();

 private:
  void watch();
  double timeout_;
  int rank_;
  std::string host_;
  std::atomic<std::int64_t> last_beat_ns_{0};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The watchdog of this process, or nullptr; the solve loops beat it.
RankWatchdog* current_watchdog();
void set_current_watchdog(RankWatchdog* watchdog);

}  // namespace dispatch
}  // namespace libextract
