// One PSF spot: the pixel-integrated Gauss-Hermite core (+ specter's power-law tail),
// clipped at zero and normalised over its stamp. Written once for both backends.
//
// Two placement rules (extraction-spec §3, gpu_specter-spec §3):
//  * specter:     stamp from trunc(X − HX + ½) to trunc(X + HX + 1.5) − 1 (one pixel
//                 short near a low CCD edge), empty outside the fibre's valid range,
//                 tail included;
//  * gpu_specter: stamp from floor((X − HX) + ½), always (2HY+1)×(2HX+1), edges
//                 measured from the sub-pixel offset, no tail, no validity cut.
#pragma once

#include "kernels/hd.hpp"
#include "kernels/psf_view.hpp"
#include "kernels/special_functions.hpp"

namespace libextract {
namespace kernels {

enum SpotRule : int { spot_rule_specter = 0, spot_rule_gpu_specter = 1 };

enum SpotStatus : int {
  spot_ok = 0,
  spot_empty = 1,        // specter: wavelength outside the fibre's valid range
  spot_not_finite = -1,  // a non-finite centre, width or stamp sum
  spot_zero_sum = -2,    // every stamp value clipped to zero
};

// Full (uncut) stamp of one spot: columns x0 .. x0+nx−1, rows y0 .. y0+ny−1.
struct SpotFootprint {
  int x0, y0, nx, ny;
  double x, y;  // trace centre
};

LIBEXTRACT_HD int spot_nx_max(const PsfView& psf) {
  return 2 * psf.hsize_x + 1;
}
LIBEXTRACT_HD int spot_ny_max(const PsfView& psf) {
  return 2 * psf.hsize_y + 1;
}

// Doubles of scratch that evaluate_spot needs.
LIBEXTRACT_HD int spot_scratch_size(const PsfView& psf) {
  const int ngx = psf.ghdeg_x + 1;
  const int ngy = psf.ghdeg_y + 1;
  const int nh = (ngx > ngy ? ngx : ngy);
  return shape_rows(psf) + ngx * spot_nx_max(psf) + ngy * spot_ny_max(psf) + ngx * spot_ny_max(psf) + 2 * nh;
}

LIBEXTRACT_HD bool is_finite_value(double v) {
  return v == v && v - v == 0.0;
}

// specter evaluates every Legendre series (traces and shape parameters) with its numba
// `legval_numba` (specter/util/util.py): NumPy's backward recurrence, except that it
// multiplies by fl(1/n) where NumPy's legval divides by n. The two differ in the last
// bits, and the spots are sensitive to them: on spots-r0-00051060.fits the division
// form moves Y by up to 4.6e-13 pixel and a stamp pixel by 2.7e-14, while this form
// reproduces specter's X and Y in every row bit for bit. gpu_specter uses NumPy's
// legval for the traces (legendre_series) and a Vandermonde product for the parameters.
LIBEXTRACT_HD double legendre_series_specter(const double* c, int ncoef, double t) {
  if (ncoef == 1) return c[0];  // legval_numba needs two coefficients; the value is c0
  double c0 = c[ncoef - 2];
  double c1 = c[ncoef - 1];
  int nd = ncoef;
  for (int i = 3; i <= ncoef; ++i) {
    const double tmp = c0;
    nd = nd - 1;
    const double nd_inv = 1.0 / static_cast<double>(nd);
    c0 = c[ncoef - i] - (c1 * static_cast<double>(nd - 1)) * nd_inv;
    c1 = tmp + ((c1 * t) * static_cast<double>(2 * nd - 1)) * nd_inv;
  }
  return c0 + c1 * t;
}

// Trace centre and shape parameters as the chosen reference code evaluates them.
LIBEXTRACT_HD double spot_trace_x(const PsfView& psf, int fiber, double wave, int rule) {
  if (rule != spot_rule_specter) return trace_x_at(psf, fiber, wave);
  const double t = legendre_reduced(wave, psf.trace_x_wmin, psf.trace_x_wmax);
  return legendre_series_specter(psf.trace_x + fiber * psf.trace_ncoef, psf.trace_ncoef, t);
}

LIBEXTRACT_HD double spot_trace_y(const PsfView& psf, int fiber, double wave, int rule) {
  if (rule != spot_rule_specter) return trace_y_at(psf, fiber, wave);
  const double t = legendre_reduced(wave, psf.trace_y_wmin, psf.trace_y_wmax);
  return legendre_series_specter(psf.trace_y + fiber * psf.trace_ncoef, psf.trace_ncoef, t);
}

LIBEXTRACT_HD void spot_shape_params(const PsfView& psf, int fiber, double wave, int rule, double* out) {
  if (rule != spot_rule_specter) {
    shape_params_at(psf, fiber, wave, out);
    return;
  }
  const double t = legendre_reduced(wave, psf.wmin, psf.wmax);
  const int rows = shape_rows(psf);
  for (int r = 0; r < rows; ++r) {
    const double* c = psf.shape + (static_cast<long>(r) * psf.nspec + fiber) * psf.ncoef;
    out[r] = legendre_series_specter(c, psf.ncoef, t);
  }
}

// basis[m*n + k] = ∫ He_m(u) φ(u) du over pixel k, for m = 0..deg and pixels k = 0..n−1,
// given the n+1 normalised pixel edges edge(k). `h_prev`/`h_cur` hold deg values each.
template <class EdgeFn>
LIBEXTRACT_HD void pixel_integrated_basis(EdgeFn edge, int n, int deg, double* basis, double* h_prev,
                                          double* h_cur) {
  const double sqrt2 = 1.4142135623730951;
  const double sqrt_2pi = 2.5066282746310002;
  double erf_prev = 0.0;
  double phi_prev = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double u = edge(k);
    const double erf_u = erf_own(u / sqrt2);
    const double phi_u = exp_own((-0.5 * u) * u) / sqrt_2pi;
    // Probabilists' Hermite polynomials He_0 .. He_{deg−1} at u.
    if (deg > 0) h_cur[0] = 1.0;
    if (deg > 1) h_cur[1] = u;
    for (int m = 2; m < deg; ++m) {
      h_cur[m] = h_cur[m - 1] * u - h_cur[m - 2] * static_cast<double>(m - 1);
    }
    if (k > 0) {
      basis[k - 1] = 0.5 * (erf_u - erf_prev);
      for (int m = 1; m <= deg; ++m) {
        basis[m * n + k - 1] = h_prev[m - 1] * phi_prev - h_cur[m - 1] * phi_u;
      }
    }
    erf_prev = erf_u;
    phi_prev = phi_u;
    double* swap = h_prev;
    h_prev = h_cur;
    h_cur = swap;
  }
}

struct SpecterEdges {  // e_k = (p_k − c − ½)/σ, last edge (p_{N−1} − c + ½)/σ
  int p0, n;
  double c, sigma;
  LIBEXTRACT_HD double operator()(int k) const {
    if (k < n) return ((static_cast<double>(p0 + k) - c) - 0.5) / sigma;
    return ((static_cast<double>(p0 + n - 1) - c) + 0.5) / sigma;
  }
};

struct OffsetEdges {  // u_k = (((k − H) − ½) − d)/σ
  int half;
  double offset, sigma;
  LIBEXTRACT_HD double operator()(int k) const {
    return ((static_cast<double>(k - half) - 0.5) - offset) / sigma;
  }
};

// Python's floored modulo by 1: the result lies in [0, 1).
LIBEXTRACT_HD double floored_mod1(double v) {
  double r = v - static_cast<double>(static_cast<long long>(v));
  if (r < 0.0) r = r + 1.0;
  return r;
}

LIBEXTRACT_HD long long floor_to_int(double v) {
  const long long t = static_cast<long long>(v);
  return (static_cast<double>(t) > v) ? t - 1 : t;
}

// Evaluates spot (fiber, wave). Writes the normalised stamp into stamp[j*stride + i]
// (j < fp->ny, i < fp->nx; the rest of the ny_max × stride cell is zeroed) and its
// placement into *fp. Returns a SpotStatus.
LIBEXTRACT_HD int evaluate_spot(const PsfView& psf, int fiber, double wave, int rule, double* stamp,
                                int stride, double* scratch, SpotFootprint* fp) {
  const int nx_max = spot_nx_max(psf);
  const int ny_max = spot_ny_max(psf);
  for (int j = 0; j < ny_max; ++j)
    for (int i = 0; i < stride; ++i) stamp[j * stride + i] = 0.0;

  const double x = spot_trace_x(psf, fiber, wave, rule);
  const double y = spot_trace_y(psf, fiber, wave, rule);
  fp->x = x;
  fp->y = y;
  fp->x0 = -1;
  fp->y0 = -1;
  fp->nx = 0;
  fp->ny = 0;
  if (!is_finite_value(x) || !is_finite_value(y)) return spot_not_finite;
  if (rule == spot_rule_specter && (wave < psf.fiber_wmin[fiber] || wave > psf.fiber_wmax[fiber])) {
    return spot_empty;
  }

  const int ngx = psf.ghdeg_x + 1;
  const int ngy = psf.ghdeg_y + 1;
  double* params = scratch;
  double* bx = params + shape_rows(psf);
  double* by = bx + ngx * nx_max;
  double* u_rows = by + ngy * ny_max;
  const int nh = (ngx > ngy ? ngx : ngy);
  double* h_prev = u_rows + ngx * ny_max;
  double* h_cur = h_prev + nh;
  spot_shape_params(psf, fiber, wave, rule, params);
  const double sigma_x = params[shape_sigma_x];
  const double sigma_y = params[shape_sigma_y];
  if (!is_finite_value(sigma_x) || !is_finite_value(sigma_y)) return spot_not_finite;

  int x0, y0, nx, ny;
  if (rule == spot_rule_specter) {
    // trunc, as a C cast does: a centre near a low edge loses one pixel.
    x0 =
        static_cast<int>((x - psf.hsize_x) + 0.5);  // NOLINT(bugprone-incorrect-roundings): trunc is the rule
    y0 = static_cast<int>((y - psf.hsize_y) + 0.5);  // NOLINT(bugprone-incorrect-roundings)
    nx = static_cast<int>((x + psf.hsize_x) + 1.5) - x0;
    ny = static_cast<int>((y + psf.hsize_y) + 1.5) - y0;
    if (nx > nx_max) nx = nx_max;
    if (ny > ny_max) ny = ny_max;
    pixel_integrated_basis(SpecterEdges{x0, nx, x, sigma_x}, nx, psf.ghdeg_x, bx, h_prev, h_cur);
    pixel_integrated_basis(SpecterEdges{y0, ny, y, sigma_y}, ny, psf.ghdeg_y, by, h_prev, h_cur);
  } else {
    x0 = static_cast<int>(floor_to_int((x - psf.hsize_x) + 0.5));
    y0 = static_cast<int>(floor_to_int((y - psf.hsize_y) + 0.5));
    nx = nx_max;
    ny = ny_max;
    const double dx = floored_mod1(x + 0.5) - 0.5;
    const double dy = floored_mod1(y + 0.5) - 0.5;
    pixel_integrated_basis(OffsetEdges{psf.hsize_x, dx, sigma_x}, nx, psf.ghdeg_x, bx, h_prev, h_cur);
    pixel_integrated_basis(OffsetEdges{psf.hsize_y, dy, sigma_y}, ny, psf.ghdeg_y, by, h_prev, h_cur);
  }

  // Separable core: U[a][j] = Σ_b GH-a-b · By_b[j];  core[j][i] = Σ_a U[a][j] · Bx_a[i].
  // Every element starts at 0 and takes its terms in increasing b (resp. a); the
  // loops run over j (resp. i) innermost so the compiler can vectorise them without
  // changing any element's summation order.
  const double* gh = params + shape_gh_first;
  for (int a = 0; a < ngx; ++a) {
    double* u = u_rows + a * ny;
    for (int j = 0; j < ny; ++j) u[j] = 0.0;
    for (int b = 0; b < ngy; ++b) {
      const double c = gh[a * ngy + b];
      const double* byb = by + b * ny;
      for (int j = 0; j < ny; ++j) u[j] = u[j] + c * byb[j];
    }
  }
  for (int j = 0; j < ny; ++j) {
    double* row = stamp + j * stride;
    for (int i = 0; i < nx; ++i) row[i] = 0.0;
    for (int a = 0; a < ngx; ++a) {
      const double u = u_rows[a * ny + j];
      const double* bxa = bx + a * nx;
      for (int i = 0; i < nx; ++i) row[i] = row[i] + u * bxa[i];
    }
  }

  // Power-law tail at pixel centres (specter multiplies by the scales; DESI's
  // TAILAMP is 0, so the term is skipped exactly there).
  const double tail_amp = params[shape_tail_amp];
  if (rule == spot_rule_specter && tail_amp != 0.0) {
    const double core2 = params[shape_tail_core] * params[shape_tail_core];
    const double xs = params[shape_tail_xscale];
    const double ys = params[shape_tail_yscale];
    const double power = 1.0 + params[shape_tail_index] / 2.0;
    for (int j = 0; j < ny; ++j) {
      const double dy = (static_cast<double>(y0 + j) - y) * ys;
      for (int i = 0; i < nx; ++i) {
        const double dx = (static_cast<double>(x0 + i) - x) * xs;
        const double r2 = dx * dx + dy * dy;
        stamp[j * stride + i] = stamp[j * stride + i] + tail_amp * r2 / pow_own(core2 + r2, power);
      }
    }
  }

  double sum = 0.0;
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      double v = stamp[j * stride + i];
      if (!(v > 0.0)) v = 0.0;  // also maps a NaN to 0; caught by the sum check below
      stamp[j * stride + i] = v;
      sum = sum + v;
    }
  }
  if (!is_finite_value(sum)) return spot_not_finite;
  if (sum <= 0.0) return spot_zero_sum;
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) stamp[j * stride + i] = stamp[j * stride + i] / sum;

  fp->x0 = x0;
  fp->y0 = y0;
  fp->nx = nx;
  fp->ny = ny;
  return spot_ok;
}

