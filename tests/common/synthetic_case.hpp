// A small synthetic extraction case that needs no shared data: a DESI r-like PSF
// written to the scratch folder, an image simulated on a grid with defects, and an
// extraction on the CPU backend that keeps its report. The invariance tests (vector
// variants, workspace placement) run it under different conditions and compare bits.
#pragma once

#include <string>
#include <utility>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace libextract_test {

struct SyntheticCase {
  libextract::Psf psf;
  libextract::Image image;
  libextract::WavelengthGrid grid;
  int nspec = 0;
};

struct SyntheticCaseShape {
  std::string name;     // the PSF file's name in the scratch folder
  int psf_fibres = 20;  // fibres of the PSF, on an npix_x × 1500 CCD
  int npix_x = 900;
  unsigned seed = 1;  // PSF and simulation seeds derive from it
  libextract::WavelengthGrid grid{6000.0, 6103.2, 0.8};
  int nspec = 12;  // simulated (and extracted) fibres
  int badpix = 15, cosmics = 2;
};

inline SyntheticCase make_synthetic_case(const SyntheticCaseShape& shape) {
  libextract::SyntheticPsfOptions o = libextract::synthetic_psf_for_camera('r');
  o.nspec = shape.psf_fibres;
  o.npix_x = shape.npix_x;
  o.npix_y = 1500;
  o.seed = shape.seed;
  const std::string path = scratch_dir() + "/" + shape.name;
  libextract::write_synthetic_psf(path, o);
  libextract::Psf psf = libextract::Psf::load(path);
  libextract::SimulationOptions sim;
  sim.grid = shape.grid;
  sim.nspec = shape.nspec;
  sim.badpix = shape.badpix;
  sim.cosmics = shape.cosmics;
  sim.seed = shape.seed + 100;
  libextract::Image image = libextract::simulate_image(psf, sim).image;
  return SyntheticCase{std::move(psf), std::move(image), shape.grid, shape.nspec};
}

struct Extraction {
  libextract::Frame frame;
  libextract::ExtractReport report;
};

// The case's extraction options on the CPU backend, with the model.
inline libextract::ExtractOptions cpu_options(const SyntheticCase& c, libextract::Compat compat,
                                              bool decorrelate, int bundlesize, int threads, int batch = 0) {
  libextract::ExtractOptions o;
  o.grid = c.grid;
  o.nspec = c.nspec;
  o.bundlesize = bundlesize;
  o.compat = compat;
  o.decorrelate_fibers = decorrelate;
  o.model = true;
  o.backend.kind = libextract::BackendKind::cpu;
  o.backend.threads = threads;
  o.batch_patches = batch;
  return o;
}

inline Extraction extract_case(const SyntheticCase& c, const libextract::ExtractOptions& o) {
  Extraction r;
  r.frame = libextract::extract_frame(c.image, c.psf, o, &r.report);
  return r;
}

}  // namespace libextract_test
