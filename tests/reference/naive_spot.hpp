// A naive, deliberately slow evaluation of one PSF spot, written straight from the
// specifications (extraction-spec §3.1-3.6 for specter, gpu_specter-spec §3 for
// gpu_specter). It is the oracle the kernel is tested against, so it favours the
// obvious over the fast and shares none of the kernel's spot code:
//  * every pixel is the direct double sum  Σ_a Σ_b GH-a-b · By_b[j] · Bx_a[i]  (no
//    separable factorisation, no shared partial sums);
//  * erf and exp come from <cmath> (the kernel uses its own fdlibm ports), Hermite
//    polynomials from their three-term recurrence evaluated per call;
//  * footprints use std::trunc / std::floor on the formulas as the specs write them;
//  * the window cut follows specter's xypix step by step (if / else-if per axis).
// Inputs come from the public Psf API (X and Y for gpu_specter, the shape parameters
// for both rules) and, for specter's X and Y, from the PSF's trace coefficients
// (see naive_specter_trace). Host-only test code. See README.md beside it.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "libextract/psf.hpp"
#include "psf_model.hpp"

namespace libextract_reference {

enum class PlacementRule { specter, gpu_specter };

// A stamp: value (j, i) belongs to CCD pixel (row y0 + j, column x0 + i).
struct NaiveSpot {
  double x = 0.0;  // trace centre
  double y = 0.0;
  long long x0 = -1;  // -1 / 0 x 0 when empty, like SpotBatch
  long long y0 = -1;
  int nx = 0;
  int ny = 0;
  std::vector<double> values;  // [ny][nx]

