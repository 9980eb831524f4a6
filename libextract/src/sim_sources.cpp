// The simulator's sources (README §4): the lattice with the grid's step and phase,
// smooth continua with emission lines, and bad pixels and cosmic-ray tracks. All draws
// come from SimRandom streams, so a seed names the same truth on every platform.
#include "sim_sources.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/special_functions.hpp"
#include "sim_random.hpp"

namespace libextract {
namespace detail {

// The lattice: wmin + k * dw for k = -pad .. nwave + pad - 1, as the shared cases
// build it (bitwise equal to their truth WAVELENGTH). Its bins sit on the grid's to
// within rounding; grid bin i is lattice bin pad + i.
std::vector<double> make_lattice(const WavelengthGrid& g, int nwave, int pad) {
  const std::size_t n = static_cast<std::size_t>(nwave) + 2 * static_cast<std::size_t>(pad);
  std::vector<double> wave(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double k = static_cast<double>(static_cast<long long>(i) - pad);
    wave[i] = g.wmin + k * g.dw;
  }
  return wave;
}

// One fibre's true spectrum: a smooth continuum of 1000..10000 electrons/A and a few
// emission lines, integrated over each lattice bin.
void make_spectrum(std::uint64_t seed, int fiber, int ispec, const std::vector<double>& wave, double dw,
                   double* phot, std::vector<SimulatedLine>& lines) {
  SimRandom rng(stream_seed(seed, purpose_spectrum, static_cast<std::uint64_t>(fiber)));
  const std::size_t n = wave.size();
  const double level = rng.log_uniform(1412.5, 7079.5);  // 1000 * 10^(0.15..0.85)
  const double amplitude = rng.uniform(0.05, 0.25);      // keeps the continuum in 1000..10000
  const double b1 = rng.uniform(-1.0, 1.0), b2 = rng.uniform(-0.5, 0.5), b3 = rng.uniform(-1.0 / 3, 1.0 / 3);
  std::vector<double> shape(n);
  double peak = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    const double t = n > 1 ? 2.0 * static_cast<double>(k) / static_cast<double>(n - 1) - 1.0 : 0.0;
    const double p2 = 0.5 * (3.0 * t * t - 1.0), p3 = 0.5 * (5.0 * t * t * t - 3.0 * t);
    shape[k] = b1 * t + b2 * p2 + b3 * p3;
    peak = std::max(peak, std::fabs(shape[k]));
  }
  for (std::size_t k = 0; k < n; ++k) {
    const double s = peak > 0.0 ? shape[k] / peak : 0.0;
    phot[k] = level * (1.0 + amplitude * s) * dw;
  }

  const int nlines = rng.integer(1, 6);
  const double inv_sqrt2 = 0.70710678118654752440;
  for (int l = 0; l < nlines; ++l) {
    SimulatedLine line;
    line.ispec = ispec;
    line.wave = rng.uniform(wave.front(), wave.back());
    line.sigma = rng.uniform(0.3, 1.5);
    line.phot = rng.log_uniform(5e3, 1.5e5);
    lines.push_back(line);
    // PHOT of a bin = the line's electrons times the Gaussian's integral over the bin.
    const double reach = 10.0 * line.sigma + dw;
    for (std::size_t k = 0; k < n; ++k) {
      if (std::fabs(wave[k] - line.wave) > reach) continue;
      const double a = (wave[k] - 0.5 * dw - line.wave) / line.sigma * inv_sqrt2;
      const double b = (wave[k] + 0.5 * dw - line.wave) / line.sigma * inv_sqrt2;
      phot[k] += line.phot * 0.5 * (kernels::erf_own(b) - kernels::erf_own(a));
    }
  }
}

// Bad pixels and cosmic-ray tracks inside the footprint (not yet applied).
std::vector<SimulatedDefect> make_defects(const SimulationOptions& o, const PixelWindow& fp, int nrows,
                                          int ncols) {
  SimRandom rng(stream_seed(o.seed, purpose_defects));
  std::vector<SimulatedDefect> defects;
  const double junk[] = {0.0, 1e5, -500.0};
  for (int b = 0; b < o.badpix; ++b) {
    SimulatedDefect d;
    d.kind = DefectKind::bad_pixel;
    d.y = rng.integer(fp.ymin, fp.ymax - 1);
    d.x = rng.integer(fp.xmin, fp.xmax - 1);
    d.value = junk[rng.integer(0, 2)];
    defects.push_back(d);
  }
  for (int c = 0; c < o.cosmics; ++c) {
    const double length = rng.uniform(15.0, 60.0);
    double dy, dx, r2;
    do {  // a random direction without trigonometry
      dy = rng.uniform(-1.0, 1.0);
      dx = rng.uniform(-1.0, 1.0);
      r2 = dy * dy + dx * dx;
    } while (r2 > 1.0 || r2 < 0.01);
    const double norm = std::sqrt(r2);
    dy /= norm, dx /= norm;
    // Step one pixel at a time along the major axis; the charge falls on the nearest
    // pixel of the minor axis and, more weakly, on its neighbour on the track's side.
    const bool along_y = std::fabs(dy) >= std::fabs(dx);
    const double major = along_y ? dy : dx, minor = along_y ? dx : dy;
    const int steps = static_cast<int>(length * std::fabs(major)) + 1;
    const int m0 = along_y ? rng.integer(fp.ymin, fp.ymax - 1) : rng.integer(fp.xmin, fp.xmax - 1);
    const double c0 = along_y ? rng.uniform(fp.xmin, fp.xmax) - 0.5 : rng.uniform(fp.ymin, fp.ymax) - 0.5;
    const int direction = major > 0.0 ? 1 : -1;
    for (int k = 0; k < steps; ++k) {
      const int m = m0 + direction * k;
      const double centre = c0 + static_cast<double>(k) * minor / std::fabs(major);
      const int near = static_cast<int>(std::floor(centre + 0.5));
      const int side = centre >= near ? near + 1 : near - 1;
      const double charges[2] = {rng.uniform(4000.0, 8000.0), rng.uniform(1000.0, 2000.0)};
      const int minors[2] = {near, side};
      for (int h = 0; h < 2; ++h) {
        SimulatedDefect d;
        d.kind = DefectKind::cosmic;
        d.y = along_y ? m : minors[h];
        d.x = along_y ? minors[h] : m;
        d.value = charges[h];
        if (d.y >= 0 && d.y < nrows && d.x >= 0 && d.x < ncols) defects.push_back(d);
      }
    }
  }
  return defects;
}

}  // namespace detail
}  // namespace libextract
