// The MPI part of `libextract extract` (issue 5): the --mpi/--jobs/--group-size/
// --skip-existing options and the hand-over to libextract/dispatch. cmd_extract.cpp
// calls these two functions and knows nothing else of MPI; a build without MPI
// still lists the options and refuses them with a clear message.
#pragma once

#include <cstdint>

#include <string>
#include <vector>

#include "cli.hpp"
#include "libextract/frame.hpp"
#include "libextract/options.hpp"

namespace libextract {
namespace app {

void add_extract_mpi_options(ArgParser& parser);

// Returns -1 when no MPI option was given (the plain command goes on), else runs the
// MPI extraction and returns its exit status. Throws Error(invalid_argument) for MPI
// options in a build without MPI, or used without --mpi.
// `mask_bits`: the preproc MASK bits that zero ivar (--mask-bits).
int run_extract_mpi(const ArgParser& parser, const std::vector<std::string>& args,
                    const ExtractOptions& options, const FrameWriteOptions& write_options,
                    std::uint32_t mask_bits);

}  // namespace app
}  // namespace libextract
