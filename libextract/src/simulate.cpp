// The image simulator (README §4): true spectra on a lattice with the extraction
// grid's step and phase, projected with specter's stamps, then noise, ivar and defects.
// Every random draw comes from a stream named by (seed, purpose, index), so a seed
// gives the same image on every platform, and changing one option (say --cosmics)
// leaves the spectra and the noise of the other pixels unchanged.
#include "libextract/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "fits_file.hpp"
#include "libextract/errors.hpp"
#include "sim_random.hpp"
#include "sim_sources.hpp"

namespace libextract {

namespace {

using detail::purpose_noise;
using detail::SimRandom;
using detail::stream_seed;

constexpr int pack_margin_cols = 40;       // as the shared cases: footprint +-40 columns,
constexpr int pack_margin_rows = 80;       // +-80 rows
constexpr std::size_t spot_chunk = 16384;  // stamps evaluated at once (~25 MB)

[[noreturn]] void bad_option(const std::string& text) {
  throw Error(ErrorCode::invalid_argument, text);
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

void validate(const Psf& psf, const SimulationOptions& o, const std::vector<double>& grid) {
  if (o.specmin < 0 || o.specmin >= psf.nspec()) {
    bad_option("-s/--specmin: fibre " + std::to_string(o.specmin) + " is outside 0.." +
               std::to_string(psf.nspec() - 1) + " of PSF " + psf.path());
  }
  if (o.nspec < 1) bad_option("-n/--nspec: must be at least 1");
  if (o.nspec > psf.nspec() - o.specmin) {
    bad_option("-n/--nspec: fibres " + std::to_string(o.specmin) + ".." +
               std::to_string(o.specmin + o.nspec - 1) + " go past the last fibre " +
               std::to_string(psf.nspec() - 1) + " of PSF " + psf.path());
  }
  if (!std::isfinite(o.readnoise) || o.readnoise <= 0.0 || o.readnoise > 1e6) {
    bad_option("--readnoise: must be in (0, 1e6] electrons (ivar = 1/(readnoise^2 + model))");
  }
  if (o.cosmics < 0 || o.cosmics > 100000) bad_option("--cosmics: must be in 0..100000");
  if (o.badpix < 0 || o.badpix > 10000000) bad_option("--badpix: must be in 0..10000000");
  if (o.lattice_pad_bins < 0 || o.lattice_pad_bins > 100000)
    bad_option("--lattice-pad: must be in 0..100000");
  // The grid itself must lie where every fibre lands on the CCD; the lattice padding may
  // leave it, its stamps are then cut or empty, as light beyond the CCD edge would be.
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  for (int f = o.specmin; f < o.specmin + o.nspec; ++f) {
    lo = std::max(lo, psf.wavemin_fiber(f));
    hi = std::min(hi, psf.wavemax_fiber(f));
  }
  if (grid.front() < lo || grid.back() > hi) {
    bad_option("-w/--wavelength: grid " + number(grid.front()) + ".." + number(grid.back()) +
               " A leaves the valid range " + number(lo) + ".." + number(hi) + " A of fibres " +
               std::to_string(o.specmin) + ".." + std::to_string(o.specmin + o.nspec - 1) + " of PSF " +
               psf.path());
  }
}

struct Box {
  int xmin = std::numeric_limits<int>::max(), xmax = std::numeric_limits<int>::min();
  int ymin = std::numeric_limits<int>::max(), ymax = std::numeric_limits<int>::min();
  bool empty() const { return xmin > xmax; }
  void add(int x0, int x1, int y0, int y1) {  // half-open
    xmin = std::min(xmin, x0), xmax = std::max(xmax, x1);
    ymin = std::min(ymin, y0), ymax = std::max(ymax, y1);
  }
  PixelWindow window() const { return empty() ? PixelWindow{} : PixelWindow{xmin, xmax, ymin, ymax}; }
};

// Adds PHOT x stamp for every (fibre, lattice bin) to `out` (the pixels of `window`,
// row-major), clipping stamps to the window, and extends `all` by every stamp and
// `footprint` by the stamps of lattice bins grid_first..grid_last.
void project(const Psf& psf, int specmin, int nspec, const std::vector<double>& lattice,
             const std::vector<double>& phot, const PixelWindow& window, const Backend& backend,
             int grid_first, int grid_last, double* out, Box& all, Box& footprint) {
  const int nsim = static_cast<int>(lattice.size());
  const long long total = static_cast<long long>(nspec) * nsim;
  const int width = window.xmax - window.xmin;
  std::vector<SpotRequest> requests;
  for (long long first = 0; first < total; first += spot_chunk) {
    const long long last = std::min<long long>(total, first + static_cast<long long>(spot_chunk));
    requests.clear();
    for (long long s = first; s < last; ++s) {
      SpotRequest r;
      r.fiber = specmin + static_cast<int>(s / nsim);
      r.wavelength = lattice[s % nsim];
      requests.push_back(r);
    }
    // specter's stamps, cut at the CCD: the rule the reference images were made with.
    const SpotBatch spots = evaluate_spots(psf, requests, Compat::specter, backend);
    for (std::size_t i = 0; i < spots.size(); ++i) {
      if (spots.nx[i] == 0 || spots.ny[i] == 0) continue;
      const long long s = first + static_cast<long long>(i);
      const int k = static_cast<int>(s % nsim);
      const double p = phot[s];
      const double* stamp = spots.stamp(i);
      const int x0 = spots.xlo[i], x1 = x0 + spots.nx[i], y0 = spots.ylo[i], y1 = y0 + spots.ny[i];
      all.add(x0, x1, y0, y1);
      if (k >= grid_first && k <= grid_last) footprint.add(x0, x1, y0, y1);
      for (int y = std::max(y0, window.ymin); y < std::min(y1, window.ymax); ++y) {
        double* row = out + static_cast<std::size_t>(y - window.ymin) * width - window.xmin;
        const double* srow = stamp + (y - y0) * spots.nx_max - x0;
        for (int x = std::max(x0, window.xmin); x < std::min(x1, window.xmax); ++x) row[x] += p * srow[x];
      }
    }
  }
}

// The parameters and true spectra (PHOT and FLUX on the lattice, and the lines).
SimulationTruth make_truth(const Psf& psf, const SimulationOptions& o, int nwave) {
  SimulationTruth truth;
  truth.psf_path = psf.path();
  truth.grid = o.grid;
  truth.specmin = o.specmin;
  truth.nspec = o.nspec;
  truth.seed = o.seed;
  truth.readnoise = o.readnoise;
  truth.noiseless = o.noiseless;
  truth.grid_offset = o.lattice_pad_bins;
  truth.wave = detail::make_lattice(o.grid, nwave, o.lattice_pad_bins);
  const std::size_t nsim = truth.wave.size();
  truth.phot.assign(static_cast<std::size_t>(o.nspec) * nsim, 0.0);
  for (int i = 0; i < o.nspec; ++i) {
    detail::make_spectrum(o.seed, o.specmin + i, i, truth.wave, o.grid.dw, truth.phot.data() + i * nsim,
                          truth.lines);
  }
  truth.flux.resize(truth.phot.size());
  for (std::size_t k = 0; k < truth.phot.size(); ++k) truth.flux[k] = truth.phot[k] / o.grid.dw;
  return truth;
}

// The pixels of window `w` of a full-CCD plane, row-major.
std::vector<double> cut(const std::vector<double>& plane, int ncols, const PixelWindow& w) {
  const int width = w.xmax - w.xmin;
  std::vector<double> out(static_cast<std::size_t>(w.ymax - w.ymin) * static_cast<std::size_t>(width));
  for (int y = w.ymin; y < w.ymax; ++y) {
    const auto row =
        plane.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y) * ncols + w.xmin);
    std::copy(row, row + width,
              out.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y - w.ymin) * width));
  }
  return out;
}