  bool empty() const { return nx == 0 || ny == 0; }
  double at(int j, int i) const { return values[static_cast<std::size_t>(j) * nx + i]; }
};

// Probabilists' Hermite polynomial He_n(u): He_0 = 1, He_1 = u, He_{k+1} = u He_k − k He_{k−1}.
inline double naive_hermite_e(int n, double u) {
  if (n == 0) return 1.0;
  double prev = 1.0;
  double cur = u;
  for (int k = 1; k < n; ++k) {
    const double next = cur * u - prev * static_cast<double>(k);
    prev = cur;
    cur = next;
  }
  return cur;
}

// Standard normal density φ(u) = exp(−u²/2)/√(2π).
inline double naive_phi(double u) {
  const double pi = 3.14159265358979323846;
  return std::exp(-0.5 * u * u) / std::sqrt(2.0 * pi);
}

// ∫ He_m(u) φ(u) du between two normalised edges lo < hi (extraction-spec §3.2):
// m = 0 is the Gaussian probability mass, m ≥ 1 uses d/du[−He_{m−1} φ] = He_m φ.
inline double naive_basis(int m, double lo, double hi) {
  if (m == 0) return 0.5 * (std::erf(hi / std::sqrt(2.0)) - std::erf(lo / std::sqrt(2.0)));
  return naive_hermite_e(m - 1, lo) * naive_phi(lo) - naive_hermite_e(m - 1, hi) * naive_phi(hi);
}

// specter's `legval_numba` (specter/util/util.py), transcribed: NumPy's backward
// recurrence but multiplying by 1/nd. specter evaluates its traces this way, and X and
// Y must be bit-exact for the footprints and the 1e-15 comparison (a stamp pixel moves
// by ~0.1 per pixel of Y), so the specter rule cannot use Psf::x/y, which follow NumPy.
inline double naive_specter_legval(const double* c, int ncoef, double x) {
  if (ncoef == 1) return c[0];
  int nd = ncoef;
  double c0 = c[ncoef - 2];
  double c1 = c[ncoef - 1];
  for (int i = 3; i <= ncoef; ++i) {
    const double tmp = c0;
    nd = nd - 1;
    const double nd_inv = 1.0 / nd;
    c0 = c[ncoef - i] - (c1 * (nd - 1)) * nd_inv;
    c1 = tmp + (c1 * x * (2 * nd - 1)) * nd_inv;
  }
  return c0 + c1 * x;
}

// specter's trace centre: TraceSet._xnorm, then legval_numba on the fibre's coefficients
// (read from the PSF's internal tables, the one place the oracle looks past the API).
inline double naive_specter_trace(const libextract::Psf& psf, bool y_axis, int fiber, double wave) {
  const libextract::detail::PsfModel& m = psf.model();
  const double wmin = y_axis ? m.trace_y_wmin : m.trace_x_wmin;
  const double wmax = y_axis ? m.trace_y_wmax : m.trace_x_wmax;
  const std::vector<double>& coeff = y_axis ? m.trace_y : m.trace_x;
  const double t = (wave - wmin) * (2.0 / (wmax - wmin)) - 1.0;
  return naive_specter_legval(coeff.data() + static_cast<std::size_t>(fiber) * m.trace_ncoef, m.trace_ncoef,
                              t);
}

// Python's float modulo by 1 (gpu_specter's `(X + 0.5) % 1`): fmod, then shifted into
// [0, 1) for a negative argument.
inline double naive_python_mod1(double v) {
  double r = std::fmod(v, 1.0);
  if (r < 0.0) r += 1.0;
  return r;
}

// The full, uncut stamp of (fiber, wave). For the specter rule it is empty outside the
// fibre's valid wavelength range, as xypix is.
inline NaiveSpot naive_spot(const libextract::Psf& psf, int fiber, double wave, PlacementRule rule) {
  NaiveSpot spot;
  if (rule == PlacementRule::specter) {
    spot.x = naive_specter_trace(psf, false, fiber, wave);
    spot.y = naive_specter_trace(psf, true, fiber, wave);
  } else {  // gpu_specter evaluates the traces with NumPy's legval, as Psf::x/y do
    spot.x = psf.x(fiber, wave);
    spot.y = psf.y(fiber, wave);
  }
  if (rule == PlacementRule::specter &&
      (wave < psf.wavemin_fiber(fiber) || wave > psf.wavemax_fiber(fiber))) {
    return spot;
  }
  const int hx = psf.hsize_x();
  const int hy = psf.hsize_y();
  const double sigma_x = psf.param("GHSIGX", fiber, wave);
  const double sigma_y = psf.param("GHSIGY", fiber, wave);

  // Normalised pixel edges along each axis: nx + 1 and ny + 1 of them.
  std::vector<double> ex, ey;
  long long x0, y0;
  int nx, ny;
  if (rule == PlacementRule::specter) {
    // Pixels trunc(X − HX + ½) .. trunc(X + HX + 1.5) − 1; edges at p − c ∓ ½.
    x0 = static_cast<long long>(std::trunc(spot.x - hx + 0.5));
    y0 = static_cast<long long>(std::trunc(spot.y - hy + 0.5));
    nx = static_cast<int>(static_cast<long long>(std::trunc(spot.x + hx + 1.5)) - x0);
    ny = static_cast<int>(static_cast<long long>(std::trunc(spot.y + hy + 1.5)) - y0);
    for (int k = 0; k < nx; ++k) ex.push_back((static_cast<double>(x0 + k) - spot.x - 0.5) / sigma_x);
    ex.push_back((static_cast<double>(x0 + nx - 1) - spot.x + 0.5) / sigma_x);
    for (int k = 0; k < ny; ++k) ey.push_back((static_cast<double>(y0 + k) - spot.y - 0.5) / sigma_y);
    ey.push_back((static_cast<double>(y0 + ny - 1) - spot.y + 0.5) / sigma_y);
  } else {
    // Fixed stamp from floor((X − HX) + ½); edges measured from the sub-pixel offset.
    x0 = static_cast<long long>(std::floor((spot.x - hx) + 0.5));
    y0 = static_cast<long long>(std::floor((spot.y - hy) + 0.5));
    nx = 2 * hx + 1;
    ny = 2 * hy + 1;
    const double dx = naive_python_mod1(spot.x + 0.5) - 0.5;
    const double dy = naive_python_mod1(spot.y + 0.5) - 0.5;
    for (int k = 0; k <= nx; ++k) ex.push_back(((k - hx) - 0.5 - dx) / sigma_x);
    for (int k = 0; k <= ny; ++k) ey.push_back(((k - hy) - 0.5 - dy) / sigma_y);
  }

  const int degx = psf.ghdeg_x();
  const int degy = psf.ghdeg_y();
  std::vector<double> gh(static_cast<std::size_t>(degx + 1) * (degy + 1));
  for (int a = 0; a <= degx; ++a)
    for (int b = 0; b <= degy; ++b)
      gh[a * (degy + 1) + b] = psf.param("GH-" + std::to_string(a) + "-" + std::to_string(b), fiber, wave);

  // Only specter adds the power-law tail (gpu_specter-spec §2.4: no tail term).
  bool has_tail = false;
  for (const std::string& name : psf.param_names()) has_tail = has_tail || name == "TAILAMP";
  const bool use_tail = rule == PlacementRule::specter && has_tail;
  double tail_amp = 0, tail_core = 0, tail_xsca = 0, tail_ysca = 0, tail_inde = 0;
  if (use_tail) {
    tail_amp = psf.param("TAILAMP", fiber, wave);
    tail_core = psf.param("TAILCORE", fiber, wave);
    tail_xsca = psf.param("TAILXSCA", fiber, wave);
    tail_ysca = psf.param("TAILYSCA", fiber, wave);
    tail_inde = psf.param("TAILINDE", fiber, wave);
  }

  // Basis tables bx[a][i] and by[b][j], each entry an independent integral.
  std::vector<std::vector<double>> bx(degx + 1, std::vector<double>(nx));
  std::vector<std::vector<double>> by(degy + 1, std::vector<double>(ny));
  for (int a = 0; a <= degx; ++a)
    for (int i = 0; i < nx; ++i) bx[a][i] = naive_basis(a, ex[i], ex[i + 1]);
  for (int b = 0; b <= degy; ++b)
    for (int j = 0; j < ny; ++j) by[b][j] = naive_basis(b, ey[j], ey[j + 1]);

  std::vector<double> img(static_cast<std::size_t>(nx) * ny, 0.0);
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      double core = 0.0;  // the direct double sum, term by term
      for (int a = 0; a <= degx; ++a)
        for (int b = 0; b <= degy; ++b) core += gh[a * (degy + 1) + b] * by[b][j] * bx[a][i];
      double tail = 0.0;
      if (use_tail) {
        // specter multiplies the offsets by the scales (extraction-spec §3.4).
        const double dxs = (static_cast<double>(x0 + i) - spot.x) * tail_xsca;
        const double dys = (static_cast<double>(y0 + j) - spot.y) * tail_ysca;
        const double r2 = dxs * dxs + dys * dys;
        tail = tail_amp * r2 / std::pow(tail_core * tail_core + r2, 1.0 + tail_inde / 2.0);
      }
      img[static_cast<std::size_t>(j) * nx + i] = std::max(core + tail, 0.0);
    }
  }
  double sum = 0.0;
  for (double v : img) sum += v;
  for (double& v : img) v /= sum;

  spot.x0 = x0;
  spot.y0 = y0;
  spot.nx = nx;
  spot.ny = ny;
  spot.values = std::move(img);
  return spot;
}

