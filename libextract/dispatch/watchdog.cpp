// The rank watchdog (see watchdog.hpp).
#include "watchdog.hpp"

#include <cstdio>
#include <cstdlib>

namespace libextract {
namespace dispatch {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
std::atomic<RankWatchdog*> current{nullptr};
}  // namespace

RankWatchdog* current_watchdog() {
  return current.load();
}
void set_current_watchdog(RankWatchdog* watchdog) {
  current.store(watchdog);
}

RankWatchdog::RankWatchdog(double timeout_seconds, int world_rank, std::string host)
    : timeout_(timeout_seconds), rank_(world_rank), host_(std::move(host)) {
  last_beat_ns_ = now_ns();
  if (timeout_ > 0) thread_ = std::thread([this] { watch(); });
}

RankWatchdog::~RankWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RankWatchdog::beat() {
  last_beat_ns_ = now_ns();
}

void RankWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto tick = std::chrono::milliseconds(timeout_ < 10 ? 100 : 1000);
  while (!stop_cv_.wait_for(lock, tick, [this] { return stop_; })) {
    const double idle = static_cast<double>(now_ns() - last_beat_ns_.load()) * 1e-9;
    if (idle > timeout_) {
      std::fprintf(
          stderr,
          "libextract: error: rank %d on %s finished no batch for %.0f s (--rank-timeout %g): a rank "
          "is stopped or stuck; ending the job\n",
          rank_, host_.c_str(), idle, timeout_);
      std::fflush(stderr);
      std::_Exit(1);  // the launcher ends the other ranks
    }
  }
}

}  // namespace dispatch
}  // namespace libextract