// The observed image: Poisson(model) + Gaussian read noise (or the model itself when
// noiseless) and ivar = 1/(readnoise^2 + model), DESI's model variance, inside `pack`;
// zeros elsewhere. Each pixel draws from its own stream, so threads cannot change it.
void observe(const SimulationOptions& o, const PixelWindow& pack, const std::vector<double>& model,
             Image& image) {
  const std::size_t npix = static_cast<std::size_t>(image.nrows) * static_cast<std::size_t>(image.ncols);
  image.pixels.assign(npix, 0.0);
  image.ivar.assign(npix, 0.0);
  image.mask.assign(npix, 0);
  const double variance0 = o.readnoise * o.readnoise;
  const int width = pack.xmax - pack.xmin;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic, 16)
#endif
  for (int y = pack.ymin; y < pack.ymax; ++y) {
    for (int x = pack.xmin; x < pack.xmax; ++x) {
      const std::size_t k = static_cast<std::size_t>(y) * image.ncols + x;
      const double m = model[static_cast<std::size_t>(y - pack.ymin) * width + (x - pack.xmin)];
      double value = m;
      if (!o.noiseless) {
        SimRandom rng(stream_seed(o.seed, purpose_noise, k));
        value = static_cast<double>(rng.poisson(m)) + o.readnoise * rng.normal();
      }
      image.pixels[k] = value;
      image.ivar[k] = 1.0 / (variance0 + m);
    }
  }
}

