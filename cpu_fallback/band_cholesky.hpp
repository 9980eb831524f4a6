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

// Slots past each column's band that the routines below read, and need to hold 0:
// packed storage has leading dimension ≥ kd + band_padding with its unused slots
// zeroed, or the array is dense (lda = n) and zero outside the band.
constexpr int band_padding = 8;

// A = L·Lᵀ in place, bit for bit what kernels::envelope_cholesky computes (the
// device's factor), vectorised in register tiles. Needs the band_padding zeros in
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

// Selected inverse: C = A⁻¹ inside the band, rows first … n−1, from the factor l,
// bit for bit what kernels::envelope_selected_inverse computes there (inside the
// envelope). Stored as whole symmetric rows: C(k,j), |j − k| ≤ kd, at
// c[(k − first)·band_inverse_width(kd) + (j − k) + kd + inverse_band_pad]; every other
// slot is 0. Needs the band_padding zeros, as band_cholesky.
// sums: scratch of (kd + 16)·8 doubles.
constexpr int inverse_band_pad = 8;
inline long band_inverse_width(int kd) {
  return 2L * kd + 1 + 2 * inverse_band_pad;
}
void band_selected_inverse(const double* l, int n, int lda, int kd, int first, ScratchVector<double>& c,
                           ScratchVector<double>& sums);

// Flops of the two routines above, for the stage reports.
double band_cholesky_flops(int n, int kd);
double band_selected_inverse_flops(int n, int kd, int first);

}  // namespace cpu
}  // namespace libextract
