// The eigen stage's team kernels (kernels/symmetric_eigen.hpp) on a one-member team,
// compiled per vector instruction set: the per-fibre covariance blocks (n ≈ 40-80,
// five per patch, ~25 000 per frame) and the decorrelate mode's whole patches. The
// arithmetic is the kernels' (the device's), so every ISA and the GPU give the same
// bits; the clones only let the compiler use wider vectors for the element-wise
// updates and the fixed-association dot products.
#pragma once

#include "cpu_fallback/scratch_vector.hpp"

namespace libextract {
namespace cpu {

struct SymmetricEigenWorkspace {
  ScratchVector<double> work, z;
};

// kernels::symmetric_eigen: A = U·diag(w)·Uᵀ for the symmetric n×n matrix whose lower
// triangle is in `a` (column-major, lda); on return `a` holds U and w the eigenvalues
// in ascending order. Returns 0, or non-zero when the QL iteration does not converge.
int symmetric_eigen(double* a, int n, int lda, double* w, SymmetricEigenWorkspace& ws);

}  // namespace cpu
}  // namespace libextract