// Defects last: a junk value replaces the pixel, cosmic charge adds to it; neither
// carries information (ivar 0, MASK bit set).
void apply_defects(const std::vector<SimulatedDefect>& defects, Image& image) {
  for (const SimulatedDefect& d : defects) {
    const std::size_t k = static_cast<std::size_t>(d.y) * image.ncols + d.x;
    if (d.kind == DefectKind::bad_pixel) {
      image.pixels[k] = d.value;
      image.mask[k] |= preproc_mask_bad;
    } else {
      image.pixels[k] += d.value;
      image.mask[k] |= preproc_mask_cosmic;
    }
    image.ivar[k] = 0.0;
  }
}

// The PSF file's CAMERA without the stray inner quotes specex writes (''r0'' -> r0), or "".
std::string camera_of(const std::string& psf_path) {
  try {
    detail::FitsFile file = detail::FitsFile::open_read(psf_path);
    for (int hdu = 0, n = file.hdu_count(); hdu < n; ++hdu) {
      file.move_to(hdu);
      std::string camera = file.read_key_string("CAMERA").value_or("");
      std::string clean;
      for (char c : camera)
        if (c != '\'' && c != ' ') clean += c;
      if (!clean.empty()) return clean;
    }
  } catch (const Error&) {
    // Optional provenance: the PSF itself was read already.
  }
  return "";
}

// The simulator's own keywords, which describe the simulation and not the exposure.
const char* const simulation_keywords[] = {"PSFFILE",  "SEED",     "IVARFROM", "NOISELES",
                                           "NBADPIX",  "NCOSMIC",  "LATPAD",   "PACKXMIN",
                                           "PACKXMAX", "PACKYMIN", "PACKYMAX"};
const char* const simulation_comment =
    "COMMENT libextract simulate: IMAGE, IVAR and MASK are 0 outside PACKYMIN:PACKYMAX, PACKXMIN:PACKXMAX";

// The PSF file's CAMERA ("r0"); for a PSF that names none, the arm whose range holds the
// middle of the PSF's wavelengths (DESI's b < 5800 A <= r < 7600 A <= z), spectrograph 0.
std::string simulated_camera(const Psf& psf) {
  const std::string camera = camera_of(psf.path());
  if (camera.size() == 2 && std::string("brz").find(camera[0]) != std::string::npos && camera[1] >= '0' &&
      camera[1] <= '9') {
    return camera;
  }
  const double middle = 0.5 * (psf.wavemin() + psf.wavemax());
  return middle < 5800.0 ? "b0" : middle < 7600.0 ? "r0" : "z0";
}

