// Eigendecomposition A = U·diag(w)·Uᵀ of one dense symmetric matrix, run by a team
// (kernels/team.hpp), and the recomposition Q = U·diag(g)·Uᵀ of a function of it. Both
// backends run it: the per-fibre covariance blocks C_bb (n ≈ 40-80, one problem per
// core fibre of a patch) and the whole-patch iCov^(1/2) of --decorrelate-fibers.
//
// Algorithm: the Householder reduction to tridiagonal form and the formation of Q
// (householder_tridiagonal.hpp), then implicit QL with Wilkinson shifts on T (LAPACK
// dsteqr's splitting test and its QL-versus-QR choice for graded matrices, made once
// by reversing the order of T), then the eigenpairs sorted ascending (dsteqr's
// selection). Each QL sweep is a chain of plane rotations: one member generates them
// (a scalar recurrence), then every member applies them to its own rows of Z, each
// row rotation by rotation in the sweep's order. An element of Z is therefore updated
// by the same operations in the same order whoever applies it, and a team of one
// applies them column pair by column pair in contiguous, vectorisable loops: the bits
// are the same for every team size, vector width and backend. Two barriers per sweep.
//
// Accuracy is that of any backward-stable method (residuals ~ε‖A‖); no libm call.
#pragma once

#include <cmath>  // sqrt, fabs, copysign, frexp, ldexp: correctly rounded / exact on host and device

#include "kernels/hd.hpp"
#include "kernels/householder_tridiagonal.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace kernels {

// QL sweeps allowed per order of the matrix before it counts as not converged
// (LAPACK dsteqr's limit, 30·n sweeps for the whole matrix).
constexpr int ql_sweeps_per_order = 30;

// Doubles of team-visible workspace symmetric_eigen needs: e, tau, the Householder
// product (then the sort permutation), and the cosines and sines of one sweep.
LIBEXTRACT_HD long symmetric_eigen_workspace(int n) {
  return 5L * n;
}

// Flops of one n×n problem with its recomposition, for the stage reports: ≈ 4n³/3 for
// the reduction, 4n³/3 for Q, ≈ 6n³ for the QL rotations (~2n sweeps over n rows), 2n³
// for U·diag(g)·Uᵀ; rounded to 11n³.
LIBEXTRACT_HD double symmetric_eigen_flops(int n) {
  return 11.0 * n * n * static_cast<double>(n);
}

// √(a² + b²) for the QL recurrence: the plain formula where no overflow or underflow
// is possible, dlapy2's scaled form beyond.
LIBEXTRACT_HD double ql_hypot(double a, double b) {
  const double x = fabs(a), y = fabs(b);
  const double m = x > y ? x : y;
  if (m > 1e150 || m < 1e-150) return safe_hypot(a, b);
  return sqrt(a * a + b * b);
}

// The range of ‖T‖ in which the QL recurrence runs unscaled (dsteqr's ssfmin and
// ssfmax: √safmin/ε² and √safmax/3).
constexpr double ql_scale_min = 1.210184973390412e-122;
constexpr double ql_scale_max = 2.2346346549904327e+153;

// Rows k = k0, k0 + step, ... < n of the column pair (zi, zi1) rotated by (c, s). The
// columns never overlap (restrict: a team of one's loop vectorises without runtime
// alias checks).
LIBEXTRACT_HD void ql_rotate(double* __restrict zi, double* __restrict zi1, int k0, int n, int step, double c,
                             double s) {
  for (int k = k0; k < n; k += step) {
    const double x = zi1[k];
    zi1[k] = s * zi[k] + c * x;
    zi[k] = c * zi[k] - s * x;
  }
}

// One member's state of the QL iteration between sweeps (only rank 0's is used).
struct QlState {
  int l = 0;     // eigenvalues 0..l−1 have converged
  int iter = 0;  // sweeps so far
};

