// The patches an extraction solves, as geometry: which fibres and wavelength bins each
// patch solves and stores, and which CCD pixels it reads and models. For pictures,
// tools and the Python package; extract_frame makes this same plan for itself.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <vector>

#include "libextract/options.hpp"
#include "libextract/psf.hpp"
#include "libextract/spots.hpp"

namespace libextract {

struct PlannedPatch {
  int bundle = 0;                            // bundle index, in plan order
  int fiber_lo = 0, fiber_hi = 0;            // fibres solved [lo, hi), padding included (PSF fibres)
  int core_fiber_lo = 0, core_fiber_hi = 0;  // fibres stored in the frame (PSF fibres)
  int wave_lo = 0, wave_hi = 0;              // frame columns stored [lo, hi)
  int nwave = 0;                             // wavelength bins solved per fibre, padding included
  double wave_first = 0.0, wave_last = 0.0;  // the first and last of them [Angstrom]
  PixelWindow pixels;                        // CCD pixels read and modelled
};

struct PatchPlan {
  Compat compat = Compat::gpu_specter;
  int specmin = 0, nspec = 0;
  int ndiag = 0;                      // resolution half-width
  std::vector<double> wave;           // the frame's grid [Angstrom]
  std::vector<PlannedPatch> patches;  // in processing (and stitching) order
};

// The plan of extract_frame for an image of image_rows x image_cols pixels, with its
// validation and errors (Error(invalid_argument) naming the option at fault).
PatchPlan plan_patches(const Psf& psf, const ExtractOptions& options, int image_rows, int image_cols);

}  // namespace libextract
