#include "cpu_fallback/symmetric_eigen.hpp"

#include <algorithm>
#include <cmath>

#include "cpu_fallback/vector_clones.hpp"
#include "kernels/householder_tridiagonal.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace cpu {

namespace {

constexpr double eps = 1.1102230246251565e-16;  // LAPACK's dlamch('E')
constexpr double safmin = 2.2250738585072014e-308;

// √(a² + b²) without the cost of std::hypot where no overflow or underflow is possible.
inline double pythag(double a, double b) {
  const double m = std::max(std::fabs(a), std::fabs(b));
  if (m > 1e150 || m < 1e-150) return std::hypot(a, b);
  return std::sqrt(a * a + b * b);
}

// z(:,i), z(:,i+1) ← rotation of the two columns. Element-wise operations only, so
// every instruction set gives the same bits (-ffp-contract=off forbids fma).
inline void rotate_columns(double* __restrict zi, double* __restrict zi1, int n, double c, double s) {
  for (int k = 0; k < n; ++k) {
    const double t = zi1[k];
    zi1[k] = s * zi[k] + c * t;
    zi[k] = c * zi[k] - s * t;
  }
}

// Implicit QL with Wilkinson shifts on the tridiagonal (d, e), e[i] coupling i and
// i + 1, accumulating the rotations into the columns of z. Cloned per instruction set
// so that the rotations use the widest vectors the machine has.
template <int W>
LIBEXTRACT_ALWAYS_INLINE int tridiagonal_ql_body(int n, double* d, double* e, double* z, int ldz) {
  const double eps2 = eps * eps;
  const int max_iter = 30 * n;
  int iter = 0;
  for (int l = 0; l < n; ++l) {
    for (;;) {
      int m = l;
      for (; m < n - 1; ++m) {  // dsteqr's test for a negligible off-diagonal element
        const double tst = e[m] * e[m];
        if (tst <= (eps2 * std::fabs(d[m])) * std::fabs(d[m + 1]) + safmin) break;
      }
      if (m < n - 1) e[m] = 0.0;
      if (m == l) break;
      if (++iter > max_iter) return l + 1;
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
      double r = pythag(g, 1.0);
      g = d[m] - d[l] + e[l] / (g + std::copysign(r, g));
      double s = 1.0, c = 1.0, p = 0.0;
      int i = m - 1;
      for (; i >= l; --i) {
        const double f = s * e[i];
        const double b = c * e[i];
        r = pythag(f, g);
        e[i + 1] = r;
        if (r == 0.0) {  // underflow: split here and retry
          d[i + 1] -= p;
          e[m] = 0.0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        rotate_columns(z + static_cast<long>(i) * ldz, z + static_cast<long>(i + 1) * ldz, n, c, s);
      }
      if (r == 0.0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0.0;
    }
  }
  return 0;
}

LIBEXTRACT_ISA_VARIANTS(int, tridiagonal_ql, (int n, double* d, double* e, double* z, int ldz),
                        (n, d, e, z, ldz))

// The kernels' Householder reduction and formation of Q on a one-member team, every
// call inlined into each vector clone (flatten) so the dot products and updates use
// the widest vectors the machine has; the bits are the kernels' on every ISA.
template <int W>
LIBEXTRACT_ALWAYS_INLINE void tridiagonalize_body(double* a, int n, int lda, double* d,
                                                  SymmetricEigenWorkspace& ws, double* q) {
  const kernels::SerialTeam serial;
  kernels::householder_tridiagonalize(serial, a, lda, n, d, ws.e.data(), ws.tau.data(), ws.work.data());
  kernels::householder_form_q(serial, a, lda, n, ws.tau.data(), q, n);
}

LIBEXTRACT_ISA_VARIANTS(void, tridiagonalize,
                        (double* a, int n, int lda, double* d, SymmetricEigenWorkspace& ws, double* q),
                        (a, n, lda, d, ws, q))

}  // namespace

int symmetric_eigen(double* a, int n, int lda, double* w, SymmetricEigenWorkspace& ws) {
  if (n <= 0) return 0;
  ws.tau.resize(static_cast<std::size_t>(n));
  ws.e.resize(static_cast<std::size_t>(n));
  ws.work.resize(static_cast<std::size_t>(n));
  ws.q.resize(static_cast<std::size_t>(n) * n);
  for (int j = 0; j < n; ++j)  // the upper triangle from the lower: the reduction uses both
    for (int i = j + 1; i < n; ++i) a[static_cast<long>(i) * lda + j] = a[static_cast<long>(j) * lda + i];
  tridiagonalize(a, n, lda, w, ws, ws.q.data());
  double* z = ws.q.data();  // Q, then Q·Z
  const int ldz = n;
  ws.e[n - 1] = 0.0;
  // dsteqr runs QR instead of QL when the matrix is graded the other way (smaller
  // diagonal at the bottom); reversing the order of T (and of U's columns) is the same.
  if (std::fabs(w[n - 1]) < std::fabs(w[0])) {
    std::reverse(w, w + n);
    std::reverse(ws.e.begin(), ws.e.begin() + (n - 1));
    for (int i = 0, j = n - 1; i < j; ++i, --j) {
      std::swap_ranges(z + static_cast<long>(i) * ldz, z + static_cast<long>(i) * ldz + n,
                       z + static_cast<long>(j) * ldz);
    }
  }
  const int info = tridiagonal_ql(n, w, ws.e.data(), z, ldz);
  if (info != 0) return info;
  // Ascending order, by selection (as dsteqr sorts).
  for (int i = 0; i < n - 1; ++i) {
    int k = i;
    for (int j = i + 1; j < n; ++j)
      if (w[j] < w[k]) k = j;
    if (k != i) {
      std::swap(w[i], w[k]);
      std::swap_ranges(z + static_cast<long>(i) * ldz, z + static_cast<long>(i) * ldz + n,
                       z + static_cast<long>(k) * ldz);
    }
  }
  for (int j = 0; j < n; ++j) std::copy_n(z + static_cast<long>(j) * ldz, n, a + static_cast<long>(j) * lda);
  return 0;
}

}  // namespace cpu
}  // namespace libextract
