// Legendre series of the PSF file: traces and shape parameters as functions of
// wavelength. The operation order is the one DESI's reference codes use, so that the
// spot positions (and hence every integer decision downstream) match bit for bit.
#pragma once

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

// Reduced coordinate on a block's domain: t = (λ − wmin)·(2/(wmax − wmin)) − 1,
// in exactly this order.
LIBEXTRACT_HD double legendre_reduced(double wave, double wmin, double wmax) {
  return (wave - wmin) * (2.0 / (wmax - wmin)) - 1.0;
}

// Σ c_k P_k(t) by the backward recurrence of NumPy's legval (used for the traces:
// it reproduces the reference spot corners exactly).
LIBEXTRACT_HD double legendre_series(const double* c, int ncoef, double t) {
  if (ncoef == 1) return c[0];
  if (ncoef == 2) return c[0] + c[1] * t;
  double b0 = c[ncoef - 2];
  double b1 = c[ncoef - 1];
  int n = ncoef;
  for (int i = 3; i <= ncoef; ++i) {
    const double tmp = b0;
    n = n - 1;
    const double nd = static_cast<double>(n);
    b0 = c[ncoef - i] - (b1 * (nd - 1.0)) / nd;
    b1 = tmp + ((b1 * t) * (2.0 * nd - 1.0)) / nd;
  }
  return b0 + b1 * t;
}

// Σ c_k V_k(t) with the Vandermonde row V_0 = 1, V_1 = t,
// V_k = ((V_{k−1}·t)·(2k−1) − V_{k−2}·(k−1))/k (used for the shape parameters).
LIBEXTRACT_HD double legendre_vandermonde(const double* c, int ncoef, double t) {
  double v_prev = 1.0;  // V_{k-2}
  double v = t;         // V_{k-1}
  double sum = c[0];
  if (ncoef > 1) sum = sum + c[1] * t;
  for (int k = 2; k < ncoef; ++k) {
    const double kd = static_cast<double>(k);
    const double v_next = ((v * t) * (2.0 * kd - 1.0) - v_prev * (kd - 1.0)) / kd;
    v_prev = v;
    v = v_next;
    sum = sum + c[k] * v;
  }
  return sum;
}

}  // namespace kernels
}  // namespace libextract
