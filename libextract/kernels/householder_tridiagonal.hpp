// Householder reduction of one symmetric matrix to tridiagonal form, A = Q·T·Qᵀ, run
// by a team (kernels/team.hpp), and the formation of Q: the first half of a symmetric
// eigensolver whose second half is an implicit QL on T (LAPACK's dsytd2 + dorg2l
// scheme, lower variant: T(i+1,i) = e[i]).
//
// Every value is a fixed sequence of IEEE operations, so every team size, vector
// width and backend gives the same bits:
//  * dot products use fixed_dot's association (eight interleaved partial sums, then a
//    fixed pairwise combination), whoever computes them;
//  * updates are element-wise, each element written by one member per phase;
//  * norms and square roots are computed without libm (dlapy2's form with sqrt).
// The matrix is kept whole (both triangles) and updated symmetrically, so a row is a
// column and every dot product reads contiguous memory.
#pragma once

#include <cmath>

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

// Σ_k x[k]·y[k] as eight partial sums (lane t takes k ≡ t mod 8, k increasing), then
// ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). One thread on the device, one
// vectorised loop on the CPU: the same association.
LIBEXTRACT_HD double fixed_dot(const double* x, const double* y, int n) {
  double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int k = 0;
  for (; k + 8 <= n; k += 8)
    for (int t = 0; t < 8; ++t) s[t] = s[t] + x[k + t] * y[k + t];
  for (int t = 0; k < n; ++k, ++t) s[t] = s[t] + x[k] * y[k];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// √(a² + b²) as LAPACK's dlapy2 forms it (no overflow, no libm).
LIBEXTRACT_HD double safe_hypot(double a, double b) {
  const double x = fabs(a), y = fabs(b);
  const double w = x > y ? x : y, z = x > y ? y : x;
  if (z == 0.0) return w;
  const double q = z / w;
  return w * sqrt(1.0 + q * q);
}

// ‖x‖₂ of n values, scaled by the largest magnitude first (no overflow or underflow).
LIBEXTRACT_HD double scaled_norm(const double* x, int n) {
  double m = 0.0;
  for (int k = 0; k < n; ++k) m = m < fabs(x[k]) ? fabs(x[k]) : m;
  if (m == 0.0) return 0.0;
  const double r = 1.0 / m;
  double s = 0.0;
  for (int k = 0; k < n; ++k) s = s + (x[k] * r) * (x[k] * r);
  return m * sqrt(s);
}

// A (n×n, column-major, lda; both triangles) → T: d[0..n), e[0..n−1), and the
// reflectors H(i) = I − tau[i]·v·vᵀ, v = (1, a(i+2..n−1, i)) on rows i+1..n−1, kept
// in column i below the subdiagonal. p: n doubles of team-visible scratch. The
// trailing matrix is left in an unspecified state. Ends with a sync.
template <class Team>
LIBEXTRACT_HD_CLONED void householder_tridiagonalize(const Team& t, double* a, int lda, int n, double* d,
                                                     double* e, double* tau, double* p) {
  const int me = t.rank(), nt = t.size();
  for (int i = 0; i + 2 < n; ++i) {
    double* coli = a + static_cast<long>(i) * lda;
    const int m = n - i - 1;  // the reflector's length (rows i+1 .. n−1)
    double* v = coli + i + 1;
    if (me == 0) {  // the reflector (dlarfg): H·(alpha, x) = (beta, 0)
      const double alpha = v[0];
      const double xnorm = scaled_norm(v + 1, m - 1);
      double ti = 0.0, beta = alpha;
      if (xnorm != 0.0) {
        beta = -copysign(safe_hypot(alpha, xnorm), alpha);
        ti = (beta - alpha) / beta;
        const double scale = 1.0 / (alpha - beta);
        for (int k = 1; k < m; ++k) v[k] = v[k] * scale;
      }
      v[0] = 1.0;
      tau[i] = ti;
      e[i] = beta;
      d[i] = coli[i];
    }
    t.sync();
    const double ti = tau[i];
    if (ti != 0.0) {
      // p = τ·A₂₂·v, row by row (A₂₂'s row r is its column r).
      for (int r = me; r < m; r += nt) {
        const double* row = a + static_cast<long>(i + 1 + r) * lda + (i + 1);
        p[r] = ti * fixed_dot(row, v, m);
      }
      t.sync();
      // w = p − (τ/2)(pᵀv)·v in p, each member its entries (all compute the same dot).
      const double alpha = -0.5 * ti * fixed_dot(p, v, m);
      t.sync();  // every member has read p before it changes
      for (int r = me; r < m; r += nt) p[r] = p[r] + alpha * v[r];
      t.sync();
      // A₂₂ ← A₂₂ − (v·wᵀ + w·vᵀ), the sum of the two products symmetric in (r, c).
      for (int c = me; c < m; c += nt) {
        double* col = a + static_cast<long>(i + 1 + c) * lda + (i + 1);
        const double vc = v[c], wc = p[c];
        for (int r = 0; r < m; ++r) col[r] = col[r] - (v[r] * wc + p[r] * vc);
      }
      t.sync();
    }
  }
  if (me == 0) {
    if (n >= 2) {
      d[n - 2] = a[static_cast<long>(n - 2) * lda + (n - 2)];
      e[n - 2] = a[static_cast<long>(n - 2) * lda + (n - 1)];
      tau[n - 2] = 0.0;
    }
    if (n >= 1) d[n - 1] = a[static_cast<long>(n - 1) * lda + (n - 1)];
  }
  t.sync();
}

// Q = H(0)·H(1)···H(n−3) into q (n×n, ldq) from householder_tridiagonalize's
// reflectors in a, applied from the last one backwards: Q(:,c) −= (τ·(vᵀ·Q(:,c)))·v on
// rows i+1..n−1 for every column c > i. Ends with a sync.
template <class Team>
LIBEXTRACT_HD_CLONED void householder_form_q(const Team& t, const double* a, int lda, int n,
                                             const double* tau, double* q, int ldq) {
  const int me = t.rank(), nt = t.size();
  for (int c = me; c < n; c += nt) {
    double* col = q + static_cast<long>(c) * ldq;
    for (int r = 0; r < n; ++r) col[r] = r == c ? 1.0 : 0.0;
  }
  t.sync();
  for (int i = n - 3; i >= 0; --i) {
    const double ti = tau[i];
    if (ti == 0.0) continue;  // every member reads the same tau
    const int m = n - i - 1;
    const double* v = a + static_cast<long>(i) * lda + i + 1;  // v[0] = 1 is stored
    for (int c = i + 1 + me; c < n; c += nt) {
      double* col = q + static_cast<long>(c) * ldq + i + 1;
      const double s = ti * fixed_dot(v, col, m);
      for (int r = 0; r < m; ++r) col[r] = col[r] - s * v[r];
    }
    t.sync();
  }
}

}  // namespace kernels
}  // namespace libextract
