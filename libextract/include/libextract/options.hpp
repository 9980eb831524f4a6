// Every choice of an extraction, with the defaults of DESI's desi_extract_spectra.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <optional>
#include <string>
#include <vector>

#include "libextract/backend.hpp"
#include "libextract/spots.hpp"

namespace libextract {

class Psf;

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
  std::optional<WavelengthGrid> grid;  // default (desispec's): gpu_specter mode the PSF's WAVEMIN..WAVEMAX,
                                       // dw 0.8; specter mode ceil(wmin_all)..floor(wmax_all), dw 0.7
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

// ---------------------------------------------------------------------------------------
// The one table of ExtractOptions' user-settable fields and the one validation function.
// The CLI builds its options, --help defaults and parsing from the table; the Python
// package reads its defaults from the bound ExtractOptions and its checks from
// validate_extract_options; each boundary names a field its own way.

// How an error names a field: as the C++ member ("nwavestep"), the CLI option
// ("--nwavestep"; "-w/--wavelength" when it has a short form) or the Python argument
// ("nwavestep=" is spelled "nwavestep").
enum class OptionSpelling { field, cli, python };

struct ExtractOptionSpec {
  enum class Kind { integer, real, flag, choice, grid };
  const char* field;      // ExtractOptions member, "backend.threads" for a nested one
  const char* cli;        // long CLI option, "--nwavestep"
  const char* cli_short;  // short CLI option, "-n", or ""
  const char* python;     // Python keyword, "nwavestep"
  const char* metavar;    // CLI value placeholder ("N", "X"; "" for a flag)
  const char* help;       // one line for --help and the docs
  Kind kind;
  // integer / real: the inclusive range checked by validate_extract_options (a real must
  // also be finite), and the field read (nullopt when unset: nspec -1, psferr none) and
  // written as a double. Unused for the other kinds.
  double min;
  double max;
  std::optional<double> (*get)(const ExtractOptions&);
  void (*set)(ExtractOptions&, double);
};

// Every row, in --help order.
const std::vector<ExtractOptionSpec>& extract_option_table();
// The row of `field`; throws Error(internal_error) for a name that has none.
const ExtractOptionSpec& extract_option(const std::string& field);
// `field` as `spelling` names it: "--nwavestep", "-w/--wavelength", "nwavestep".
std::string option_name(const std::string& field, OptionSpelling spelling);
// The default of a numeric row as text ("25", "0.8"), from ExtractOptions{}; "" when the
// default is "unset" (its help says what that means).
std::string option_default_text(const ExtractOptionSpec& spec);

// Checks every field of `options` against its row's range and the rules between fields
// (nsubbundles <= bundlesize; in gpu_specter mode the sub-bundle size divides the
// bundle); with `psf`, also specmin and nspec against its fibres. Throws
// Error(invalid_argument) naming the first bad field as `spelling` spells it.
// extract_frame calls it (CLI spelling); the Python layer calls it first with its own.
void validate_extract_options(const ExtractOptions& options, OptionSpelling spelling,
                              const Psf* psf = nullptr);

}  // namespace libextract
