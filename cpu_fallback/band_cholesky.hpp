// Banded symmetric positive definite algebra for the CPU patch solve, on a dense
// column-major n×n array (A(i,j) = a[j*lda + i], lower triangle, i ≥ j).
//
// Why: in the fibre-major order of a patch, iCov couples an unknown only with its
// neighbours (its own fibre's and the adjacent fibres' spots that overlap its own),
// so every nonzero lies within kd ≈ nwave + 13 of the diagonal. The Cholesky factor
// keeps that band exactly (no fill outside it), and the entries of C = iCov⁻¹ inside
// the band, which hold every per-fibre covariance block, follow from the factor alone
// (Takahashi's equations). With n ≈ 500 and kd ≈ 90 this is several times less work
// than a dense factorisation plus an inverse, and it runs as level-3 BLAS on
// nb-column blocks. Entries outside the band are never read and never written.
#pragma once

#include "cpu_fallback/scratch_vector.hpp"

namespace libextract {
namespace cpu {

// A = L·Lᵀ in place, bit for bit what kernels::envelope_cholesky computes (the
// device's factor), vectorised in 8×8 register tiles. Needs lda ≥ kd + 8 and zeros in
// the slots past each column's band (packed storage from zeroed memory, or a dense
// array that is zero outside the band). Returns 0, or the 1-based column whose pivot
// is not positive or NaN (LAPACK's info). work: scratch of (kd + 8)·8 doubles.
int band_cholesky(double* a, int n, int lda, int kd, ScratchVector<double>& work);

// The factor's rows, contiguous: rows[i·(kd+1) + (m − i + kd)] = L(i,m) for
// max(0, i−kd) ≤ m ≤ i (n·(kd+1) doubles; slots left of column 0 are not written).
void band_factor_rows(const double* l, int n, int lda, int kd, double* rows);

// b ← (L·Lᵀ)⁻¹·b with the factor of band_cholesky and its rows (band_factor_rows),
// bit for bit what kernels::envelope_solve computes on the band.
void band_cholesky_solve(const double* l, int n, int lda, int kd, const double* rows, double* b);

// Selected inverse: C(i,j) = (A⁻¹)(i,j) for every i ≥ j ≥ first with i − j ≤ kd (and
// the rest of each nb-row step's rectangle), written into the lower triangle of c
// (ldc), from the factor l. Rows above `first` are not computed: the recurrences run
// from the last row upwards and stop there. work: (kd + nb)·nb doubles.
// Returns 0, or non-zero when a diagonal block of the factor is singular.
int band_selected_inverse(const double* l, int n, int lda, int kd, int nb, int first, double* c, int ldc,
                          ScratchVector<double>& work);

// Flops of the two routines above, for the stage reports.
double band_cholesky_flops(int n, int kd, int nb);
double band_selected_inverse_flops(int n, int kd, int nb, int first);

}  // namespace cpu
}  // namespace libextract