// The part of `full` inside the half-open window [xmin, xmax) x [ymin, ymax).
//  * specter: xypix's steps (extraction-spec §3.6): empty when outside (note the
//    asymmetric `yhi < ymin`), then per axis drop the low side if it sticks out,
//    *else* the high side; empty if a resulting slice is empty.
//  * gpu_specter: a plain intersection (gpu_specter itself never cuts; this is how
//    libextract defines a window for that rule).
inline NaiveSpot naive_cut(const NaiveSpot& full, PlacementRule rule, long long xmin, long long xmax,
                           long long ymin, long long ymax) {
  NaiveSpot out;
  out.x = full.x;
  out.y = full.y;
  if (full.empty()) return out;
  long long xlo = full.x0, xhi = full.x0 + full.nx, ylo = full.y0, yhi = full.y0 + full.ny;
  if (rule == PlacementRule::specter) {
    if (ylo >= ymax || yhi < ymin || xlo >= xmax || xhi <= xmin) return out;
    if (xlo < xmin) {
      xlo = xmin;
    } else if (xhi > xmax) {
      xhi = xmax;
    }
    if (ylo < ymin) {
      ylo = ymin;
    } else if (yhi > ymax) {
      yhi = ymax;
    }
  } else {
    xlo = std::max(xlo, xmin);
    xhi = std::min(xhi, xmax);
    ylo = std::max(ylo, ymin);
    yhi = std::min(yhi, ymax);
  }
  if (xhi <= xlo || yhi <= ylo) return out;
  out.x0 = xlo;
  out.y0 = ylo;
  out.nx = static_cast<int>(xhi - xlo);
  out.ny = static_cast<int>(yhi - ylo);
  out.values.resize(static_cast<std::size_t>(out.nx) * out.ny);
  for (int j = 0; j < out.ny; ++j)
    for (int i = 0; i < out.nx; ++i)
      out.values[static_cast<std::size_t>(j) * out.nx + i] =
          full.at(static_cast<int>(ylo - full.y0) + j, static_cast<int>(xlo - full.x0) + i);
  return out;
}

}  // namespace libextract_reference
