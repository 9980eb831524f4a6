#include "libextract/progress.hpp"

#include <cstdio>

#include "libextract/log.hpp"

namespace libextract {

ProgressLog::ProgressLog(std::string what, std::string unit, double interval_seconds, int steps)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      interval_(interval_seconds),
      steps_(steps > 0 ? steps : 1),
      start_(Clock::now()),
      last_line_(start_) {}

void ProgressLog::update(int done, int total) {
  if (finished_ || total <= 0 || !log_enabled(LogLevel::info)) return;
  const auto now = Clock::now();
  const int step = static_cast<int>(static_cast<long long>(done) * steps_ / total);
  const bool complete = done >= total;
  const bool due = std::chrono::duration<double>(now - last_line_).count() >= interval_;
  if (!complete && !due && step <= last_step_) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  char text[160];
  if (complete) {
    std::snprintf(text, sizeof text, ": %d/%d %s (100%%), %.1f %s/s, done in %.1f s", done, total,
                  unit_.c_str(), rate, unit_.c_str(), elapsed);
  } else if (rate > 0) {
    std::snprintf(text, sizeof text, ": %d/%d %s (%d%%), %.1f %s/s, ETA %.0f s", done, total, unit_.c_str(),
                  static_cast<int>(100LL * done / total), rate, unit_.c_str(), (total - done) / rate);
  } else {
    std::snprintf(text, sizeof text, ": %d/%d %s (%d%%), ETA unknown", done, total, unit_.c_str(),
                  static_cast<int>(100LL * done / total));
  }
  LIBEXTRACT_LOG_INFO(what_ + text);
  last_line_ = now;
  last_step_ = step;
  finished_ = complete;
  ++lines_;
}

}  // namespace libextract
