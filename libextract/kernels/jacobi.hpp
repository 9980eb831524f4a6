// Two-sided cyclic Jacobi eigensolver for one dense symmetric matrix, run by a team
// (kernels/team.hpp). Used by the CUDA backend for the per-fibre blocks C_bb (n = 43-75,
// tens of thousands per frame, one CUDA block per matrix) and for the whole-patch
// iCov^(1/2) of --decorrelate-fibers; executed on the CPU by tests/test_jacobi_kernel.cpp.
//
// Ordering: the round-robin ("circle") schedule. A sweep is m-1 rounds (m = n rounded
// up to even; an odd n gets a dummy index that never rotates); a round rotates m/2
// disjoint pairs (p, q), so its rotations commute and are applied all at once, in two
// phases (two barriers per round: a round is latency-bound on the device):
//   phase 1  each pair computes its rotation (c, s) from A(p,p), A(q,q), A(p,q)
//   phase 2  A <- Jᵀ·(A·J), then A(p,q) = A(q,p) = 0 exactly, and V <- V·J. A's
//            update is done per 2×2 block (rows of one pair × columns of another):
//            the block's four entries depend only on each other, so one member
//            computes the column rotation A·J and then the row rotation Jᵀ·(·) of its
//            block, the same operations in the same order as two separate sweeps
//            over columns and rows would.
// Every element is written by one team member per phase, in a fixed order, so the
// result is independent of the team size. A pair rotates only while
// |A(p,q)| > eps·sqrt|A(p,p)|·sqrt|A(q,q)| (the relative criterion of Demmel & Veselić:
// small eigenvalues of the positive definite blocks keep their relative accuracy);
// the solver stops after the first sweep without a rotation.
//
// Rotation (Rutishauser): θ = (A(q,q) − A(p,p)) / (2·A(p,q)),
// t = sign(θ) / (|θ| + sqrt(θ² + 1)), c = 1/sqrt(t² + 1), s = t·c.
#pragma once

#include <cmath>  // sqrt, fabs: correctly rounded / exact on host and device

#include "kernels/hd.hpp"

namespace libextract {
namespace kernels {

// Doubles of rotation workspace jacobi_eigh needs for an n×n matrix (it is reused for
// n eigenvalue factors afterwards, hence at least n).
LIBEXTRACT_HD int jacobi_workspace_size(int n) {
  const int m = n + (n & 1);
  return 4 * (m / 2) > n ? 4 * (m / 2) : n;
}

// Pair k of round r of the circle schedule over m (even) indices, with p < q.
LIBEXTRACT_HD void jacobi_pair(int k, int r, int m, int* p, int* q) {
  int a, b;
  if (k == 0) {
    a = r;
    b = m - 1;
  } else {
    a = (r + k) % (m - 1);
    b = (r - k + (m - 1)) % (m - 1);
  }
  *p = a < b ? a : b;
  *q = a < b ? b : a;
}

// Rotation that annihilates A(p,q); returns false (c = 1, s = 0) when the pair is
// already below the relative threshold.
LIBEXTRACT_HD bool jacobi_rotation(double app, double aqq, double apq, double* c, double* s) {
  const double eps = 2.220446049250313e-16;
  *c = 1.0;
  *s = 0.0;
  const double threshold = eps * sqrt(fabs(app)) * sqrt(fabs(aqq));
  if (!(fabs(apq) > threshold)) return false;  // also a NaN entry: never rotate on NaN
  const double theta = (aqq - app) / (2.0 * apq);
  double t;
  if (fabs(theta) > 1e150) {
    t = 0.5 / theta;  // θ² would overflow; t ≈ 1/(2θ) to full precision
  } else {
    t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0));
    if (theta < 0.0) t = -t;
  }
  *c = 1.0 / sqrt(t * t + 1.0);
  *s = t * *c;
  return true;
}

// (x, y) <- (c·x − s·y, s·x + c·y): the plane rotation of two entries.
LIBEXTRACT_HD void rotate_pair(double c, double s, double* x, double* y) {
  const double x0 = *x, y0 = *y;
  *x = c * x0 - s * y0;
  *y = s * x0 + c * y0;
}

