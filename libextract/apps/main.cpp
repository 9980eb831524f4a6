// The libextract executable: one program, several subcommands, one error boundary.
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "commands.hpp"
#include "libextract/libextract.hpp"

namespace {

const char* const top_help =
    "usage: libextract <command> [options]\n"
    "\n"
    "Spectroperfectionism extraction of DESI spectra (CPU and CUDA backends).\n"
    "\n"
    "commands:\n"
    "  psf info PSF          summary of a GAUSS-HERMITE PSF file\n"
    "  psf spots ...         evaluate PSF spots into a FITS table\n"
    "  psf make ...          write a synthetic DESI-like PSF\n"
    "  simulate ...          simulate a preproc image (and its truth) through a PSF\n"
    "  extract ...           extract a frame from a preproc image and a PSF\n"
    "  bench ...             the same extraction on every backend: times and agreement\n"
    "  version               library version and the backends of this build\n"
    "\n"
    "Run 'libextract <command> --help' for the options of a command.\n";

int run_version() {
  std::cout << "libextract " << libextract::version() << "\n"
            << "  cfitsio: " << libextract::cfitsio_version() << "\n"
            << "  cuda backend: " << (libextract::cuda_compiled() ? "compiled" : "not compiled")
            << ", devices visible: " << libextract::cuda_device_count() << "\n"
            << "  mpi dispatcher: " << (LIBEXTRACT_ENABLE_MPI ? "compiled" : "not compiled") << "\n"
            << "  openmp: " << (LIBEXTRACT_ENABLE_OPENMP ? "on" : "off") << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << top_help;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "psf") return libextract::app::run_psf_command(rest);
    if (command == "simulate") return libextract::app::run_simulate_command(rest);
    if (command == "extract") return libextract::app::run_extract_command(rest);
    if (command == "bench") return libextract::app::run_bench_command(rest);
    if (command == "version" || command == "--version") return run_version();
    std::cerr << "libextract: error: unknown command '" << command << "'\n\n" << top_help;
    return 2;
  } catch (const libextract::Error& e) {
    std::cerr << "libextract: error: " << e.what() << "\n";
    return e.code() == libextract::ErrorCode::invalid_argument ? 2 : 1;
  } catch (const std::bad_alloc&) {
    // The library names what it was reading or building; this is the last resort.
    std::cerr << "libextract: error: out of memory in 'libextract " << command << "'\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "libextract: internal error: " << e.what() << "\n";
    return 70;
  }
}
