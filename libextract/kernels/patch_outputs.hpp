// The output rules of a patch, written once for both backends: the eigenvalue
// functions of the decorrelation (specter's guard included), the rows of R and the
// convolved flux and ivar from a recomposed matrix function, the model pixel rule,
// specter's ivar zeroing, the pixmask fraction of each compat mode, chi2pix, and the
// contents of a failed patch. The CPU backend (cpu_fallback/patch_solver_cpu.cpp) calls
// them in its per-patch loops, the device pipeline (batch_pipeline.hpp) from its
// functors, each output element computed by one call.
#pragma once

#include <cmath>  // sqrt, fabs: correctly rounded / exact on host and device

#include "kernels/hd.hpp"
#include "kernels/projection.hpp"
#include "kernels/spot.hpp"

namespace libextract {
namespace kernels {

constexpr double eigen_guard = 10.0 * 2.220446049250313e-16;  // specter's 10·eps

// g(μ) of C_bb^(-1/2): gpu_specter sqrt(1/μ); specter 1/max(√μ, 10ε·√μ_max) (a NaN
// root takes the replacement).
LIBEXTRACT_HD double inverse_sqrt_factor(double mu, double mu_max, bool specter) {
  if (!specter) return sqrt(1.0 / mu);
  const double limit = eigen_guard * sqrt(mu_max);
  const double root = sqrt(mu);
  return root > limit ? 1.0 / root : 1.0 / limit;
}

// g(e) of iCov^(1/2): gpu_specter √e; specter √e above 10ε·√e_max, else that limit.
LIBEXTRACT_HD double sqrt_factor(double e, double e_max, bool specter) {
  if (!specter) return sqrt(e);
  const double limit = eigen_guard * sqrt(e_max);
  return e > limit ? sqrt(e) : limit;
}

// Row r of R from the matrix function q (n×n, column-major, ldq): R(r, c) = q(r, c)/s
// with s = Σ_c q(r, c), c increasing, stored at r_row[c·r_stride] for c in
// [c_lo, c_hi); flux = Σ_c R(r, c)·x[c] over all n columns (c increasing); ivar = s².
// With c_lo = 0, c_hi = n this is the per-fibre block's row; decorrelate mode keeps
// only the row's own fibre block of R but takes the flux from the whole row.
LIBEXTRACT_HD void resolution_row(const double* q, long ldq, int r, int n, const double* x, int c_lo,
                                  int c_hi, double* r_row, long r_stride, double* flux, double* ivar) {
  double s = 0.0;
  for (int c = 0; c < n; ++c) s = s + q[c * ldq + r];
  double fl = 0.0;
  for (int c = 0; c < n; ++c) {
    const double rr = q[c * ldq + r] / s;
    if (c >= c_lo && c < c_hi) r_row[(c - c_lo) * r_stride] = rr;
    fl = fl + rr * x[c];
  }
  *flux = fl;
  *ivar = s * s;
}

// The model of one window pixel, A·x̂: specter replaces a non-finite value by 0 and
// gives that pixel no weight in χ² (*weightless); gpu_specter keeps it.
LIBEXTRACT_HD double model_pixel(bool specter, double model, bool* weightless) {
  *weightless = specter && !is_finite_value(model);
  return *weightless ? 0.0 : model;
}

// The ivar stored for a bin: specter zeroes it where the fluxweight is ~0
// (numpy.isclose) and for a fully masked patch.
LIBEXTRACT_HD double output_ivar(bool specter, bool all_masked, double fluxweight, double ivar) {
  return specter && (all_masked || fabs(fluxweight) <= 1e-8) ? 0.0 : ivar;
}

// pixmask_fraction of an unknown from its column sums (projection.hpp's
// ColumnSumsFunctor): specter 1 − Σ good weight, gpu_specter Σ masked weight.
LIBEXTRACT_HD double output_pixmask_fraction(bool specter, double weight_good, double weight_masked) {
  return specter ? 1.0 - weight_good : weight_masked;
}

// chi2pix of unknown q: Σ A_pq·χ²_p / Σ_{p: ivar>0} A_pq over its cut, rows then
// columns increasing; 0 where no weighted pixel. pixel(x, y) gives the pixel's index
// into the per-pixel χ² and tiv arrays.
template <class PixelIndex, class Tiv>
LIBEXTRACT_HD double output_chi2pix(const PatchView& v, int q, const PixelIndex& pixel, const double* chi2,
                                    const Tiv* tiv) {
  const Rect c = v.cut[q];
  double num = 0.0, pw = 0.0;
  for (int y = c.y0; y < c.y1; ++y) {
    for (int x = c.x0; x < c.x1; ++x) {
      const long i = pixel(x, y);
      const double a = spot_value(v, q, x, y);
      num = num + a * chi2[i];
      if (tiv[i]) pw = pw + a;
    }
  }
  return pw != 0.0 ? num / pw : 0.0;
}

// A failed patch stores R = I (diagonal k = ndiag of the band), and flux, ivar,
// chi2pix and pixmask_fraction 0.
LIBEXTRACT_HD double failed_band_value(int k, int ndiag) {
  return k == ndiag ? 1.0 : 0.0;
}

}  // namespace kernels
}  // namespace libextract
