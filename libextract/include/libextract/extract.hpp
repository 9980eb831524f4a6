// Extraction of a frame by spectroperfectionism (Bolton & Schlegel 2010), patch by
// patch, on the CPU or CUDA backend.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <functional>
#include <string>
#include <vector>

#include "libextract/frame.hpp"
#include "libextract/image.hpp"
#include "libextract/options.hpp"
#include "libextract/psf.hpp"

namespace libextract {

// Per-stage wall times and work counts of one extraction, for --timing and benchmarks.
struct StageTiming {
  std::string name;
  std::string backend;  // "cpu", "cuda" or "host"
  double seconds = 0.0;
  long long launches = 0;  // kernel launches (cuda) or parallel loops (cpu)
  double flops = 0.0;      // estimated floating-point operations
};

// One patch as solved: where its stored outputs went and how well posed it was.
struct PatchDiagnostics {
  int core_fiber_lo = 0, core_fiber_hi = 0;  // frame fibres it stored
  int wave_lo = 0, wave_hi = 0;              // frame columns it stored
  double rcond = 0.0;                        // reciprocal condition number of iCov (1-norm estimate)
  int status = 0;                            // 0 ok, 1 retried, 2 failed
};

struct ExtractReport {
  int patches = 0;
  int retried_patches = 0;
  int failed_patches = 0;
  std::string backend;
  int threads = 0;  // CPU threads the CPU backend ran (cpu_thread_count); 0 on cuda
  std::vector<StageTiming> stages;
  std::vector<PatchDiagnostics> patch_diagnostics;  // in plan order
  double seconds = 0.0;
};

// Called after each batch: patches done, patches total.
using ProgressCallback = std::function<void(int done, int total)>;

// Extracts fibres [specmin, specmin+nspec) of `image` on the options' grid.
// Throws Error(invalid_argument) naming the option for inconsistent inputs.
Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options,
                    ExtractReport* report = nullptr, const ProgressCallback& progress = {});

}  // namespace libextract
