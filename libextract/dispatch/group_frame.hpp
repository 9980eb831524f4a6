// One frame extracted by one group of ranks: the root's inputs broadcast, the plan
// made on every rank, patches solved in static shares, results gathered to the root
// and stitched in plan order, the frame written by the root. Every failure is agreed
// on by the whole group before anyone moves on, so no rank is ever left waiting in a
// collective the others skipped.
#pragma once

#include <mpi.h>

#include "frame_inputs.hpp"
#include "jobs_file.hpp"
#include "libextract/frame.hpp"
#include "libextract/options.hpp"
#include "run_record.hpp"

namespace libextract {
namespace dispatch {

struct GroupContext {
  MPI_Comm comm = MPI_COMM_NULL;
  int index = 0;  // group number
  int rank = 0, size = 1;
  int first_world_rank = 0;  // world rank of the group's rank 0 (groups are consecutive)
};

struct FrameSettings {
  ExtractOptions options;  // -w replaced by a jobs line's grid
  FrameWriteOptions write_options;
  bool verbose = false;
};

// Every rank of the group calls this for the same job. The root passes the inputs it
// read (`inputs`; ignored elsewhere), its read-ahead and the group's next job (or
// null) to read while the group solves. Returns the outcome (complete on the root,
// status and reason on the others; the caller sets its wall time) and appends this
// rank's work to `log`.
FrameOutcome run_group_frame(const GroupContext& group, const FrameJob& job, const FrameSettings& settings,
                             FrameInputs& inputs, InputPrefetch& prefetch, const FrameJob* next_job,
                             RankLog& log);

}  // namespace dispatch
}  // namespace libextract