// Eigendecomposition A = V·diag(λ)·Vᵀ of the symmetric n×n matrix a (column-major,
// leading dimension lda, both triangles stored).
// [in,out] a      on exit its diagonal holds the eigenvalues (unsorted); the
//                 off-diagonal is what the sweeps left (below the threshold)
// [out]    v      eigenvectors as columns, leading dimension ldv
// [work]   rot    jacobi_workspace_size(n) doubles visible to the whole team:
//                 per pair of the round (c, s, p, q), p = -1 when it does not rotate
// [work]   flag   one int visible to the whole team
// Returns the number of sweeps (the last one without rotations), or -1 when
// max_sweeps did not converge. Every team member returns the same value.
template <class Team>
LIBEXTRACT_HD int jacobi_eigh(const Team& t, double* a, int lda, int n, double* v, int ldv, double* rot,
                              int* flag, int max_sweeps) {
  const int me = t.rank(), nt = t.size();
  for (long e = me; e < static_cast<long>(n) * n; e += nt) {
    const int i = static_cast<int>(e % n), j = static_cast<int>(e / n);
    v[static_cast<long>(j) * ldv + i] = (i == j) ? 1.0 : 0.0;
  }
  t.sync();
  if (n <= 1) return 0;
  const int m = n + (n & 1);
  const int npairs = m / 2;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    if (me == 0) *flag = 0;
    t.sync();
    for (int r = 0; r < m - 1; ++r) {
      for (int k = me; k < npairs; k += nt) {
        int p, q;
        jacobi_pair(k, r, m, &p, &q);
        double c = 1.0, s = 0.0;
        bool active = false;
        if (q < n) {
          active = jacobi_rotation(a[static_cast<long>(p) * lda + p], a[static_cast<long>(q) * lda + q],
                                   a[static_cast<long>(q) * lda + p], &c, &s);
        }
        double* rk = rot + 4 * k;
        rk[0] = c;
        rk[1] = s;
        rk[2] = active ? static_cast<double>(p) : -1.0;
        rk[3] = static_cast<double>(q);
        if (active) t.raise_flag(flag, 1);
      }
      t.sync();
      // A <- Jᵀ·(A·J) per 2×2 block, then the pair's own A(p,q), A(q,p) = 0; V <- V·J
      // per row of a pair's two columns. Tasks: npairs² blocks, then npairs·n rows.
      const long nblocks = static_cast<long>(npairs) * npairs;
      const long ntasks = nblocks + static_cast<long>(npairs) * n;
      for (long e = me; e < ntasks; e += nt) {
        if (e < nblocks) {
          const int kr = static_cast<int>(e % npairs), kc = static_cast<int>(e / npairs);
          const double* rr = rot + 4 * kr;
          const double* rc = rot + 4 * kc;
          const bool row_turns = rr[2] >= 0.0, col_turns = rc[2] >= 0.0;
          if (!row_turns && !col_turns) continue;
          int pr, qr, pc, qc;
          jacobi_pair(kr, r, m, &pr, &qr);
          jacobi_pair(kc, r, m, &pc, &qc);
          const bool has_qr = qr < n, has_qc = qc < n;                      // q = n: the dummy index of odd n
          double* ap = a + static_cast<long>(pc) * lda;                     // column pc
          double* aq = has_qc ? a + static_cast<long>(qc) * lda : nullptr;  // column qc
          // b[row][col]: the block, rows (pr, qr) × columns (pc, qc).
          double b00 = ap[pr], b01 = has_qc ? aq[pr] : 0.0;
          double b10 = has_qr ? ap[qr] : 0.0, b11 = has_qr && has_qc ? aq[qr] : 0.0;
          if (col_turns) {  // A·J on columns pc, qc (both exist)
            rotate_pair(rc[0], rc[1], &b00, &b01);
            if (has_qr) rotate_pair(rc[0], rc[1], &b10, &b11);
          }
          if (row_turns) {  // Jᵀ·A on rows pr, qr (both exist)
            rotate_pair(rr[0], rr[1], &b00, &b10);
            if (has_qc) rotate_pair(rr[0], rr[1], &b01, &b11);
            if (kr == kc) {  // the pair's own off-diagonal entries, annihilated exactly
              b01 = 0.0;
              b10 = 0.0;
            }
          }
          ap[pr] = b00;
          if (has_qc) aq[pr] = b01;
          if (has_qr) ap[qr] = b10;
          if (has_qr && has_qc) aq[qr] = b11;
        } else {
          const long f = e - nblocks;
          const int k = static_cast<int>(f / n), i = static_cast<int>(f % n);
          const double* rk = rot + 4 * k;
          if (rk[2] < 0.0) continue;
          const int p = static_cast<int>(rk[2]), q = static_cast<int>(rk[3]);
          rotate_pair(rk[0], rk[1], v + static_cast<long>(p) * ldv + i, v + static_cast<long>(q) * ldv + i);
        }
      }
      t.sync();
    }
    const bool done = (*flag == 0);
    t.sync();  // everyone has read the flag before it is reset
    if (done) return sweep + 1;
  }
  return -1;
}

// Q = V·diag(g)·Vᵀ: Q(i,j) = Σ_k (V(i,k)·g_k)·V(j,k), k increasing, every (i, j)
// computed on its own (so Q is symmetric only to rounding, as a GEMM's would be).
// q must not alias v or g.
template <class Team>
LIBEXTRACT_HD void eigen_recompose(const Team& t, const double* v, int ldv, const double* g, int n, double* q,
                                   int ldq) {
  for (long e = t.rank(); e < static_cast<long>(n) * n; e += t.size()) {
    const int i = static_cast<int>(e % n), j = static_cast<int>(e / n);
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
