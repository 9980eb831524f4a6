// Dense symmetric positive definite solves restricted to the matrix envelope, run by a
// team (kernels/team.hpp): Cholesky factorisation, the solve with the factor, LAPACK's
// reciprocal condition estimate (DPOCON with DLACN2) and the selected inverse
// (Takahashi's equations) of the entries inside the envelope.
//
// Why the envelope: a patch's iCov couples an unknown only with its neighbours
// (±~13 wavelength bins of its own fibre and of the adjacent fibres), so in the
// fibre-major order row i has no entries left of first[i] ≈ i − nwave − 13. The
// Cholesky factor keeps that envelope exactly (no fill outside it), and the entries
// of C = iCov⁻¹ inside it are computed from L and each other alone. Skipping the
// structural zeros changes no arithmetic: every skipped term is an exact 0 in the
// dense algorithm. Work falls from n³/3 (dense potrf) + 2n³/3 (potri) to about
// 3·n·w² for a half-bandwidth w; with n ≈ 500 and w ≈ 90 that is 10× less.
//
// Storage: one n×n column-major array a (leading dimension lda), A(i,j) = a[j*lda + i].
//  * the input matrix in the lower triangle (i ≥ j) — the layout NormalRowFunctor
//    writes (its row-major upper triangle);
//  * envelope_cholesky overwrites it with L, A = L·Lᵀ;
//  * envelope_selected_inverse writes C(i,j), i < j, into the strict upper triangle
//    (which nothing else uses) and C(i,i) into a separate vector.
// Entries outside the envelope are never read, so they need not be initialised.
//
// Team rules as in team.hpp: each element has one writer per phase and a fixed
// summation order (k increasing), so every team size gives the same bits.
//
// Barriers: on the device these kernels are latency-bound (a phase is one short dot
// product per member, then __syncthreads), so each step of the factorisation, of a
// triangular solve and of the selected inverse is one phase, not two: row i belongs
// to member i mod size for the whole run, so the member that applied every update to
// row i also computes its pivot (or its solution entry) without waiting for a barrier.
// n + O(1) barriers per factorisation, selected inverse and substitution sweep.
#pragma once

#include <cmath>

#include "kernels/hd.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace kernels {

// The first row ≥ lo that member `me` of a team of nt owns (rows i with i mod nt == me).
LIBEXTRACT_HD int first_owned_row(int lo, int me, int nt) {
  return lo + ((me - lo % nt) % nt + nt) % nt;
}

// first[i]: the smallest j ≤ i with A(i,j) != 0, lowered to the start of i's group
// ((i / group)·group) so that every diagonal group×group block lies inside the
// envelope (the per-fibre blocks C_bb are read from it); group ≤ 0: no lowering.
// Ends with a sync.
template <class Team>
LIBEXTRACT_HD void envelope_rows(const Team& t, const double* a, int lda, int n, int group, int* first) {
  for (int i = t.rank(); i < n; i += t.size()) {
    int f = i;
    for (int j = 0; j < i; ++j) {
      if (a[static_cast<long>(j) * lda + i] != 0.0) {
        f = j;
        break;
      }
    }
    if (group > 0) {
      const int g = (i / group) * group;
      if (g < f) f = g;
    }
    first[i] = f;
  }
  t.sync();
}

// last[j] = max{ i ≥ j : first[i] ≤ j } (the lowest row of column j's envelope).
// Ends with a sync.
template <class Team>
LIBEXTRACT_HD void envelope_columns(const Team& t, const int* first, int n, int* last) {
  for (int j = t.rank(); j < n; j += t.size()) {
    int l = j;
    for (int i = n - 1; i > j; --i) {
      if (first[i] <= j) {
        l = i;
        break;
      }
    }
    last[j] = l;
  }
  t.sync();
}

