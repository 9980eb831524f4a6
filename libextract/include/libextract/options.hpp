// Every choice of an extraction, with the defaults of DESI's desi_extract_spectra.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libextract/backend.hpp"
#include "libextract/spots.hpp"

namespace libextract {

// A linear wavelength grid "wmin,wmax,dw": numpy.arange(wmin, wmax + dw/2, dw).
struct WavelengthGrid {
  double wmin = 0.0;
  double wmax = 0.0;
  double dw = 0.8;
};

// The grid values exactly as NumPy's arange builds them (gpu_specter-spec §4.1).
std::vector<double> make_wavelength_grid(const WavelengthGrid& grid);

// "wmin,wmax,dw" with the fewest digits that read back exactly ("5760.0,5919.2,0.8").
std::string to_string(const WavelengthGrid& grid);
// Parses "wmin,wmax,dw" (three finite numbers); throws Error(invalid_argument) naming
// `option`. The values are checked by make_wavelength_grid, not here.
WavelengthGrid parse_wavelength_grid(const std::string& text, const std::string& option = "-w/--wavelength");

struct ExtractOptions {
  std::optional<WavelengthGrid> grid;  // default: the PSF's WAVEMIN..WAVEMAX, dw 0.8
  std::vector<double> wavelengths;     // an explicit grid (must be linear); overrides `grid`
  int specmin = 0;
  int nspec = -1;  // -1: every fibre from specmin to the PSF's last
  int bundlesize = 25;
  int nsubbundles = 5;
  int nwavestep = 50;  // core wavelength bins per patch
  int wavepad = 10;    // gpu_specter: base padding in bins
  double pixpad_frac = 0.8;
  double wavepad_frac = 0.2;
  double regularize = 0.0;
  std::optional<double> psferr;     // default: the PSF's PSFERR, else 0.01
  bool decorrelate_fibers = false;  // full iCov^1/2 instead of per-fibre blocks
  bool model = false;               // also build the model image
  Compat compat = Compat::gpu_specter;
  Backend backend;
  int batch_patches = 0;  // patches per backend batch; 0 = a bundle
};

}  // namespace libextract
