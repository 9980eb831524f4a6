// Q = V·diag(g)·Vᵀ on the CPU with the bits of kernels::eigen_recompose (the device's
// recomposition): every Q(i,j) = Σ_k (V(i,k)·g_k)·V(j,k), summed from k = 0 up, but
// computed a tile of Q at a time so that the loop over i vectorises. No BLAS call
// decides these bits (a GEMM sums in an order that follows its kernel and, on some
// CPUs, the operands' alignment).
#pragma once

namespace libextract {
namespace cpu {

// v: n×n column-major (ldv), g: n factors, q: n×n column-major (ldq), not aliasing v;
// scaled: n·n doubles of scratch. Computed in 8×8 tiles of Q whose sums stay in
// registers (each sum still adds its terms from k = 0 up).
void eigen_recompose_columns(const double* v, int ldv, const double* g, int n, double* q, int ldq,
                             double* scaled);

}  // namespace cpu
}  // namespace libextract
