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
};

// Parses the text of jobs file `path`. Throws Error(invalid_argument) naming
// "PATH:LINE" for a malformed line and for two frames writing the same output.
std::vector<FrameJob> parse_jobs(const std::string& text, const std::string& path);

}  // namespace dispatch
}  // namespace libextract
