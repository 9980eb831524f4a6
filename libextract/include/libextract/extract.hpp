// Extraction of a frame by spectroperfectionism (Bolton & Schlegel 2010), patch by
// patch, on the CPU or CUDA backend.
#pragma once

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
  std::string backend;   // "cpu", "cuda" or "host"
  double seconds = 0.0;
  long long launches = 0;  // kernel launches (cuda) or parallel loops (cpu)
  double flops = 0.0;      // estimated floating-point operations
};

struct ExtractReport {
  int patches = 0;
  int retried_patches = 0;
  int failed_patches = 0;
  std::string backend;
  int threads = 0;
  std::vector<StageTiming> stages;
  double seconds = 0.0;
};

// Called after each batch: patches done, patches total.
using ProgressCallback = std::function<void(int done, int total)>;

// Extracts fibres [specmin, specmin+nspec) of `image` on the options' grid.
// Throws Error(invalid_argument) naming the option for inconsistent inputs.
Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options,
                    ExtractReport* report = nullptr, const ProgressCallback& progress = {});

}  // namespace libextract
