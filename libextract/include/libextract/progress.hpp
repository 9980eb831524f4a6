// Progress of a long run as log lines, for logs that no terminal shows (Slurm): one
// info line per tenth of the work or per 30 s, whichever comes first, and one at the
// end, each with the work done, the rate and the time left, e.g.
//   INFO:progress.cpp:58:update:2026-12-06T21:07:05: frame-r0.fits: 120/1200 patches (10%), 35.2 patches/s,
//   ETA 31 s
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <chrono>
#include <string>

namespace libextract {

class ProgressLog {
 public:
  // `what` starts each line (a file name, "frame 3"); `unit` names the work counted.
  explicit ProgressLog(std::string what, std::string unit = "patches", double interval_seconds = 30.0,
                       int steps = 10);
  // Work `done` of `total` so far (called from one thread, e.g. an extract_frame
  // progress callback). Logs when another tenth is done, `interval_seconds` have passed
  // since the last line, or the work is complete; never more than once for the end.
  void update(int done, int total);
  int lines() const noexcept { return lines_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, unit_;
  double interval_;
  int steps_;
  Clock::time_point start_, last_line_;
  int last_step_ = 0;
  int lines_ = 0;
  bool finished_ = false;
};

}  // namespace libextract
