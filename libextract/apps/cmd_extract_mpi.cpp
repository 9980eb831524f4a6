// `libextract extract --mpi ...`: turns the command line into a request for the MPI
// dispatcher (libextract/dispatch), which exists only when LIBEXTRACT_ENABLE_MPI is on.
#include "cmd_extract_mpi.hpp"

#include <algorithm>

#include "libextract/config.hpp"
#include "libextract/errors.hpp"
#if LIBEXTRACT_ENABLE_MPI
#include "dispatch/mpi_extract.hpp"
#endif

namespace libextract {
namespace app {

void add_extract_mpi_options(ArgParser& parser) {
  const std::string built = LIBEXTRACT_ENABLE_MPI ? "" : " (not in this build: built without MPI)";
  parser.add_flag("--mpi", "",
                  "extract over the MPI ranks of mpirun/srun: one frame, or the frames of --jobs" + built);
  parser.add_file_option("--jobs", "", "FILE",
                         "with --mpi: frames to extract, one 'preproc psf output [wmin,wmax,dw]' per line");
  parser.add_option("--group-size", "", "N",
                    "with --jobs: ranks per frame (default: every rank on each frame)");
  parser.add_option("--rank-timeout", "", "SECONDS",
                    "with --mpi: a rank that finishes no batch for this long ends the job (exit 1)", "600");
  parser.add_flag("--skip-existing", "",
                  "with --mpi: skip frames whose output file exists (resume a killed job)");
}

int run_extract_mpi(const ArgParser& parser, const std::vector<std::string>& args,
                    const ExtractOptions& options, const FrameWriteOptions& write_options,
                    std::uint32_t mask_bits) {
  const bool mpi = parser.flag("--mpi");
  const double rank_timeout = parser.get_double("--rank-timeout");  // checked with or without --mpi
  if (!(rank_timeout > 0 && rank_timeout <= 1e7))
    throw Error(ErrorCode::invalid_argument, "--rank-timeout: must be in (0, 1e7] seconds");
  if (!mpi) {
    for (const char* option :
         {"--jobs", "--group-size", "--skip-existing"}) {  // --rank-timeout has a default
      if (parser.has(option)) throw Error(ErrorCode::invalid_argument, std::string(option) + " needs --mpi");
    }
    return -1;
  }
#if LIBEXTRACT_ENABLE_MPI
  dispatch::MpiExtractRequest r;
  r.options = options;
  r.write_options = write_options;
  r.mask_bits = mask_bits;
  // --device has a default, so only the command line tells whether it was chosen.
  r.device_given = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--device" || a.rfind("--device=", 0) == 0;
  });
  if (parser.has("--jobs")) {
    for (const char* option : {"--input", "--psf", "--output", "--fibermap"}) {
      if (parser.has(option)) {
        throw Error(ErrorCode::invalid_argument,
                    std::string(option) + ": not used with --jobs (the jobs file names every frame's files)");
      }
    }
    r.jobs = parser.get("--jobs");
  } else {
    if (parser.has("--group-size")) throw Error(ErrorCode::invalid_argument, "--group-size needs --jobs");
    r.input = parser.get("--input");
    r.psf = parser.get("--psf");
    r.output = parser.get("--output");
  }
  if (parser.has("--model")) r.model = parser.get("--model");
  if (parser.has("--group-size")) {
    r.group_size = parser.get_int("--group-size");
    if (r.group_size < 1) throw Error(ErrorCode::invalid_argument, "--group-size must be >= 1");
  }
  r.skip_existing = parser.flag("--skip-existing");
  r.rank_timeout = rank_timeout;
  if (parser.has("--timing")) r.timing = parser.get("--timing");
  r.quiet = parser.flag("--quiet");
  r.verbose = parser.flag("--verbose") && !r.quiet;
  return dispatch::run_mpi_extract(r);
#else
  (void)args;
  (void)options;
  (void)write_options;
  (void)mask_bits;
  throw Error(ErrorCode::invalid_argument,
              "--mpi: this libextract was built without MPI (configure with -DLIBEXTRACT_ENABLE_MPI=ON)");
#endif
}

}  // namespace app
}  // namespace libextract