// Rank 0: the next sweep's rotations into c[0..count), s[0..count), rotation r acting
// on columns top−r and top−r+1, with d and e updated. Returns the count (0: nothing to
// apply, the loop goes on), or −1 when every eigenvalue has converged, or −2 when the
// iteration limit is exceeded (the failing index in *failed).
LIBEXTRACT_HD_CLONED int ql_next_sweep(QlState& st, int n, double* d, double* e, double* c, double* s,
                                       int* top, int max_sweeps, int* failed) {
  const double eps = 1.1102230246251565e-16;  // LAPACK's dlamch('E')
  const double safmin = 2.2250738585072014e-308;
  const double eps2 = eps * eps;
  while (st.l < n) {
    const int l = st.l;
    int m = l;
    for (; m < n - 1; ++m) {  // dsteqr's test for a negligible off-diagonal element
      const double tst = e[m] * e[m];
      if (tst <= (eps2 * fabs(d[m])) * fabs(d[m + 1]) + safmin) break;
    }
    if (m < n - 1) e[m] = 0.0;
    if (m == l) {
      ++st.l;
      continue;
    }
    if (++st.iter > max_sweeps) {
      *failed = l + 1;
      return -2;
    }
    double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
    double r = ql_hypot(g, 1.0);
    g = d[m] - d[l] + e[l] / (g + copysign(r, g));
    double sn = 1.0, cs = 1.0, p = 0.0;
    int count = 0;
    *top = m - 1;
    for (int i = m - 1; i >= l; --i) {
      const double f = sn * e[i];
      const double b = cs * e[i];
      r = ql_hypot(f, g);
      e[i + 1] = r;
      if (r == 0.0) {  // underflow: split here, apply what was generated, retry
        d[i + 1] = d[i + 1] - p;
        e[m] = 0.0;
        return count;
      }
      sn = f / r;
      cs = g / r;
      g = d[i + 1] - p;
      r = (d[i] - g) * sn + 2.0 * cs * b;
      p = sn * r;
      d[i + 1] = g + p;
      g = cs * r - b;
      c[count] = cs;
      s[count] = sn;
      ++count;
    }
    d[l] = d[l] - p;
    e[l] = g;
    e[m] = 0.0;
    return count;
  }
  return -1;
}

