// Eigen-decomposition of the small symmetric matrices of the CPU backend (the per-fibre
// covariance blocks, n ≈ 40-80, five per patch, ~25 000 per frame).
//
// Why our own: for n this small LAPACK's dsyevd spends most of its time in the
// divide-and-conquer bookkeeping and its dsteqr applies rotations one column pair at
// a time through unvectorised reference code, and LAPACK's sums follow whichever BLAS
// kernel the CPU selects. Here: the kernels' Householder tridiagonalisation and
// formation of Q (kernels/householder_tridiagonal.hpp, fixed-order dot products and
// element-wise updates), then implicit QL with Wilkinson shifts (LAPACK dsteqr's
// splitting test, and its QL-versus-QR choice for graded matrices, made once by
// reversing the order) whose rotations update the eigenvector columns in contiguous,
// vectorisable loops. No BLAS call; accuracy is that of any backward-stable method
// (residuals ~ε‖A‖).
#pragma once

#include "cpu_fallback/scratch_vector.hpp"

namespace libextract {
namespace cpu {

struct SymmetricEigenWorkspace {
  ScratchVector<double> tau, e, work, q;
};

// A = U·diag(w)·Uᵀ for the symmetric n×n matrix whose lower triangle is in `a`
// (column-major, leading dimension lda); on return `a` holds U (columns are the
// eigenvectors) and w the eigenvalues in ascending order. Returns 0, or non-zero when
// the QL iteration does not converge (30·n sweeps, LAPACK's limit).
int symmetric_eigen(double* a, int n, int lda, double* w, SymmetricEigenWorkspace& ws);

}  // namespace cpu
}  // namespace libextract