// The part of a stamp inside a window, as offsets (i0, j0) into the stamp and a size.
struct SpotCut {
  int i0, j0, nx, ny;
};

// specter's xypix cut (extraction-spec §3.6): per axis, drop the low side if it is
// outside, *else* the high side (quirk Q2); empty when the stamp misses the window.
// gpu_specter rule: a plain intersection.
LIBEXTRACT_HD SpotCut cut_spot(const SpotFootprint& fp, int rule, int xmin, int xmax, int ymin, int ymax) {
  SpotCut cut{0, 0, 0, 0};
  if (fp.nx <= 0 || fp.ny <= 0) return cut;
  int xlo = fp.x0, xhi = fp.x0 + fp.nx, ylo = fp.y0, yhi = fp.y0 + fp.ny;
  if (rule == spot_rule_specter) {
    if (ylo >= ymax || yhi < ymin || xlo >= xmax || xhi <= xmin) return cut;
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
    if (xlo < xmin) xlo = xmin;
    if (xhi > xmax) xhi = xmax;
    if (ylo < ymin) ylo = ymin;
    if (yhi > ymax) yhi = ymax;
  }
  if (xhi <= xlo || yhi <= ylo) return cut;
  cut.i0 = xlo - fp.x0;
  cut.j0 = ylo - fp.y0;
  cut.nx = xhi - xlo;
  cut.ny = yhi - ylo;
  return cut;
}

}  // namespace kernels
}  // namespace libextract
