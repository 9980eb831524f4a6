// Entry point of `libextract extract --mpi`: one frame spread over every rank, or the
// frames of a jobs file dealt to groups of ranks. Declares no MPI type, so the
// executable's command code includes it without mpi.h.
#pragma once

#include <cstdint>
#include <string>

#include "libextract/frame.hpp"
#include "libextract/image.hpp"
#include "libextract/options.hpp"

namespace libextract {
namespace dispatch {

struct MpiExtractRequest {
  ExtractOptions options;                               // every extraction option of the command line
  FrameWriteOptions write_options;                      // --dtype
  std::uint32_t mask_bits = default_extract_mask_bits;  // --mask-bits: MASK bits that zero ivar
  bool device_given = false;  // --device given: every rank uses it (else local rank mod devices)

  // One frame (-i/-p/-o, optional -m), or
  std::string input, psf, output, model;
  // a jobs file: lines "preproc psf output [wmin,wmax,dw]".
  std::string jobs;
  int group_size = 0;          // ranks per group; 0 = every rank in one group
  bool skip_existing = false;  // a frame whose output exists is skipped

  double rank_timeout = 600.0;  // --rank-timeout: seconds without a finished batch before the job fails
  std::string timing;           // --timing JSON path, written by rank 0
  bool quiet = false, verbose = false;
};

// Initialises MPI, runs the request, finalises MPI and returns the exit status, the
// same on every rank: 0, 1 (a frame failed, or an I/O error) or 2 (invalid
// argument). Errors of a frame are reported and never end the job; an unrecoverable
// one (out of memory, a failed MPI call) ends it with MPI_Abort and a message.
int run_mpi_extract(const MpiExtractRequest& request);

}  // namespace dispatch
}  // namespace libextract