// Cholesky A = L·Lᵀ in place (left-looking, column by column):
//   L(j,j) = sqrt(A(j,j) − Σ_k L(j,k)²),  L(i,j) = (A(i,j) − Σ_k L(i,k)·L(j,k)) / L(j,j).
// One phase per column j: the owners of rows i > j compute L(i,j), and the owner of
// row j + 1, whose row is then complete left of the diagonal, computes L(j+1,j+1).
// Returns 0, or (like LAPACK's info) the 1-based column whose pivot is not positive
// (or NaN); every member returns the same value. Ends with a sync.
template <class Team>
LIBEXTRACT_HD int envelope_cholesky(const Team& t, double* a, int lda, int n, const int* first,
                                    const int* last, TeamShared* sh) {
  const int me = t.rank(), nt = t.size();
  // A failed pivot j is reported in failed(j) = j + 1 (else 0). Pivot j + 1 is found in
  // the phase that begins with everyone reading failed(j), so the two alternate slots.
  auto failed = [&](int j) -> int& { return sh->i[(j & 1) != 0 ? 6 : 0]; };
  // L(j,j) from row j's entries (all written by this member, row j's owner).
  auto pivot = [&](int j) {
    double* colj = a + static_cast<long>(j) * lda;
    double dot = 0.0;
    for (int k = first[j]; k < j; ++k) {
      const double ljk = a[static_cast<long>(k) * lda + j];
      dot = dot + ljk * ljk;
    }
    const double d = colj[j] - dot;
    if (d > 0.0) {
      colj[j] = sqrt(d);
    } else {
      failed(j) = j + 1;
    }
  };
  if (me == 0) {
    failed(0) = 0;
    failed(1) = 0;
  }
  t.sync();
  if (n > 0 && me == 0) pivot(0);  // row 0 belongs to member 0
  for (int j = 0; j < n; ++j) {
    t.sync();  // L(j,j) (or its failure) and column j − 1 are visible
    const int info = failed(j);
    if (info != 0) return info;  // nobody writes this slot again before the caller's next sync
    double* colj = a + static_cast<long>(j) * lda;
    const double ljj = colj[j];
    const int fj = first[j];
    for (int i = first_owned_row(j + 1, me, nt); i <= last[j]; i += nt) {
      if (first[i] > j) continue;
      const int k0 = first[i] > fj ? first[i] : fj;
      double dot = 0.0;
      for (int k = k0; k < j; ++k) {
        const double* colk = a + static_cast<long>(k) * lda;
        dot = dot + colk[i] * colk[j];
      }
      colj[i] = (colj[i] - dot) / ljj;
    }
    if (j + 1 < n && (j + 1) % nt == me) pivot(j + 1);
  }
  t.sync();
  return 0;
}

// b <- (L·Lᵀ)⁻¹·b with the factor of envelope_cholesky (forward then backward
// substitution, column-oriented: the terms of each b_i are subtracted in the order
// of the columns). Entry i belongs to member i mod size, which subtracts every term
// from it and then divides it, so each step is one phase. Ends with a sync.
template <class Team>
LIBEXTRACT_HD void envelope_solve(const Team& t, const double* a, int lda, int n, const int* first,
                                  const int* last, double* b) {
  const int me = t.rank(), nt = t.size();
  for (int j = 0; j < n; ++j) {  // L·y = b
    const double* colj = a + static_cast<long>(j) * lda;
    if (j % nt == me) b[j] = b[j] / colj[j];
    t.sync();
    // y_j is read inside the loop only: the backward sweep's first step rewrites b[n−1]
    // with no barrier after the last forward step, whose loop is empty.
    for (int i = first_owned_row(j + 1, me, nt); i <= last[j]; i += nt) {
      if (first[i] <= j) b[i] = b[i] - colj[i] * b[j];
    }
  }
  for (int i = n - 1; i >= 0; --i) {  // Lᵀ·x = y
    const double* coli_row = a + i;   // L(i,m) = a[m*lda + i]
    if (i % nt == me) b[i] = b[i] / a[static_cast<long>(i) * lda + i];
    t.sync();
    for (int m = first_owned_row(first[i], me, nt); m < i; m += nt) {
      b[m] = b[m] - coli_row[static_cast<long>(m) * lda] * b[i];
    }
  }
  t.sync();
}

