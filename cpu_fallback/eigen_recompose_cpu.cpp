#include "cpu_fallback/eigen_recompose_cpu.hpp"

#include <algorithm>
#include <cstring>

#include "cpu_fallback/vector_clones.hpp"

namespace libextract {
namespace cpu {

namespace {

constexpr int tile_cols = 8;

// A tile of W rows (one vector register) × nj ≤ 8 columns of Q whose sums stay in
// registers for the whole k loop: lane ii of sum jj adds (V(i0+ii,k)·g_k)·V(j0+jj,k)
// from k = 0 up, an element-wise multiply and add (no fma under the FP contract), so
// each Q(i,j) is the kernel's sum.
template <int W>
LIBEXTRACT_ALWAYS_INLINE void row_tile(const double* v, int ldv, const double* scaled, int n, int i0, int j0,
                                       int nj, double* q, int ldq) {
  Lanes<W> sum[tile_cols];
  for (int jj = 0; jj < tile_cols; ++jj) sum[jj] = Lanes<W>{} * 0.0;
  for (int k = 0; k < n; ++k) {
    Lanes<W> s;
    std::memcpy(&s, scaled + static_cast<long>(k) * n + i0, sizeof s);
    const double* vk = v + static_cast<long>(k) * ldv + j0;
    if (nj == tile_cols) {
      for (int jj = 0; jj < tile_cols; ++jj) sum[jj] = sum[jj] + s * vk[jj];
    } else {
      for (int jj = 0; jj < nj; ++jj) sum[jj] = sum[jj] + s * vk[jj];
    }
  }
  for (int jj = 0; jj < nj; ++jj)
    std::memcpy(q + static_cast<long>(j0 + jj) * ldq + i0, &sum[jj], sizeof(Lanes<W>));
}

// The last rows (fewer than W), element by element in the same order.
LIBEXTRACT_ALWAYS_INLINE void edge_tile(const double* v, int ldv, const double* scaled, int n, int i0, int ni,
                                        int j0, int nj, double* q, int ldq) {
  for (int jj = 0; jj < nj; ++jj) {
    for (int ii = 0; ii < ni; ++ii) {
      double sum = 0.0;
      for (int k = 0; k < n; ++k)
        sum = sum + scaled[static_cast<long>(k) * n + i0 + ii] * v[static_cast<long>(k) * ldv + j0 + jj];
      q[static_cast<long>(j0 + jj) * ldq + i0 + ii] = sum;
    }
  }
}

}  // namespace

template <int W>
LIBEXTRACT_ALWAYS_INLINE void eigen_recompose_columns_body(const double* v, int ldv, const double* g, int n,
                                                           double* q, int ldq, double* scaled) {
  // scaled(i,k) = V(i,k)·g_k, the kernel's first product.
  for (int k = 0; k < n; ++k) {
    const double* vk = v + static_cast<long>(k) * ldv;
    double* sk = scaled + static_cast<long>(k) * n;
    for (int i = 0; i < n; ++i) sk[i] = vk[i] * g[k];
  }
  for (int j0 = 0; j0 < n; j0 += tile_cols) {
    const int nj = std::min(tile_cols, n - j0);
    for (int i0 = 0; i0 < n; i0 += W) {
      const int ni = std::min(W, n - i0);
      if (ni == W) {
        row_tile<W>(v, ldv, scaled, n, i0, j0, nj, q, ldq);
      } else {
        edge_tile(v, ldv, scaled, n, i0, ni, j0, nj, q, ldq);
      }
    }
  }
}

LIBEXTRACT_ISA_VARIANTS(void, eigen_recompose_columns,
                        (const double* v, int ldv, const double* g, int n, double* q, int ldq,
                         double* scaled),
                        (v, ldv, g, n, q, ldq, scaled))

}  // namespace cpu
}  // namespace libextract
