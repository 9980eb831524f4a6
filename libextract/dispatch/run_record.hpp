// What a run did, for the summary table and the --timing JSON: one outcome per frame
// (filled by the frame's group root, gathered to world rank 0) and one log per rank
// (the patches it solved and the files it read).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "byte_record.hpp"
#include "libextract/extract.hpp"

namespace libextract {
namespace dispatch {

struct FrameOutcome {
  int number = 0, line = 0;
  std::string input, psf, output;
  int group = -1, ranks = 0;
  std::string status = "failed";  // "ok", "failed" or "skipped"
  std::string reason;             // why it failed or was skipped
  int failed_rank = -1;           // world rank that reported the failure
  int error_code = 0;             // libextract::ErrorCode of the failure
  double seconds = 0.0, read_seconds = 0.0, extract_seconds = 0.0, write_seconds = 0.0;
  int nspec = 0, nwave = 0, patches = 0, bundles = 0, retried_patches = 0, failed_patches = 0;
  std::string backend;
  std::vector<StageTiming> stages;

  void write(RecordWriter& w) const;
  static FrameOutcome read(RecordReader& r);
};

struct RankWork {
  int frame = 0;             // FrameOutcome::number
  int first = 0, count = 0;  // the patches this rank solved
  double solve_seconds = 0.0;
};

struct RankLog {
  int rank = 0, group = 0, group_rank = 0, local_rank = 0;
  std::string host;
  int device = 0;                       // CUDA device it would use
  std::vector<std::string> files_read;  // every input file this rank opened
  std::vector<RankWork> work;

  std::string json() const;  // one JSON object (json::Writer)
};

struct RunInfo {
  int ranks = 0, group_size = 0, groups = 0;
  std::string jobs;  // jobs file, empty in one-frame mode
  double seconds = 0.0;
};

// The table printed at the end of a --jobs run: frame, group, ranks, seconds, status.
void print_summary(std::ostream& out, const std::vector<FrameOutcome>& frames);

// The --timing report: the run, every frame (with its stage times) and every rank's
// log; written through a temporary name. Throws Error(io_error) naming `path`.
void write_timing_json(const std::string& path, const RunInfo& run, const std::vector<FrameOutcome>& frames,
                       const std::vector<std::string>& rank_json);

}  // namespace dispatch
}  // namespace libextract
