// The projection matrix A of one patch, never stored dense: each unknown q (a fibre
// at a wavelength) is one stamp whose cut rectangle lies inside the patch window,
// so A[p, q] is a lookup. These functors compute, per output element, the sums of
// the normal equations in a fixed order (pixels row-major, the order of the
// reference code's pixel loop), which makes them bitwise reproducible on every
// backend and thread count.
#pragma once

#include <cmath>  // sqrt: correctly rounded on host and device (IEEE), so shared safely

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

// Integer rectangle [x0, x1) × [y0, y1) in absolute CCD pixels.
struct Rect {
  int x0, x1, y0, y1;
};

LIBEXTRACT_HD bool rect_empty(const Rect& r) {
  return r.x1 <= r.x0 || r.y1 <= r.y0;
}

LIBEXTRACT_HD Rect rect_intersect(const Rect& a, const Rect& b) {
  Rect r;
  r.x0 = a.x0 > b.x0 ? a.x0 : b.x0;
  r.x1 = a.x1 < b.x1 ? a.x1 : b.x1;
  r.y0 = a.y0 > b.y0 ? a.y0 : b.y0;
  r.y1 = a.y1 < b.y1 ? a.y1 : b.y1;
  return r;
}

// One patch's columns of A, and the image it is fitted to.
struct PatchView {
  int nq;                // unknowns F
  const Rect* cut;       // [nq] part of each stamp inside the window (may be empty)
  const int* corner;     // [nq][2] stamp origin (x, y) of element [0][0]
  const double* stamps;  // [nq][ny_max][stride]
  int stride;            // nx_max
  long cell;             // ny_max * stride
  const double* image;   // full CCD, row-major
  const double* ivar;
  long image_stride;  // columns of the CCD
};

LIBEXTRACT_HD double spot_value(const PatchView& v, int q, int x, int y) {
  const int* c = v.corner + 2 * q;
  return v.stamps[v.cell * q + static_cast<long>(y - c[1]) * v.stride + (x - c[0])];
}

// Row q1 of the upper triangle of AᵀWA: H[q1][q2] = Σ_p (w_p·A_pq1)·A_pq2 for q2 ≥ q1,
// over the overlap of the two stamps, pixels in row-major order, skipping the pixels
// where w_p·A_pq1 == 0 (as the reference does). Entries without overlap are 0.
struct NormalRowFunctor {
  PatchView v;
  double* h;  // [nq][nq], row-major; row q1 written from column q1 on
  LIBEXTRACT_HD void operator()(int q1) const {
    double* row = h + static_cast<long>(q1) * v.nq;
    const Rect a = v.cut[q1];
    for (int q2 = q1; q2 < v.nq; ++q2) {
      const Rect o = rect_intersect(a, v.cut[q2]);
      double sum = 0.0;
      if (!rect_empty(o)) {
        for (int y = o.y0; y < o.y1; ++y) {
          for (int x = o.x0; x < o.x1; ++x) {
            const double wa = v.ivar[static_cast<long>(y) * v.image_stride + x] * spot_value(v, q1, x, y);
            if (wa != 0.0) sum = sum + wa * spot_value(v, q2, x, y);
          }
        }
      }
      row[q2] = sum;
    }
  }
};

// The same sums as NormalRowFunctor, accumulated pixel by pixel (the reference code's
// loop): for one pixel, every unknown q1 of its list (increasing q) with w·A_pq1 ≠ 0
// adds (w·A_pq1)·A_pq2 to H[q1][q2] for every q2 ≥ q1 of the list. Each element still
// receives its terms in increasing pixel order starting from 0, so a sweep over the
// pixels in row-major order gives H bitwise equal to NormalRowFunctor's. `values`
// holds `count` scratch doubles. The CPU uses this form (independent updates instead
// of one long dependency chain); tests check the two agree bit for bit.
// H[q1][q2] is stored at h[q1·row_stride + q2]: row_stride = nq is the dense layout
// above; a smaller stride s ≥ (q2 − q1)max packs a banded H into nq·(s + 1) doubles
// (column-major lower with leading dimension s, see cpu_fallback/band_cholesky.hpp).
LIBEXTRACT_HD void normal_pixel_accumulate(const PatchView& v, const int* list, int count, int x, int y,
                                           double* values, double* h, long row_stride) {
  const double w = v.ivar[static_cast<long>(y) * v.image_stride + x];
  for (int k = 0; k < count; ++k) values[k] = spot_value(v, list[k], x, y);
  for (int k1 = 0; k1 < count; ++k1) {
    const double wa = w * values[k1];
    if (wa == 0.0) continue;
    double* row = h + static_cast<long>(list[k1]) * row_stride;
    for (int k2 = k1; k2 < count; ++k2) row[list[k2]] = row[list[k2]] + wa * values[k2];
  }
}

// Per unknown: fluxweight Σ w·A, data term Σ (w·A)·d, and the stamp weight on good
// (w > 0) and on masked (w == 0) pixels, for the two pixmask_fraction definitions.
struct ColumnSumsFunctor {
  PatchView v;
  double* fluxweight;
  double* rhs;
  double* weight_good;
  double* weight_masked;
  LIBEXTRACT_HD void operator()(int q) const {
    const Rect r = v.cut[q];
    double fw = 0.0, b = 0.0, good = 0.0, masked = 0.0;
    for (int y = r.y0; y < r.y1; ++y) {
      for (int x = r.x0; x < r.x1; ++x) {
        const long at = static_cast<long>(y) * v.image_stride + x;
        const double a = spot_value(v, q, x, y);
        const double w = v.ivar[at];
        const double wa = w * a;
        if (wa != 0.0) {
          fw = fw + wa;
          b = b + wa * v.image[at];
        }
        if (w > 0.0) good = good + a;
        if (w == 0.0) masked = masked + a;
      }
    }
    fluxweight[q] = fw;
    rhs[q] = b;
    weight_good[q] = good;
    weight_masked[q] = masked;
  }
};

// Σ_q A_pq·coef_q at one pixel for the unknowns listed (in increasing q) for it.
LIBEXTRACT_HD double pixel_combination(const PatchView& v, const int* list, int count, int x, int y,
                                       const double* coef) {
  double sum = 0.0;
  for (int k = 0; k < count; ++k) {
    const int q = list[k];
    sum = sum + spot_value(v, q, x, y) * coef[q];
  }
  return sum;
}

// χ² ingredients of one pixel (extraction-spec §4.9): model variance from the PSF
// error, the combined inverse variance tiv, and χ_p² (0 where tiv == 0).
struct PixelChi {
  double chi2;
  bool tiv_positive;
};

LIBEXTRACT_HD PixelChi pixel_chi(double data, double ivar, double model, double psferr) {
  const double sigma_model = model * psferr + 1e-32;
  const double mivar = 1.0 / (sigma_model * sigma_model);
  double tiv = 0.0;
  if (mivar > 0.0 && ivar > 0.0) tiv = 1.0 / (1.0 / mivar + 1.0 / ivar);
  const double chi = (data - model) * sqrt(tiv);
  PixelChi out;
  out.chi2 = chi * chi;
  out.tiv_positive = tiv > 0.0;
  return out;
}

}  // namespace kernels
}  // namespace libextract
