// The decomposition of a frame into patches: pure host geometry, integers exact.
// Two rule sets: gpu_specter (gpu_specter-spec §4-6, DESI production) and specter
// (extraction-spec §4.2-4.5). Everything downstream is the same for both.
#pragma once

#include <vector>

#include "libextract/options.hpp"
#include "libextract/psf.hpp"

namespace libextract {
namespace detail {

struct Patch {
  int bundle = 0;                      // index of the bundle, in plan order
  int fiber_lo = 0, fiber_hi = 0;      // padded fibres [lo, hi) (absolute PSF indices)
  int core_lo = 0, core_hi = 0;        // core fibres, stored in the frame
  int nwave = 0;                       // bins per fibre in the patch (padding included)
  int core_offset = 0;                 // patch bin of the first core bin
  int ncore = 0;                       // core bins solved (gpu_specter: always nwavestep)
  int nkeep = 0;                       // core bins stored (≤ ncore at the grid end)
  int out_col = 0;                     // frame column of the first core bin
  int x0 = 0, x1 = 0, y0 = 0, y1 = 0;  // pixel window [x0, x1) × [y0, y1)
  long long wave_offset = 0;           // into Plan::patch_waves, nwave values
  int lambda_offset = -1;              // gpu_specter: index of the first bin in Plan::lambda (-1: specter)
  int nfibers() const { return fiber_hi - fiber_lo; }
  int unknowns() const { return nfibers() * nwave; }
  int npixels() const { return (x1 - x0) * (y1 - y0); }
};

struct Plan {
  Compat compat = Compat::gpu_specter;
  int specmin = 0, nspec = 0;
  int ndiag = 0;
  double psferr = 0.01;
  std::vector<double> wave;         // output grid
  std::vector<double> patch_waves;  // every patch's bin wavelengths, concatenated
  std::vector<double> lambda;       // gpu_specter: the padded grid Λ every bundle shares
  std::vector<Patch> patches;       // in processing order
  int max_unknowns = 0, max_pixels = 0, max_nwave = 0;
};

// Validates options against the PSF and image size, then builds every patch.
// Throws Error(invalid_argument) naming the option at fault.
Plan make_plan(const Psf& psf, const ExtractOptions& options, int image_rows, int image_cols);

// numpy.arange(start, stop, step) exactly (first value start, second start + step,
// then start + i·((start + step) − start)).
std::vector<double> numpy_arange(double start, double stop, double step);

// specter's split_bundle(N, n): core and extended index ranges within a bundle.
struct SubBundle {
  int core_lo, core_hi, ext_lo, ext_hi;
};
std::vector<SubBundle> split_bundle(int nfibers, int nsub);

}  // namespace detail
}  // namespace libextract
