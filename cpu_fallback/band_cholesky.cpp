#include "cpu_fallback/band_cholesky.hpp"

#include <algorithm>

#include "cpu_fallback/lapack.hpp"
#include "cpu_fallback/vector_clones.hpp"

namespace libextract {
namespace cpu {

namespace {

inline double* at(double* a, int lda, int i, int j) {
  return a + static_cast<long>(j) * lda + i;
}
inline const double* at(const double* a, int lda, int i, int j) {
  return a + static_cast<long>(j) * lda + i;
}

}  // namespace

int band_cholesky(double* a, int n, int lda, int kd, int nb) {
  const double one = 1.0, minus_one = -1.0;
  for (int j0 = 0; j0 < n; j0 += nb) {
    const int jb = std::min(nb, n - j0);
    int info = 0;
    dpotrf_("L", &jb, at(a, lda, j0, j0), &lda, &info, 1);
    if (info != 0) return j0 + info;
    // Rows below the block that the block's columns reach: up to (j0 + jb − 1) + kd.
    const int below = j0 + jb;
    const int r = std::min(n, below + kd) - below;
    if (r <= 0) continue;
    dtrsm_("R", "L", "T", "N", &r, &jb, &one, at(a, lda, j0, j0), &lda, at(a, lda, below, j0), &lda, 1, 1, 1,
           1);
    dsyrk_("L", "N", &r, &jb, &minus_one, at(a, lda, below, j0), &lda, &one, at(a, lda, below, below), &lda,
           1, 1);
  }
  return 0;
}

void band_factor_rows(const double* l, int n, int lda, int kd, double* rows) {
  const long width = kd + 1;
  for (int j = 0; j < n; ++j) {
    const double* col = at(l, lda, 0, j);
    const int end = std::min(n, j + kd + 1);
    for (int i = j; i < end; ++i) rows[i * width + (j - i + kd)] = col[i];
  }
}

// kernels::envelope_solve on a one-member team, step for step: the forward sweep
// subtracts column j from the entries below it, the backward sweep row i of L from
// the entries left of it (read from the row copy, so the loop is contiguous). Every
// element's operations and their order are envelope_solve's, so the bits are too
// (the band's entries outside the envelope are exact zeros: b − 0·y = b). Ours rather
// than DPBTRS, whose sums follow whichever BLAS kernel the CPU selects.
LIBEXTRACT_VECTOR_CLONES void band_cholesky_solve(const double* l, int n, int lda, int kd, const double* rows,
                                                  double* b) {
  for (int j = 0; j < n; ++j) {  // L·y = b
    const double* col = at(l, lda, 0, j);
    const double y = b[j] / col[j];
    b[j] = y;
    const int end = std::min(n, j + kd + 1);
    for (int i = j + 1; i < end; ++i) b[i] = b[i] - col[i] * y;
  }
  const long width = kd + 1;
  for (int i = n - 1; i >= 0; --i) {                  // Lᵀ·x = y
    const double* row = rows + i * width + (kd - i);  // row[m] = L(i, m)
    const double x = b[i] / row[i];
    b[i] = x;
    for (int m = std::max(0, i - kd); m < i; ++m) b[m] = b[m] - row[m] * x;
  }
}

// Takahashi's equations by blocks, for a block I of rows/columns and the rows K below
// it that the factor's band reaches (L(k,I) = 0 further down):
//   W = L(K,I)·L(I,I)⁻¹,  C(K,I) = −C(K,K)·W,  C(I,I) = L(I,I)⁻ᵀ·L(I,I)⁻¹ + Wᵀ·C(K,K)·W.
// C(K,K) lies within kd of the diagonal, so earlier (lower) steps have computed it.
int band_selected_inverse(const double* l, int n, int lda, int kd, int nb, int first, double* c, int ldc,
                          ScratchVector<double>& work) {
  const double one = 1.0, zero = 0.0;
  work.resize(static_cast<std::size_t>(kd + nb) * nb);
  for (int i1 = n; i1 > first;) {
    const int i0 = std::max(first, i1 - nb);
    const int jb = i1 - i0;
    const int r = std::min(n - i1, kd);
    // T = L(I,I)⁻¹ in C(I,I)'s place, then C(I,I) = TᵀT.
    for (int j = 0; j < jb; ++j)
      std::copy(at(l, lda, i0 + j, i0 + j), at(l, lda, i1, i0 + j), at(c, ldc, i0 + j, i0 + j));
    double* cii = at(c, ldc, i0, i0);
    int info = 0;
    dtrtri_("L", "N", &jb, cii, &ldc, &info, 1, 1);
    if (info != 0) return info;
    if (r > 0) {
      double* w = work.data();  // r×jb, leading dimension r
      for (int j = 0; j < jb; ++j) std::copy_n(at(l, lda, i1, i0 + j), r, w + static_cast<long>(j) * r);
      dtrmm_("R", "L", "N", "N", &r, &jb, &one, cii, &ldc, w, &r, 1, 1, 1, 1);
      double* cki = at(c, ldc, i1, i0);
      dsymm_("L", "L", &r, &jb, &one, at(c, ldc, i1, i1), &ldc, w, &r, &zero, cki, &ldc, 1,
             1);  // Y = C(K,K)·W
      dlauum_("L", &jb, cii, &ldc, &info, 1);
      // + WᵀY, over the whole jb×jb block: in packed storage its upper triangle lands on
      // slots more than kd + 1 below the diagonal of earlier columns, which nothing reads.
      dgemm_("T", "N", &jb, &jb, &r, &one, w, &r, cki, &ldc, &one, cii, &ldc, 1, 1);
      for (int j = 0; j < jb; ++j) {
        double* col = at(c, ldc, i1, i0 + j);
        for (int k = 0; k < r; ++k) col[k] = -col[k];
      }
    } else {
      dlauum_("L", &jb, cii, &ldc, &info, 1);
    }
    i1 = i0;
  }
  return 0;
}

double band_cholesky_flops(int n, int kd, int nb) {
  double f = 0.0;
  for (int j0 = 0; j0 < n; j0 += nb) {
    const double jb = std::min(nb, n - j0);
    const double r = std::min(n, j0 + static_cast<int>(jb) + kd) - (j0 + jb);
    f += jb * jb * jb / 3.0 + r * jb * jb + r * r * jb;
  }
  return f;
}

double band_selected_inverse_flops(int n, int kd, int nb, int first) {
  double f = 0.0;
  for (int i1 = n; i1 > first;) {
    const int i0 = std::max(first, i1 - nb);
    const double jb = i1 - i0;
    const double r = std::min(n - i1, kd);
    f += 2.0 * jb * jb * jb / 3.0 + r * jb * jb + 2.0 * r * r * jb + 2.0 * r * jb * jb;
    i1 = i0;
  }
  return f;
}

}  // namespace cpu
}  // namespace libextract
