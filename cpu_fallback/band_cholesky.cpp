#include "cpu_fallback/band_cholesky.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu_fallback/vector_clones.hpp"

namespace libextract {
namespace cpu {

namespace {

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
// band (band_padding in band_cholesky.hpp).
namespace {

constexpr int chol_block = 8;  // columns per block (the tiles are W rows × 8 columns)
// A tile reads at most this many rows past a column's band: W ≤ 8 and chol_block.
static_assert(chol_block <= band_padding, "the tiles read only the zero slots past the band");

}  // namespace

template <int W>
LIBEXTRACT_ALWAYS_INLINE int band_cholesky_body(double* a, int n, int lda, int kd,
                                                ScratchVector<double>& work) {
  const long ld = lda;
  const int span = kd + chol_block;  // rows of a block's band, from its first column down
  work.resize(static_cast<std::size_t>(span) * chol_block);
  double* acc = work.data();  // acc[jj·span + (i − j0)]: the running sum of L(i,k)·L(j0+jj,k)
  for (int j0 = 0; j0 < n; j0 += chol_block) {
    const int jb = std::min(chol_block, n - j0);
    const int iend = std::min(n, j0 + jb - 1 + kd + 1);  // rows of the block's band
    // 1. Columns left of the block.
    int i0 = j0;
    for (; i0 + W <= iend; i0 += W) {
      Lanes<W> sum[chol_block];
      for (int jj = 0; jj < chol_block; ++jj) sum[jj] = Lanes<W>{} * 0.0;
      for (int k = std::max(0, i0 - kd); k < j0; ++k) {
        const double* colk = a + k * ld;
        Lanes<W> lik;
        std::memcpy(&lik, colk + i0, sizeof lik);
        if (jb == chol_block) {
          for (int jj = 0; jj < chol_block; ++jj) sum[jj] = sum[jj] + lik * colk[j0 + jj];
        } else {
          for (int jj = 0; jj < jb; ++jj) sum[jj] = sum[jj] + lik * colk[j0 + jj];
        }
      }
      for (int jj = 0; jj < jb; ++jj) std::memcpy(acc + jj * span + (i0 - j0), &sum[jj], sizeof(Lanes<W>));
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

LIBEXTRACT_ISA_VARIANTS(int, band_cholesky, (double* a, int n, int lda, int kd, ScratchVector<double>& work),
                        (a, n, lda, kd, work))

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
template <int W>
LIBEXTRACT_ALWAYS_INLINE void band_cholesky_solve_body(const double* l, int n, int lda, int kd,
                                                       const double* rows, double* b) {
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

LIBEXTRACT_ISA_VARIANTS(void, band_cholesky_solve,
                        (const double* l, int n, int lda, int kd, const double* rows, double* b),
                        (l, n, lda, kd, rows, b))

// kernels::envelope_selected_inverse's arithmetic on the band, rows from the bottom up
// in blocks I = [i0, i1) of eight: for row i,
//   C(i,j) = −(Σ_{k = i+kd … i+1} L(k,i)·C(k,j)) / L(i,i),
//   C(i,i) = (1/L(i,i) − Σ_{k = i+kd … i+1} L(k,i)·C(i,k)) / L(i,i),
// each sum from 0.0 with k decreasing. For the columns j ≥ i1 the terms of the rows
// below the block (k ≥ i1) come first and need no row of I, so they are summed for
// the whole block in register tiles (eight rows × W columns of j, Lanes<W> over j)
// before the block's rows are known; the rest of each sum (k in I, and every term of
// the columns j in I) follows row by row in the same order. Terms outside the band are
// exact zeros (L(k,i) = 0 for k − i > kd), which change no sum, so the entries are the
// device kernel's inside its envelope.
namespace {
constexpr int inverse_block = 8;  // rows per block: L(k,i) is read up to kd + 7 past i
static_assert(inverse_block <= band_padding, "the tiles read only the zero slots past the band");
}  // namespace

template <int W>
LIBEXTRACT_ALWAYS_INLINE void band_selected_inverse_body(const double* l, int n, int lda, int kd, int first,
                                                         ScratchVector<double>& c,
                                                         ScratchVector<double>& sums_store) {
  const long cw = band_inverse_width(kd);
  const int pad = inverse_band_pad;
  c.assign(static_cast<std::size_t>(std::max(0, n - first)) * cw, 0.0);
  double* base = c.data() - static_cast<long>(first) * cw + kd + pad;  // C(k,j) = base[k·cw + j − k]
  auto crow = [&](int k) { return base + k * cw - k; };                // crow(k)[j] = C(k,j)
  const long ld = lda;
  // Below-block sums of the current block, [row − i0][j − i1], in tiles of 8 columns.
  const int sum_width = ((kd + inverse_block - 1) / inverse_block + 1) * inverse_block;
  sums_store.resize(static_cast<std::size_t>(sum_width) * inverse_block);
  double* sums = sums_store.data();
  for (int i1 = n; i1 > first;) {
    const int i0 = std::max(first, i1 - inverse_block);
    const int ni = i1 - i0;
    const int kmax = std::min(n - 1, i1 - 1 + kd);  // the lowest row any row of I reaches
    const int jhi = kmax;                           // the last column any row of I reaches
    // 1. Terms k = kmax … i1 for the columns j = i1 … jhi (zero-padded past jhi).
    for (int j0 = i1; j0 <= jhi; j0 += W) {
      Lanes<W> sum[inverse_block];
      for (int ii = 0; ii < inverse_block; ++ii) sum[ii] = Lanes<W>{} * 0.0;
      for (int k = kmax; k >= i1; --k) {
        Lanes<W> ckj;
        std::memcpy(&ckj, crow(k) + j0, sizeof ckj);
        const double* lk = l + k;  // lk[i·ld] = L(k,i)
        if (ni == inverse_block) {
          for (int ii = 0; ii < inverse_block; ++ii) sum[ii] = sum[ii] + ckj * lk[(i0 + ii) * ld];
        } else {
          for (int ii = 0; ii < ni; ++ii) sum[ii] = sum[ii] + ckj * lk[(i0 + ii) * ld];
        }
      }
      for (int ii = 0; ii < ni; ++ii)
        std::memcpy(sums + ii * sum_width + (j0 - i1), &sum[ii], sizeof(Lanes<W>));
    }
    // 2. Row by row, bottom up.
    for (int i = i1 - 1; i >= i0; --i) {
      const double* coli = l + i * ld;  // coli[k] = L(k,i)
      const double lii = coli[i];
      const int last = std::min(n - 1, i + kd);
      double* ci = crow(i);
      // Columns inside the block: every term, k = last … i + 1.
      for (int j = i + 1; j < std::min(i1, last + 1); ++j) {
        double sum = 0.0;
        for (int k = last; k > i; --k) sum = sum + coli[k] * crow(k)[j];
        ci[j] = -sum / lii;
        crow(j)[i] = ci[j];
      }
      // Columns below the block: the block's rows' terms after the tiles' sums.
      double* si = sums + (i - i0) * sum_width - i1;  // si[j] for j ≥ i1
      for (int k = i1 - 1; k > i; --k) {
        const double lki = coli[k];
        const double* ck = crow(k);
        for (int j = i1; j <= last; ++j) si[j] = si[j] + lki * ck[j];
      }
      for (int j = i1; j <= last; ++j) {
        ci[j] = -si[j] / lii;
        crow(j)[i] = ci[j];
      }
      double sum = 0.0;
      for (int k = last; k > i; --k) sum = sum + coli[k] * ci[k];
      ci[i] = (1.0 / lii - sum) / lii;
    }
    i1 = i0;
  }
}

LIBEXTRACT_ISA_VARIANTS(void, band_selected_inverse,
                        (const double* l, int n, int lda, int kd, int first, ScratchVector<double>& c,
                         ScratchVector<double>& sums_store),
                        (l, n, lda, kd, first, c, sums_store))

double band_cholesky_flops(int n, int kd) {
  double f = 0.0;
  for (int j = 0; j < n; ++j) {
    const double below = std::min(n - 1 - j, kd);  // entries of column j below the pivot
    const double terms = std::min(j, kd);          // the sums' lengths
    f += 2.0 * (below + 1.0) * terms + below;      // sums, and one division per entry
  }
  return f;
}

double band_selected_inverse_flops(int n, int kd, int first) {
  double f = 0.0;
  for (int i = first; i < n; ++i) {
    const double m = std::min(n - 1 - i, kd);  // entries of row i right of the diagonal
    f += 2.0 * m * (m + 1.0);                  // m sums of m terms, and the diagonal's
  }
  return f;
}

}  // namespace cpu
}  // namespace libextract