// Reciprocal condition number in the 1-norm of A = L·Lᵀ, as LAPACK's DPOCON computes
// it: (1/‖A⁻¹‖₁)/anorm with ‖A⁻¹‖₁ from Higham's estimator DLACN2 (its exact steps:
// start 1/n, sign vectors, at most 5 iterations, the alternating-sign final test).
// DLATRS's overflow scaling is not reproduced (it acts only near the overflow
// threshold). x, sign: n doubles of team-visible workspace. Ends with a sync.
//
// envelope_rcond_with takes the solve as a callable, solve(x): x <- A⁻¹·x in place,
// ending with a sync; a launcher may pass its own variant of envelope_solve as long as
// it gives envelope_solve's bits (the CPU's band substitution does).
template <class Team, class Solve>
LIBEXTRACT_HD double envelope_rcond_with(const Team& t, const Solve& solve, int n, double anorm, double* x,
                                         double* sign, TeamShared* sh) {
  const int me = t.rank(), nt = t.size();
  if (n == 0) return 1.0;
  if (anorm == 0.0) return 0.0;
  for (int i = me; i < n; i += nt) x[i] = 1.0 / static_cast<double>(n);
  t.sync();
  solve(x);
  double est;
  if (n == 1) {
    est = fabs(x[0]);
  } else {
    // First iteration: x = sign(A⁻¹·(1/n)), then A⁻ᵀ·x.
    if (me == 0) {
      double sum = 0.0;
      for (int i = 0; i < n; ++i) sum = sum + fabs(x[i]);
      for (int i = 0; i < n; ++i) {
        x[i] = x[i] >= 0.0 ? 1.0 : -1.0;
        sign[i] = x[i];
      }
      sh->d[0] = sum;
    }
    t.sync();
    est = sh->d[0];
    solve(x);
    if (me == 0) {
      int jmax = 0;
      for (int i = 1; i < n; ++i)
        if (fabs(x[i]) > fabs(x[jmax])) jmax = i;
      sh->i[1] = jmax;
    }
    t.sync();
    int j = sh->i[1];
    int iter = 2;
    for (;;) {
      for (int i = me; i < n; i += nt) x[i] = (i == j) ? 1.0 : 0.0;
      t.sync();
      solve(x);
      if (me == 0) {
        const double estold = sh->d[0];
        double sum = 0.0;
        for (int i = 0; i < n; ++i) sum = sum + fabs(x[i]);
        bool repeated = true;
        for (int i = 0; i < n; ++i) {
          const double xs = x[i] >= 0.0 ? 1.0 : -1.0;
          if (xs != sign[i]) {
            repeated = false;
            break;
          }
        }
        const bool stop = repeated || sum <= estold;
        if (!stop) {
          for (int i = 0; i < n; ++i) {
            x[i] = x[i] >= 0.0 ? 1.0 : -1.0;
            sign[i] = x[i];
          }
        }
        sh->d[0] = sum;
        sh->i[2] = stop ? 1 : 0;
      }
      t.sync();
      est = sh->d[0];
      if (sh->i[2]) break;
      solve(x);
      if (me == 0) {
        const int jlast = j;
        int jmax = 0;
        for (int i = 1; i < n; ++i)
          if (fabs(x[i]) > fabs(x[jmax])) jmax = i;
        const bool again = (x[jlast] != fabs(x[jmax])) && iter < 5;
        sh->i[1] = jmax;
        sh->i[2] = again ? 1 : 0;
      }
      t.sync();
      j = sh->i[1];
      const bool again = sh->i[2] != 0;
      t.sync();  // all have read i[1], i[2] before rank 0 may write them again
      if (!again) break;
      ++iter;
    }
    // Final stage: x_i = ±(1 + i/(n−1)), alternating signs.
    for (int i = me; i < n; i += nt) {
      const double mag = 1.0 + static_cast<double>(i) / static_cast<double>(n - 1);
      x[i] = (i % 2 == 0) ? mag : -mag;
    }
    t.sync();
    solve(x);
    if (me == 0) {
      double sum = 0.0;
      for (int i = 0; i < n; ++i) sum = sum + fabs(x[i]);
      const double temp = 2.0 * (sum / static_cast<double>(3 * n));
      if (temp > sh->d[0]) sh->d[0] = temp;
    }
    t.sync();
    est = sh->d[0];
  }
  t.sync();  // all have read sh before anyone reuses it
  return est != 0.0 ? (1.0 / est) / anorm : 0.0;
}