std::vector<std::string> image_cards(const Psf& psf, const SimulationOptions& o, const PixelWindow& pack) {
  using detail::FitsFile;
  const std::string& path = psf.path();
  const std::string base =
      path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  const std::string grid = to_string(o.grid);
  std::vector<std::string> cards = {
      simulation_comment,
      FitsFile::make_card("PSFFILE", base, "PSF the image was simulated with"),
      FitsFile::make_card("SPECMIN", static_cast<long long>(o.specmin), "first simulated fibre"),
      FitsFile::make_card("NSPEC", static_cast<long long>(o.nspec), "simulated fibres"),
      FitsFile::make_card("WAVEGRID", grid, "extraction grid wmin,wmax,dw"),
      o.seed <= static_cast<std::uint64_t>(std::numeric_limits<long long>::max())
          ? FitsFile::make_card("SEED", static_cast<long long>(o.seed), "random seed")
          : FitsFile::make_card("SEED", std::to_string(o.seed), "random seed"),
      FitsFile::make_card("RDNOISE", o.readnoise, "read noise [electron]"),
      FitsFile::make_card("IVARFROM", std::string("model"), "ivar = 1/(RDNOISE^2 + noiseless model)"),
      FitsFile::make_card("NOISELES", static_cast<long long>(o.noiseless ? 1 : 0),
                          "1: image = model, no noise"),
      FitsFile::make_card("NBADPIX", static_cast<long long>(o.badpix), "bad pixels (MASK 1)"),
      FitsFile::make_card("NCOSMIC", static_cast<long long>(o.cosmics), "cosmic-ray tracks (MASK 16)"),
      FitsFile::make_card("LATPAD", static_cast<long long>(o.lattice_pad_bins),
                          "lattice bins beyond the grid"),
      FitsFile::make_card("PACKXMIN", static_cast<long long>(pack.xmin), "first column kept (0-based)"),
      FitsFile::make_card("PACKXMAX", static_cast<long long>(pack.xmax), "last column kept + 1"),
      FitsFile::make_card("PACKYMIN", static_cast<long long>(pack.ymin), "first row kept (0-based)"),
      FitsFile::make_card("PACKYMAX", static_cast<long long>(pack.ymax), "last row kept + 1"),
  };
  // A science exposure's keywords, as desispec's read_image, frame vetting (FLAVOR) and
  // read_frame (the spectrograph from CAMERA) need them; the date is made up.
  const std::string camera = simulated_camera(psf);
  const std::vector<std::string> exposure = {
      FitsFile::make_card("FLAVOR", std::string("science"), "desispec frame type"),
      FitsFile::make_card("OBSTYPE", std::string("SCIENCE"), "observation type"),
      FitsFile::make_card("EXPID", 1LL, "exposure number (simulated)"),
      FitsFile::make_card("NIGHT", 20201214LL, "night of the observation YYYYMMDD (simulated)"),
      FitsFile::make_card("DATE-OBS", std::string("2020-12-15T06:00:00.000"), "start of exposure [UTC]"),
      FitsFile::make_card("MJD-OBS", 59198.25, "start of exposure [MJD]"),
      FitsFile::make_card("EXPTIME", 900.0, "exposure time [s]"),
      FitsFile::make_card("CAMERA", camera, "camera (from the PSF)"),
      FitsFile::make_card("SPECGRPH", static_cast<long long>(camera[1] - '0'), "spectrograph"),
      FitsFile::make_card("DETECTOR", std::string("SIMULATED"), "CCD (simulated)"),
  };
  cards.insert(cards.begin() + 1, exposure.begin(), exposure.end());
  return cards;
}

}  // namespace

bool is_simulation_card(const std::string& card) {
  if (card.rfind(std::string(simulation_comment).substr(0, 30), 0) == 0) return true;
  const std::string keyword = card.substr(0, card.find_first_of(" =")).substr(0, 8);
  for (const char* k : simulation_keywords) {
    if (keyword == k) return true;
  }
  return false;
}

