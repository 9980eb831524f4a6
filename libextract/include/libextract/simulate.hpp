// Simulated DESI preproc images with known truth, made the way the shared reference
// cases were (README §4): spectra on a lattice with the extraction grid's step and
// phase, projected through the PSF with specter's stamps, Poisson plus read noise,
// model-variance ivar, and masked defects.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstdint>
#include <string>
#include <vector>

#include "libextract/backend.hpp"
#include "libextract/image.hpp"
#include "libextract/options.hpp"
#include "libextract/psf.hpp"
#include "libextract/spots.hpp"

namespace libextract {

struct SimulationOptions {
  WavelengthGrid grid{5760.0, 5919.2, 0.8};  // the extraction grid the truth lines up with
  int specmin = 0;
  int nspec = 25;
  std::uint64_t seed = 1;
  double readnoise = 3.0;     // electrons, Gaussian; must be > 0 (ivar = 1/(readnoise^2 + model))
  int cosmics = 0;            // cosmic-ray tracks
  int badpix = 0;             // bad pixels
  bool noiseless = false;     // image = model exactly (requested defects are still applied)
  int lattice_pad_bins = 62;  // lattice bins beyond the grid on each side (50 A at 0.8 A)
  Backend backend;            // where the stamps are evaluated
};

// DESI preproc MASK bits used by the simulator.
enum PreprocMaskBit : std::int32_t {
  preproc_mask_bad = 1,      // BAD
  preproc_mask_cosmic = 16,  // COSMIC
};

enum class DefectKind { bad_pixel, cosmic };

struct SimulatedDefect {
  DefectKind kind = DefectKind::bad_pixel;
  int y = 0, x = 0;
  double value = 0.0;  // the junk value (bad pixel) or the charge added (cosmic)
};

struct SimulatedLine {
  int ispec = 0;       // relative to specmin
  double wave = 0.0;   // Angstrom
  double sigma = 0.0;  // Angstrom
  double phot = 0.0;   // electrons
};

// Everything a truth file holds (README §4.2).
struct SimulationTruth {
  std::string psf_path;
  WavelengthGrid grid;
  int specmin = 0, nspec = 0;
  std::uint64_t seed = 0;
  double readnoise = 0.0;
  bool noiseless = false;
  int grid_offset = 0;       // lattice bin of the grid's first bin
  std::vector<double> wave;  // [nsim] lattice wavelengths
  std::vector<double> phot;  // [nspec][nsim] electrons per lattice bin
  std::vector<double> flux;  // [nspec][nsim] electrons/Angstrom = phot / dw
  std::vector<SimulatedDefect> defects;
  std::vector<SimulatedLine> lines;
  PixelWindow model_window;   // the MODEL rectangle
  std::vector<double> model;  // noiseless image inside model_window, float64
  double outfrac = 0.0;       // fraction of the model's light outside model_window

  int nsim() const { return static_cast<int>(wave.size()); }
};

struct SimulationResult {
  Image image;                // full CCD; image.mask holds the MASK bits
  PixelWindow footprint;      // the fibres' stamps over the extraction grid
  PixelWindow pack_window;    // footprint +-(40 columns, 80 rows), clipped, plus every
                              // defect; image, ivar and mask are 0 outside
  PixelWindow model_window;   // bounding box of every stamp of the lattice
  std::vector<double> model;  // the whole noiseless model inside model_window
  SimulationTruth truth;      // with MODEL cut to pack_window
  std::vector<int> fibers;    // FIBER of every PSF fibre (500 x spectrograph + index)
};

// True for a header card that only describes how an image was simulated (SEED, PACK*,
// the simulator's comment, ...): an extraction does not carry it into the frame.
bool is_simulation_card(const std::string& card);

// Simulates fibres [specmin, specmin+nspec) of `psf`. Throws Error(invalid_argument)
// naming the CLI option (-w/--wavelength, -s/--specmin, -n/--nspec, --readnoise, ...)
// for inconsistent options, e.g. a grid outside the fibres' valid wavelength range.
SimulationResult simulate_image(const Psf& psf, const SimulationOptions& options);

// The noiseless image of spectra `phot` ([nspec][wave.size()], electrons per bin) of
// fibres specmin..specmin+nspec-1: the sum of PHOT x specter's stamps (cut at the CCD),
// in the pixels of `window` (row-major), as the simulator and the shared truth MODELs
// compute it.
std::vector<double> project_spectra(const Psf& psf, int specmin, int nspec, const std::vector<double>& wave,
                                    const std::vector<double>& phot, const PixelWindow& window,
                                    const Backend& backend = Backend{});

// Writes a truth file (WAVELENGTH, PHOT, FLUX, DEFECTS, LINES, MODEL) through a
// temporary name; reads one back (also the shared reference truth files).
void write_truth(const std::string& path, const SimulationTruth& truth);
SimulationTruth read_truth(const std::string& path);

}  // namespace libextract