// A = U·diag(w)·Uᵀ for the symmetric n×n matrix whose lower triangle is in `a`
// (column-major, lda). On return `a` holds U (column k: the eigenvector of w[k]) and w
// the eigenvalues in ascending order. z: n×n team-visible scratch (ldz); work:
// symmetric_eigen_workspace(n) doubles of team-visible scratch. Returns 0, or k > 0
// when the QL iteration did not converge (ql_sweeps_per_order·n sweeps; `a` and w are
// then unspecified), the same on every member; sh->i[3] then holds the number of QL
// sweeps. Barriers: 6(n−2) + 8 + 2 per sweep (householder part: one reflector per
// column). Ends with a sync.
template <class Team>
LIBEXTRACT_HD_CLONED int symmetric_eigen(const Team& t, double* a, int lda, int n, double* w, double* z,
                                         int ldz, double* work, TeamShared* sh,
                                         int sweeps_per_order = ql_sweeps_per_order) {
  const int me = t.rank(), nt = t.size();
  if (n <= 0) return 0;
  double* e = work;
  double* tau = work + n;
  double* p = work + 2L * n;  // the reduction's product, then the sort permutation
  double* c = work + 3L * n;
  double* s = work + 4L * n;
  // The upper triangle from the lower: the reduction reads whole rows.
  for (int j = me; j < n; j += nt)
    for (int i = j + 1; i < n; ++i) a[static_cast<long>(i) * lda + j] = a[static_cast<long>(j) * lda + i];
  t.sync();
  householder_tridiagonalize(t, a, lda, n, w, e, tau, p);
  householder_form_q(t, a, lda, n, tau, z, ldz);
  // dsteqr runs QR instead of QL when the matrix is graded the other way (smaller
  // diagonal at the bottom); reversing the order of T and of Q's columns is the same.
  if (me == 0) {
    e[n - 1] = 0.0;
    const bool reverse = fabs(w[n - 1]) < fabs(w[0]);
    if (reverse) {
      for (int i = 0, j = n - 1; i < j; ++i, --j) {
        const double x = w[i];
        w[i] = w[j];
        w[j] = x;
      }
      for (int i = 0, j = n - 2; i < j; ++i, --j) {
        const double x = e[i];
        e[i] = e[j];
        e[j] = x;
      }
    }
    sh->i[0] = reverse ? 1 : 0;
  }
  // dsteqr's scaling: T far from 1 (an entry's square under- or overflowing) is scaled
  // by a power of two first, exactly, and the eigenvalues back at the end.
  int scale_exponent = 0;
  if (me == 0) {
    double tnorm = 0.0;
    for (int k = 0; k < n; ++k) tnorm = tnorm < fabs(w[k]) ? fabs(w[k]) : tnorm;
    for (int k = 0; k + 1 < n; ++k) tnorm = tnorm < fabs(e[k]) ? fabs(e[k]) : tnorm;
    if (tnorm > 0.0 && (tnorm < ql_scale_min || tnorm > ql_scale_max)) {
      frexp(tnorm, &scale_exponent);
      for (int k = 0; k < n; ++k) w[k] = ldexp(w[k], -scale_exponent);
      for (int k = 0; k + 1 < n; ++k) e[k] = ldexp(e[k], -scale_exponent);
    }
  }
  t.sync();
  if (sh->i[0] != 0) {
    for (int i = me; i < n / 2; i += nt) {
      double* zi = z + static_cast<long>(i) * ldz;
      double* zj = z + static_cast<long>(n - 1 - i) * ldz;
      for (int k = 0; k < n; ++k) {
        const double x = zi[k];
        zi[k] = zj[k];
        zj[k] = x;
      }
    }
  }
  t.sync();
  QlState st;
  for (;;) {
    if (me == 0) {
      int top = 0, failed = 0;
      const int count = ql_next_sweep(st, n, w, e, c, s, &top, sweeps_per_order * n, &failed);
      sh->i[0] = count;
      sh->i[1] = top;
      sh->i[2] = failed;
    }
    t.sync();
    const int count = sh->i[0], top = sh->i[1];
    if (count < 0) break;
    // Z(k, i), Z(k, i+1) ← the rotation, for every row k this member owns, rotation
    // by rotation; a team of one runs each rotation over contiguous columns.
    for (int r = 0; r < count; ++r) {
      double* zi = z + static_cast<long>(top - r) * ldz;
      ql_rotate(zi, zi + ldz, me, n, nt, c[r], s[r]);
    }
    t.sync();
  }
  const int info = sh->i[0] == -2 ? sh->i[2] : 0;
  if (me == 0) sh->i[3] = st.iter;
  if (info == 0) {
    // Ascending order by dsteqr's selection sort, as a permutation; then U = Z's
    // columns in that order.
    if (me == 0) {
      if (scale_exponent != 0)
        for (int k = 0; k < n; ++k) w[k] = ldexp(w[k], scale_exponent);
      for (int i = 0; i < n; ++i) p[i] = i;
      for (int i = 0; i < n - 1; ++i) {
        int k = i;
        for (int j = i + 1; j < n; ++j)
          if (w[j] < w[k]) k = j;
        if (k != i) {
          const double x = w[i], y = p[i];
          w[i] = w[k];
          w[k] = x;
          p[i] = p[k];
          p[k] = y;
        }
      }
    }
    t.sync();
    for (int j = me; j < n; j += nt) {
      const double* from = z + static_cast<long>(p[j]) * ldz;
      double* to = a + static_cast<long>(j) * lda;
      for (int k = 0; k < n; ++k) to[k] = from[k];
    }
  }
  t.sync();
  return info;
}

// Q = V·diag(g)·Vᵀ (n×n, column-major; v: ldv, q: ldq): element (i, j) is
// Σ_k (V(i,k)·g(k))·V(j,k), k increasing, one member per element. Ends with a sync.
template <class Team>
LIBEXTRACT_HD void eigen_recompose(const Team& t, const double* v, int ldv, const double* g, int n, double* q,
                                   int ldq) {
  // 32-bit element indices (n² < 2³¹): a 64-bit divide or remainder is a slow
  // emulated sequence on the device.
  for (int e = t.rank(); e < n * n; e += t.size()) {
    const int j = e / n, i = e - j * n;
    double sum = 0.0;
    for (int k = 0; k < n; ++k) {
      const double* vk = v + static_cast<long>(k) * ldv;
      sum = sum + (vk[i] * g[k]) * vk[j];
    }
    q[static_cast<long>(j) * ldq + i] = sum;
  }
  t.sync();
}

}  // namespace kernels
}  // namespace libextract
