// The --jobs file: one frame per line, "preproc psf output [wmin,wmax,dw]", fields
// separated by blanks; blank lines and lines starting with '#' are ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libextract/options.hpp"

namespace libextract {
namespace dispatch {

struct FrameJob {
  int number = 0;  // 1-based position among the frames (the summary's "frame")
  int line = 0;    // line of the jobs file (0: the command line's one frame)
  std::string input, psf, output;
  std::string model;                   // model image path (one-frame mode only)
  std::optional<WavelengthGrid> grid;  // overrides -w for this frame
  bool skip = false;                   // --skip-existing found its output
  std::string error;                   // a malformed line: why it cannot run (reported, never run)
};

// Parses the text of jobs file `path`. A malformed line (wrong field count, a bad
// grid, two frames writing one output, an output that is an input) becomes a job
// whose `error` names "PATH:LINE", so the other frames still run; throws only when
// no line names a frame.
std::vector<FrameJob> parse_jobs(const std::string& text, const std::string& path);

}  // namespace dispatch
}  // namespace libextract