template <class Team>
LIBEXTRACT_HD double envelope_rcond(const Team& t, const double* a, int lda, int n, const int* first,
                                    const int* last, double anorm, double* x, double* sign, TeamShared* sh) {
  return envelope_rcond_with(
      t, [&](double* b) { envelope_solve(t, a, lda, n, first, last, b); }, n, anorm, x, sign, sh);
}

// Selected inverse: C = A⁻¹ at every envelope position (i < j with first[j] ≤ i, and
// the diagonal), from the factor alone (Takahashi's equations Lᵀ·C = L⁻¹, whose upper
// part reads, for i from n−1 down to 0:
//   C(i,j) = −(Σ_{k>i} L(k,i)·C(k,j)) / L(i,i)          for j > i,
//   C(i,i) = (1/L(i,i) − Σ_{k>i} L(k,i)·C(k,i)) / L(i,i),
// with k over column i's envelope; every C(k,j) these need lies inside the envelope
// and was computed at an earlier step). The sums run from k = last[i] down to i + 1:
// then the terms of rows far below come first, so a CPU launcher can sum them for a
// block of rows at once before the block's own rows are known, in the same order
// (cpu_fallback/band_cholesky.cpp). C(i,j), i < j, goes to a[j*lda + i] (the
// strict upper triangle), C(i,i) to cdiag[i]. One phase per row: row i's off-diagonal
// entries, and C(i+1,i+1) by member 0, which is also the member that computes
// C(i,i+1), the one entry of row i that needs it. Ends with a sync.
template <class Team>
LIBEXTRACT_HD void envelope_selected_inverse(const Team& t, double* a, int lda, int n, const int* first,
                                             const int* last, double* cdiag) {
  const int me = t.rank(), nt = t.size();
  auto diagonal = [&](int i) {  // C(i,i) from row i of C
    const double* coli = a + static_cast<long>(i) * lda;
    const double lii = coli[i];
    double sum = 0.0;
    for (int k = last[i]; k > i; --k) {
      if (first[k] > i) continue;
      sum = sum + coli[k] * a[static_cast<long>(k) * lda + i];
    }
    cdiag[i] = (1.0 / lii - sum) / lii;
  };
  for (int i = n - 1; i >= 0; --i) {
    const double* coli = a + static_cast<long>(i) * lda;  // L(k,i) = coli[k]
    const double lii = coli[i];
    const int li = last[i];
    if (me == 0 && i + 1 < n) diagonal(i + 1);
    for (int j = i + 1 + me; j <= li; j += nt) {
      if (first[j] > i) continue;
      double sum = 0.0;
      for (int k = li; k > i; --k) {
        if (first[k] > i) continue;
        double ckj;
        if (k < j) {
          ckj = a[static_cast<long>(j) * lda + k];
        } else if (k == j) {
          ckj = cdiag[j];
        } else {
          ckj = a[static_cast<long>(k) * lda + j];
        }
        sum = sum + coli[k] * ckj;
      }
      a[static_cast<long>(j) * lda + i] = -sum / lii;
    }
    t.sync();
  }
  if (me == 0 && n > 0) diagonal(0);
  t.sync();
}

// C(i,j) of the selected inverse for any i, j inside the envelope.
LIBEXTRACT_HD double selected_inverse_at(const double* a, int lda, const double* cdiag, int i, int j) {
  if (i == j) return cdiag[i];
  const int lo = i < j ? i : j, hi = i < j ? j : i;
  return a[static_cast<long>(hi) * lda + lo];
}

}  // namespace kernels
}  // namespace libextract
