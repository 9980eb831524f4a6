#include "cpu_fallback/band_cholesky.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

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

// kernels::envelope_cholesky's arithmetic (left-looking: L(i,j) = (A(i,j) − Σ_k
// L(i,k)·L(j,k)) / L(j,j), the sum from k = 0 up, starting from 0.0), eight columns
// at a time. For a block of columns J = [j0, j0 + 8) and the rows its band reaches:
//  1. the sums over the columns left of the block, in 8×8 tiles held in registers
//     (lane i of sum j adds L(i,k)·L(j,k) for k from the tile's first band column up);
//  2. column by column inside the block, the terms of the block's earlier columns
//     (still k increasing), then the pivot and the column.
// Terms outside the band are exact zeros (L(i,k) = 0 for i − k > kd), which change no
// sum, so starting a tile's k at its top row's band edge gives every element the
// envelope kernel's bits. Those zeros are read from the slots just past each column's
// band: lda ≥ kd + 8, and those slots hold 0 (the packed array's unused slots, or the
// zeros of a dense one).
namespace {

constexpr int chol_block = 8;
static_assert(sizeof(Lanes8) == chol_block * sizeof(double), "one tile row block is one Lanes8");

LIBEXTRACT_ALWAYS_INLINE Lanes8 load8(const double* p) {
  Lanes8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

LIBEXTRACT_VECTOR_CLONES int band_cholesky(double* a, int n, int lda, int kd, ScratchVector<double>& work) {
  const long ld = lda;
  const int span = kd + chol_block;  // rows of a block's band, from its first column down
  work.resize(static_cast<std::size_t>(span) * chol_block);
  double* acc = work.data();  // acc[jj·span + (i − j0)]: the running sum of L(i,k)·L(j0+jj,k)
  for (int j0 = 0; j0 < n; j0 += chol_block) {
    const int jb = std::min(chol_block, n - j0);
    const int iend = std::min(n, j0 + jb - 1 + kd + 1);  // rows of the block's band
    // 1. Columns left of the block.
    int i0 = j0;
    for (; i0 + chol_block <= iend; i0 += chol_block) {
      Lanes8 sum[chol_block];
      for (int jj = 0; jj < chol_block; ++jj) sum[jj] = Lanes8{} * 0.0;
      for (int k = std::max(0, i0 - kd); k < j0; ++k) {
        const double* colk = a + k * ld;
        const Lanes8 lik = load8(colk + i0);
        if (jb == chol_block) {
          for (int jj = 0; jj < chol_block; ++jj) sum[jj] = sum[jj] + lik * colk[j0 + jj];
        } else {
          for (int jj = 0; jj < jb; ++jj) sum[jj] = sum[jj] + lik * colk[j0 + jj];
        }
      }
      for (int jj = 0; jj < jb; ++jj) std::memcpy(acc + jj * span + (i0 - j0), &sum[jj], sizeof(Lanes8));
    }
    for (int i = i0; i < iend; ++i) {  // the last rows, one by one
      for (int jj = 0; jj < jb; ++jj) {
        double sum = 0.0;
        for (int k = std::max(0, i0 - kd); k < j0; ++k) sum = sum + a[k * ld + i] * a[k * ld + j0 + jj];
        acc[jj * span + (i - j0)] = sum;
      }
    }
    // 2. Inside the block.
    for (int jj = 0; jj < jb; ++jj) {
      const int j = j0 + jj;
      const int jend = std::min(n, j + kd + 1);  // column j's band: rows j .. jend − 1
      double* accj = acc + jj * span - j0;       // accj[i] for row i
      for (int k = j0; k < j; ++k) {
        const double* colk = a + k * ld;
        const double ljk = colk[j];
        for (int i = j; i < jend; ++i) accj[i] = accj[i] + colk[i] * ljk;
      }
      double* colj = a + j * ld;
      const double d = colj[j] - accj[j];
      if (!(d > 0.0)) return j + 1;
      const double ljj = std::sqrt(d);
      colj[j] = ljj;
      for (int i = j + 1; i < jend; ++i) colj[i] = (colj[i] - accj[i]) / ljj;
    }
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
