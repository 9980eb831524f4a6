// `libextract simulate`: a preproc image and its truth file through a PSF, made the
// way the shared reference cases were.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "libextract/libextract.hpp"

namespace libextract {
namespace app {

namespace {

const WavelengthGrid default_grid{5760.0, 5919.2, 0.8};  // the shared case-small grid

// The shared cases' grid when the PSF covers it for these fibres; otherwise 200 bins
// (or what fits) in the middle of the fibres' common valid range.
WavelengthGrid grid_within_psf(const Psf& psf, int specmin, int nspec) {
  double lo = psf.wavemin_fiber(specmin), hi = psf.wavemax_fiber(specmin);
  for (int f = specmin; f < specmin + nspec; ++f) {
    lo = std::max(lo, psf.wavemin_fiber(f));
    hi = std::min(hi, psf.wavemax_fiber(f));
  }
  if (default_grid.wmin >= lo && default_grid.wmax <= hi) return default_grid;
  const double dw = default_grid.dw;
  const double span = std::min(199 * dw, std::floor(hi) - std::ceil(lo) - dw);
  const double wmin = std::ceil(0.5 * (lo + hi) - 0.5 * span);
  return WavelengthGrid{wmin, wmin + std::floor(span / dw) * dw, dw};
}

}  // namespace

int run_simulate_command(const std::vector<std::string>& args) {
  ArgParser parser(
      "libextract simulate",
      "Simulate a DESI preproc image (IMAGE, IVAR, MASK, FIBERMAP) and its truth file through a PSF:\n"
      "spectra on a lattice with the grid's step and phase, specter's stamps, Poisson plus read\n"
      "noise, ivar = 1/(readnoise^2 + model), and masked defects.");
  parser.add_file_option("--psf", "-p", "PSF", "GAUSS-HERMITE PSF file");
  parser.add_file_option("--output", "-o", "PREPROC.fits", "output preproc image (.fits or .fits.gz)");
  parser.add_file_option("--truth", "", "TRUTH.fits",
                         "output truth file (WAVELENGTH, PHOT, FLUX, DEFECTS, LINES, MODEL)");
  parser.add_option(
      "--wavelength", "-w", "WMIN,WMAX,DW",
      "extraction grid the truth lines up with (default: 5760.0,5919.2,0.8, or 200 bins inside the "
      "PSF's range)");
  parser.add_option("--specmin", "-s", "N", "first fibre", "0");
  parser.add_option("--nspec", "-n", "N", "number of fibres", "25");
  parser.add_option("--seed", "", "N", "random seed (non-negative)", "1");
  parser.add_option("--readnoise", "", "E", "Gaussian read noise in electrons", "3.0");
  parser.add_option("--cosmics", "", "N", "cosmic-ray tracks (MASK 16)", "0");
  parser.add_option("--badpix", "", "N", "bad pixels (MASK 1)", "0");
  parser.add_option("--lattice-pad", "", "BINS", "lattice bins simulated beyond the grid on each side", "62");
  parser.add_flag("--noiseless", "", "image = noiseless model (ivar still 1/(readnoise^2 + model))");
  parser.add_option("--backend", "", "NAME", "where stamps are evaluated: auto, cpu or cuda", "auto");
  parser.add_option("--threads", "", "N", "CPU threads (0: all)", "0");
  parser.set_epilog(
      "example: libextract simulate --psf psf-r0.fits -o preproc.fits --truth truth.fits -n 5 "
      "--cosmics 2 --badpix 20");
  if (!parser.parse(args)) return 0;

  const auto start = std::chrono::steady_clock::now();
  const std::string output = parser.get("--output");
  const std::string truth_path = parser.get("--truth");
  if (output == truth_path) {
    throw Error(ErrorCode::invalid_argument, "--truth: must differ from -o/--output (" + output + ")");
  }
  SimulationOptions options;
  options.specmin = parser.get_int("--specmin");
  options.nspec = parser.get_int("--nspec");
  const long long seed = parser.get_int64("--seed");
  if (seed < 0) throw Error(ErrorCode::invalid_argument, "--seed: must be non-negative");
  options.seed = static_cast<std::uint64_t>(seed);
  options.readnoise = parser.get_double("--readnoise");
  options.cosmics = parser.get_int("--cosmics");
  options.badpix = parser.get_int("--badpix");
  options.lattice_pad_bins = parser.get_int("--lattice-pad");
  options.noiseless = parser.flag("--noiseless");
  options.backend.kind = parse_backend_kind(parser.get("--backend"));
  options.backend.threads = parser.get_int("--threads");

  const Psf psf = Psf::load(parser.get("--psf"));
  if (parser.has("--wavelength")) {
    options.grid = parse_wavelength_grid(parser.get("--wavelength"));
  } else if (options.specmin >= 0 && options.nspec >= 1 && options.specmin + options.nspec <= psf.nspec()) {
    options.grid = grid_within_psf(psf, options.specmin, options.nspec);
  }  // else simulate_image reports the fibre range

  const SimulationResult result = simulate_image(psf, options);
  write_preproc(output, result.image, result.fibers);
  try {
    write_truth(truth_path, result.truth);
  } catch (...) {
    std::remove(output.c_str());  // the pair is written whole or not at all
    throw;
  }

  long long masked = 0;
  for (std::int32_t m : result.image.mask) masked += (m != 0);
  const PixelWindow& pack = result.pack_window;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream line;
  line << "libextract simulate: fibres " << options.specmin << ".." << options.specmin + options.nspec - 1
       << ", grid " << to_string(options.grid) << " (" << result.truth.nsim() - 2 * options.lattice_pad_bins
       << " bins, lattice " << result.truth.nsim() << "), seed " << options.seed
       << (options.noiseless ? ", noiseless" : "") << ", " << options.badpix << " bad pixels, "
       << options.cosmics << " cosmics (" << masked << " masked pixels), pack x " << pack.xmin << ".."
       << pack.xmax << " y " << pack.ymin << ".." << pack.ymax << " -> " << output << ", " << truth_path
       << " (" << std::fixed;
  line.precision(2);
  line << seconds << " s)";
  LIBEXTRACT_LOG_INFO(line.str());
  return 0;
}

}  // namespace app
}  // namespace libextract