std::vector<double> project_spectra(const Psf& psf, int specmin, int nspec, const std::vector<double>& wave,
                                    const std::vector<double>& phot, const PixelWindow& window,
                                    const Backend& backend) {
  if (specmin < 0 || nspec < 1 || specmin + nspec > psf.nspec()) {
    throw Error(ErrorCode::invalid_argument, "project_spectra: fibres " + std::to_string(specmin) + ".." +
                                                 std::to_string(specmin + nspec - 1) +
                                                 " are not all in PSF " + psf.path());
  }
  if (phot.size() != static_cast<std::size_t>(nspec) * wave.size()) {
    throw Error(ErrorCode::invalid_argument, "project_spectra: phot must hold nspec x wave.size() values");
  }
  if (window.xmax < window.xmin || window.ymax < window.ymin) {
    throw Error(ErrorCode::invalid_argument, "project_spectra: window has max < min");
  }
  std::vector<double> out(static_cast<std::size_t>(window.ymax - window.ymin) * (window.xmax - window.xmin),
                          0.0);
  Box all, footprint;
  project(psf, specmin, nspec, wave, phot, window, backend, 0, -1, out.data(), all, footprint);
  return out;
}

SimulationResult simulate_image(const Psf& psf, const SimulationOptions& o) {
  const std::vector<double> grid = make_wavelength_grid(o.grid);
  validate(psf, o, grid);
  const int nwave = static_cast<int>(grid.size());
  const int pad = o.lattice_pad_bins;
  const int nrows = psf.npix_y(), ncols = psf.npix_x();

  SimulationResult result;
  result.truth = make_truth(psf, o, nwave);
  SimulationTruth& truth = result.truth;
  // Every fibre of the PSF in the FIBERMAP, numbered over the petals as DESI's are.
  const int first_fiber = 500 * (simulated_camera(psf)[1] - '0');
  for (int i = 0; i < psf.nspec(); ++i) result.fibers.push_back(first_fiber + i);

  // The noiseless model, accumulated in the image's pixel plane, and kept twice: whole
  // (every stamp) and, in the truth, cut to the packed region like the shared cases.
  Image& image = result.image;
  image.nrows = nrows;
  image.ncols = ncols;
  const std::size_t npix = static_cast<std::size_t>(nrows) * static_cast<std::size_t>(ncols);
  image.pixels.assign(npix, 0.0);
  Box all, footprint;
  project(psf, o.specmin, o.nspec, truth.wave, truth.phot, PixelWindow{0, ncols, 0, nrows}, o.backend, pad,
          pad + nwave - 1, image.pixels.data(), all, footprint);
  if (footprint.empty()) bad_option("-w/--wavelength: no stamp of the grid falls on the CCD");
  result.model_window = all.window();
  result.footprint = footprint.window();
  result.model = cut(image.pixels, ncols, result.model_window);

  // The packed region: footprint +-(40, 80) clipped to the CCD, widened to every defect.
  truth.defects = detail::make_defects(o, result.footprint, nrows, ncols);
  Box pack;
  pack.add(std::max(0, footprint.xmin - pack_margin_cols), std::min(ncols, footprint.xmax + pack_margin_cols),
           std::max(0, footprint.ymin - pack_margin_rows),
           std::min(nrows, footprint.ymax + pack_margin_rows));
  for (const SimulatedDefect& d : truth.defects) pack.add(d.x, d.x + 1, d.y, d.y + 1);
  const PixelWindow pw = pack.window();
  result.pack_window = pw;
  truth.model_window = pw;
  truth.model = cut(image.pixels, ncols, pw);
  double inside = 0.0, everything = 0.0;
  for (double v : truth.model) inside += v;
  for (double v : result.model) everything += v;
  truth.outfrac = everything > 0.0 ? (everything - inside) / everything : 0.0;

  observe(o, pw, truth.model, image);
  apply_defects(truth.defects, image);
  for (double v : image.ivar) image.masked_pixels += (v == 0.0);
  image.header_cards = image_cards(psf, o, pw);
  image.has_fibermap = true;
  return result;
}

}  // namespace libextract
