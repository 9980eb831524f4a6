// Eigen-decomposition of the small symmetric matrices of the CPU backend (the per-fibre
// covariance blocks, n ≈ 40-80, five per patch, ~25 000 per frame).
//
// Why our own: for n this small LAPACK's dsyevd spends most of its time in the
// divide-and-conquer bookkeeping and its dsteqr applies rotations one column pair at
// a time through unvectorised reference code. Here: LAPACK's Householder
// tridiagonalisation (dsytrd + dorgtr), then implicit QL with Wilkinson shifts
// (LAPACK dsteqr's splitting test, and its QL-versus-QR choice for graded matrices,
// made once by reversing the order) whose rotations update the eigenvector columns in
// contiguous, vectorisable loops. About 1.3× dsyevd at n = 74; accuracy
// is that of any backward-stable method (residuals ~ε‖A‖).
#pragma once

#include "cpu_fallback/scratch_vector.hpp"

namespace libextract {
namespace cpu {

struct SymmetricEigenWorkspace {
  ScratchVector<double> tau, e, work;
};

// A = U·diag(w)·Uᵀ for the symmetric n×n matrix whose lower triangle is in `a`
// (column-major, leading dimension lda); on return `a` holds U (columns are the
// eigenvectors) and w the eigenvalues in ascending order. Returns 0, or non-zero when
// the QL iteration does not converge (30·n sweeps, LAPACK's limit).
int symmetric_eigen(double* a, int n, int lda, double* w, SymmetricEigenWorkspace& ws);

}  // namespace cpu
}  // namespace libextract
