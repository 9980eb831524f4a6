// labels: unit
// The CPU backend's banded algebra (cpu_fallback/band_cholesky.hpp) and small symmetric
// eigensolver (cpu_fallback/eigen_cpu.hpp) against dense LAPACK:
//  * band Cholesky = dpotrf inside the band, exact zeros outside, the same info on a
//    matrix that is not positive definite; packed band storage gives the same bits as
//    the dense layout, and both give the device kernel's (envelope_cholesky) bits;
//  * the band solve = dpotrs, and the condition estimate the CPU backend runs on the
//    band (kernels/envelope_cholesky.hpp's envelope_rcond) = dpocon;
//  * the selected inverse = dpotri inside the band, from the first requested row on;
//  * the eigensolver: residual, orthogonality and eigenvalues (vs dsyevd) at a few
//    ε‖A‖, ascending order, on random, graded (both directions), diagonal and tiny
//    matrices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu_fallback/band_cholesky.hpp"
#include "cpu_fallback/eigen_recompose_cpu.hpp"
#include "cpu_fallback/lapack.hpp"
#include "cpu_fallback/eigen_cpu.hpp"
#include "kernels/envelope_cholesky.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"

namespace {

using libextract::cpu::band_cholesky;
using libextract::cpu::band_cholesky_solve;
using libextract::cpu::band_selected_inverse;
namespace lapack = libextract::cpu;  // the dense LAPACK wrappers the band code is checked against

// A symmetric positive definite matrix with half-bandwidth kd (dense, column-major,
// lower triangle filled), shaped like a patch's iCov: a smooth positive kernel
// inside the band, a diagonal just above the off-diagonal row sums, and rows/columns
// scaled over two decades, so κ is ~1e3-1e4.
std::vector<double> banded_spd(int n, int kd, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j) {
    for (int i = j; i <= std::min(n - 1, j + kd); ++i) {
      const double d = i - j;
      a[static_cast<std::size_t>(j) * n + i] = u(rng) * std::exp(-d * d / (0.3 * kd * kd));
    }
  }
  // Diagonal dominance with a spread of scales keeps it SPD but not trivially so.
  for (int i = 0; i < n; ++i) {
    double row = 0.0;
    for (int j = std::max(0, i - kd); j <= std::min(n - 1, i + kd); ++j)
      if (j != i) row += a[static_cast<std::size_t>(std::min(i, j)) * n + std::max(i, j)];
    a[static_cast<std::size_t>(i) * n + i] = row * (1.0 + 1e-4 * (1 + i % 7)) + 1e-6;
  }
  // Rows and columns scaled over two decades, as pixel weights and spot fluxes do.
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i)
      a[static_cast<std::size_t>(j) * n + i] *= std::pow(10.0, std::sin(0.05 * i) + std::sin(0.05 * j));
  return a;
}

// The band of a dense matrix packed with leading dimension lda (A(i,j) at j·lda + i).
std::vector<double> pack(const std::vector<double>& dense, int n, int kd, int lda) {
  std::vector<double> p(static_cast<std::size_t>(n) * (lda + 1), 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = j; i <= std::min(n - 1, j + kd); ++i)
      p[static_cast<std::size_t>(j) * lda + i] = dense[static_cast<std::size_t>(j) * n + i];
  return p;
}

double norm1(const std::vector<double>& a, int n) {
  double best = 0.0;
  for (int j = 0; j < n; ++j) {
    double s = 0.0;
    for (int i = 0; i < n; ++i)
      s += std::fabs(a[static_cast<std::size_t>(std::min(i, j)) * n + std::max(i, j)]);
    best = std::max(best, s);
  }
  return best;
}

struct Shape {
  int n, kd, nb;
  bool ragged = false;  // an envelope narrower than the band in some rows (zeros inside it)
};

class BandAlgebra : public ::testing::TestWithParam<Shape> {};

TEST_P(BandAlgebra, MatchesDenseLapack) {
  const Shape s = GetParam();
  const int n = s.n, kd = s.kd, nb = s.nb;
  ASSERT_GT(n, 0);
  std::vector<double> a = banded_spd(n, kd, 7u + n);
  if (s.ragged) {  // row i starts up to kd/2 columns right of the band's edge
    for (int i = kd; i < n; ++i)
      for (int j = i - kd; j < i - kd + (i * 7) % (kd / 2 + 1); ++j)
        a[static_cast<std::size_t>(j) * n + i] = 0.0;
  }

  std::vector<double> dense = a;
  ASSERT_EQ(lapack::potrf_lower(dense.data(), n), 0);

  std::vector<double> l = a;
  libextract::cpu::ScratchVector<double> chol_work;
  ASSERT_EQ(band_cholesky(l.data(), n, n, kd, chol_work), 0);
  double lmax = 0.0, diff = 0.0;
  for (int j = 0; j < n; ++j) {
    for (int i = j; i < n; ++i) {
      const double ref = dense[static_cast<std::size_t>(j) * n + i];
      const double ours = l[static_cast<std::size_t>(j) * n + i];
      if (i - j > kd) {
        EXPECT_EQ(ours, 0.0) << "fill outside the band at " << i << "," << j;
        continue;
      }
      lmax = std::max(lmax, std::fabs(ref));
      diff = std::max(diff, std::fabs(ours - ref));
    }
  }
  EXPECT_LE(diff, 64 * 2.22e-16 * lmax) << "factor";

  // Packed band storage: the same operations on the same numbers, so the same bits.
  const int lda = kd + nb;
  std::vector<double> packed = pack(a, n, kd, lda);
  ASSERT_EQ(band_cholesky(packed.data(), n, lda, kd, chol_work), 0);
  for (int j = 0; j < n; ++j)
    for (int i = j; i <= std::min(n - 1, j + kd); ++i)
      ASSERT_EQ(packed[static_cast<std::size_t>(j) * lda + i], l[static_cast<std::size_t>(j) * n + i])
          << i << "," << j;

  // The device's factor (kernels::envelope_cholesky on the matrix's own envelope),
  // bit for bit: the band's extra zeros change no sum.
  const libextract::kernels::SerialTeam serial;
  std::vector<double> env = a;
  std::vector<int> env_first(static_cast<std::size_t>(n)), env_last(static_cast<std::size_t>(n));
  libextract::kernels::envelope_rows(serial, env.data(), n, n, 0, env_first.data());
  libextract::kernels::envelope_columns(serial, env_first.data(), n, env_last.data());
  libextract::kernels::TeamShared shared{};
  ASSERT_EQ(libextract::kernels::envelope_cholesky(serial, env.data(), n, n, env_first.data(),
                                                   env_last.data(), &shared),
            0);
  {
    int differing = 0;
    for (int j = 0; j < n; ++j)
      for (int i = j; i <= std::min(n - 1, j + kd); ++i) {
        const double e = env[static_cast<std::size_t>(j) * n + i];
        const double b = l[static_cast<std::size_t>(j) * n + i];
        differing += std::memcmp(&e, &b, sizeof e) != 0 ? 1 : 0;
      }
    EXPECT_EQ(differing, 0) << "band factor = envelope_cholesky's";
  }

  // Solve and condition estimate.
  std::vector<double> b(n), x_ref(n);
  for (int i = 0; i < n; ++i) b[i] = std::sin(0.1 * i) + 1.0;
  x_ref = b;
  ASSERT_EQ(lapack::potrs_lower(dense.data(), n, x_ref.data()), 0);
  std::vector<double> rows(static_cast<std::size_t>(n) * (kd + 1));
  libextract::cpu::band_factor_rows(packed.data(), n, lda, kd, rows.data());
  std::vector<double> x = b;
  band_cholesky_solve(packed.data(), n, lda, kd, rows.data(), x.data());
  double xmax = 0.0, xdiff = 0.0;
  for (int i = 0; i < n; ++i) {
    xmax = std::max(xmax, std::fabs(x_ref[i]));
    xdiff = std::max(xdiff, std::fabs(x[i] - x_ref[i]));
  }
  const double anorm = norm1(a, n);
  const std::size_t un = static_cast<std::size_t>(n);
  std::vector<double> work(3 * un);
  std::vector<int> iwork(un);
  const double rcond_ref = lapack::pocon_lower(dense.data(), n, anorm, work.data(), iwork.data());
  std::vector<int> band_first(un), band_last(un);
  for (int i = 0; i < n; ++i) {
    band_first[i] = std::max(0, i - kd);
    band_last[i] = std::min(n - 1, i + kd);
  }
  // The band substitution is the kernels' envelope_solve, bit for bit: on the band
  // (packed) and on the envelope of the dense factor, whose extra zeros change nothing.
  std::vector<double> x_kernel = b;
  libextract::kernels::envelope_solve(serial, packed.data(), lda, n, band_first.data(), band_last.data(),
                                      x_kernel.data());
  EXPECT_EQ(std::memcmp(x.data(), x_kernel.data(), un * sizeof(double)), 0) << "band solve = envelope_solve";
  std::vector<double> x_envelope = b;
  libextract::kernels::envelope_solve(serial, env.data(), n, n, env_first.data(), env_last.data(),
                                      x_envelope.data());
  EXPECT_EQ(std::memcmp(x.data(), x_envelope.data(), un * sizeof(double)), 0) << "band = envelope";
  const double rcond = libextract::kernels::envelope_rcond_with(
      serial, [&](double* v) { band_cholesky_solve(packed.data(), n, lda, kd, rows.data(), v); }, n, anorm,
      work.data(), work.data() + n, &shared);
  const double rcond_kernel =
      libextract::kernels::envelope_rcond(serial, packed.data(), lda, n, band_first.data(), band_last.data(),
                                          anorm, work.data(), work.data() + n, &shared);
  EXPECT_EQ(std::memcmp(&rcond, &rcond_kernel, sizeof rcond), 0) << "rcond with the band solve";
  const double kappa = 1.0 / rcond_ref;
  EXPECT_LE(xdiff, 16 * kappa * 2.22e-16 * xmax) << "solve";
  EXPECT_NEAR(rcond / rcond_ref, 1.0, 1e-8) << "condition estimate";
  EXPECT_GT(kappa, 100.0) << "the test matrix should not be trivially conditioned";

  // Selected inverse from row `first` on.
  std::vector<double> inverse = dense;
  ASSERT_EQ(lapack::potri_lower(inverse.data(), n), 0);
  const int first = n / 3;
  libextract::cpu::ScratchVector<double> c, scratch;
  libextract::cpu::band_selected_inverse(packed.data(), n, lda, kd, first, c, scratch);
  const long cw = libextract::cpu::band_inverse_width(kd);
  auto c_at = [&](int i, int j) {  // C(i,j), first ≤ i, |i − j| ≤ kd
    return c[static_cast<std::size_t>((i - first) * cw + (j - i) + kd + libextract::cpu::inverse_band_pad)];
  };
  double cmax = 0.0, cdiff = 0.0;
  for (int j = first; j < n; ++j) {
    for (int i = j; i <= std::min(n - 1, j + kd); ++i) {
      const double ref = inverse[static_cast<std::size_t>(j) * n + i];
      cmax = std::max(cmax, std::fabs(ref));
      cdiff = std::max(cdiff, std::fabs(c_at(i, j) - ref));
      ASSERT_EQ(c_at(i, j), c_at(j, i)) << "symmetric rows";
    }
  }
  // The device's selected inverse (on the envelope factor), bit for bit inside its
  // envelope from row `first` on.
  std::vector<double> cdiag(un);
  libextract::kernels::envelope_selected_inverse(serial, env.data(), n, n, env_first.data(), env_last.data(),
                                                 cdiag.data());
  int differing = 0, compared = 0;
  for (int i = first; i < n; ++i) {
    for (int j = i; j <= env_last[i]; ++j) {
      if (j > i && env_first[j] > i) continue;
      const double e = libextract::kernels::selected_inverse_at(env.data(), n, cdiag.data(), i, j);
      const double ours = c_at(i, j);
      differing += std::memcmp(&e, &ours, sizeof e) != 0 ? 1 : 0;
      ++compared;
    }
  }
  EXPECT_GT(compared, n - first);
  EXPECT_EQ(differing, 0) << "selected inverse = envelope_selected_inverse's, of " << compared;
  EXPECT_LE(cdiff, 16 * kappa * 2.22e-16 * cmax) << "selected inverse, kappa " << kappa;
  std::printf("n %d kd %d nb %d: kappa %.2e factor %.1e solve %.1e inverse %.1e (relative)\n", n, kd, nb,
              kappa, diff / lmax, xdiff / xmax, cdiff / cmax);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BandAlgebra,
                         ::testing::Values(Shape{518, 156, 32}, Shape{444, 155, 32}, Shape{300, 40, 16},
                                           Shape{100, 99, 32}, Shape{37, 5, 8}, Shape{518, 156, 8, true},
                                           Shape{300, 40, 8, true}, Shape{23, 9, 8, true}));

TEST(BandAlgebra, NotPositiveDefiniteReportsTheColumn) {
  const int n = 120, kd = 20;
  std::vector<double> a = banded_spd(n, kd, 3u);
  a[static_cast<std::size_t>(77) * n + 77] = -1.0;
  std::vector<double> dense = a;
  const int info = lapack::potrf_lower(dense.data(), n);
  ASSERT_GT(info, 0);
  libextract::cpu::ScratchVector<double> work;
  EXPECT_EQ(band_cholesky(a.data(), n, n, kd, work), info);
}

// ---- eigensolver ----

struct EigenCheck {
  double residual, orthogonality, eigenvalues;
};

EigenCheck check_eigen(const std::vector<double>& a, int n) {
  std::vector<double> u = a, w(n);
  libextract::cpu::SymmetricEigenWorkspace ws;
  EXPECT_EQ(libextract::cpu::symmetric_eigen(u.data(), n, n, w.data(), ws), 0);
  for (int i = 1; i < n; ++i) EXPECT_LE(w[i - 1], w[i]) << "ascending";
  auto sym = [&](int i, int j) { return a[static_cast<std::size_t>(std::min(i, j)) * n + std::max(i, j)]; };
  double anorm = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) anorm = std::max(anorm, std::fabs(sym(i, j)));
  EigenCheck r{0, 0, 0};
  for (int k = 0; k < n; ++k) {
    for (int i = 0; i < n; ++i) {
      double s = 0.0;
      for (int j = 0; j < n; ++j) s += sym(i, j) * u[static_cast<std::size_t>(k) * n + j];
      r.residual = std::max(r.residual, std::fabs(s - w[k] * u[static_cast<std::size_t>(k) * n + i]) / anorm);
    }
    for (int k2 = 0; k2 < n; ++k2) {
      double s = 0.0;
      for (int i = 0; i < n; ++i)
        s += u[static_cast<std::size_t>(k) * n + i] * u[static_cast<std::size_t>(k2) * n + i];
      r.orthogonality = std::max(r.orthogonality, std::fabs(s - (k == k2 ? 1.0 : 0.0)));
    }
  }
  std::vector<double> ref = a, wr(n), work(lapack::syevd_work_size(n));
  std::vector<int> iwork(lapack::syevd_iwork_size(n));
  EXPECT_EQ(lapack::syevd_lower(ref.data(), n, wr.data(), work.data(), static_cast<int>(work.size()),
                                iwork.data(), static_cast<int>(iwork.size())),
            0);
  for (int k = 0; k < n; ++k) r.eigenvalues = std::max(r.eigenvalues, std::fabs(w[k] - wr[k]) / anorm);
  return r;
}

std::vector<double> random_symmetric(int n, unsigned seed, double grade) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
  std::vector<double> scale(n);
  for (int i = 0; i < n; ++i) scale[i] = std::pow(grade, static_cast<double>(i) / std::max(1, n - 1));
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i) a[static_cast<std::size_t>(j) * n + i] = g(rng) * scale[i] * scale[j];
  return a;
}

TEST(SymmetricEigen, AccurateOnRandomAndGradedMatrices) {
  const double eps = 2.22e-16;
  struct Case {
    int n;
    double grade;
  };
  for (const Case c : {Case{74, 1.0}, Case{74, 1e6}, Case{74, 1e-6}, Case{43, 1.0}, Case{5, 1.0},
                       Case{2, 1.0}, Case{1, 1.0}}) {
    const EigenCheck r = check_eigen(random_symmetric(c.n, 11u + c.n, c.grade), c.n);
    const double tol = 8.0 * c.n * eps;
    EXPECT_LE(r.residual, tol) << "n " << c.n << " grade " << c.grade;
    EXPECT_LE(r.orthogonality, tol) << "n " << c.n << " grade " << c.grade;
    EXPECT_LE(r.eigenvalues, tol) << "n " << c.n << " grade " << c.grade;
    std::printf(
        "n %d grade %.0e: residual %.1e orthogonality %.1e eigenvalues vs dsyevd %.1e (units of |A|)\n", c.n,
        c.grade, r.residual, r.orthogonality, r.eigenvalues);
  }
}

TEST(SymmetricEigen, DiagonalAndCovarianceBlocks) {
  const int n = 74;
  std::vector<double> diag(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) diag[static_cast<std::size_t>(i) * n + i] = std::cos(0.3 * i) * (1 + i);
  const EigenCheck d = check_eigen(diag, n);
  EXPECT_LE(d.residual, 1e-15);
  EXPECT_LE(d.eigenvalues, 1e-15);
  // The inverse of a banded SPD matrix: dense, positive, κ ~ 1e3, like a C_bb block.
  std::vector<double> a = banded_spd(n, 14, 5u);
  ASSERT_EQ(lapack::potrf_lower(a.data(), n), 0);
  ASSERT_EQ(lapack::potri_lower(a.data(), n), 0);
  const EigenCheck r = check_eigen(a, n);
  EXPECT_LE(r.residual, 8.0 * n * 2.22e-16);
  EXPECT_LE(r.orthogonality, 8.0 * n * 2.22e-16);
  EXPECT_LE(r.eigenvalues, 8.0 * n * 2.22e-16);
}

// The CPU's column-wise recomposition Q = V·diag(g)·Vᵀ gives the device kernel's bits
// (kernels::eigen_recompose on a one-member team), on an orthogonal V from the
// eigensolver and on random V, with factors over many decades, signed zeros and a
// leading dimension larger than n.
TEST(EigenRecompose, ColumnsGiveTheKernelsBits) {
  for (const int n : {1, 2, 7, 43, 74, 75}) {
    for (const int pad : {0, 3}) {
      const int ld = n + pad;
      std::mt19937 rng(100u + static_cast<unsigned>(n + pad));
      std::uniform_real_distribution<double> u(-1.0, 1.0);
      std::vector<double> v(static_cast<std::size_t>(ld) * n), g(static_cast<std::size_t>(n));
      for (double& x : v) x = u(rng);
      if (pad == 0 && n > 1) {  // an eigenvector matrix, as the pipeline has
        v = random_symmetric(n, 7u + n, 1.0);
        std::vector<double> w(static_cast<std::size_t>(n));
        libextract::cpu::SymmetricEigenWorkspace ews;
        ASSERT_EQ(libextract::cpu::symmetric_eigen(v.data(), n, n, w.data(), ews), 0);
      }
      for (int k = 0; k < n; ++k) g[k] = std::pow(10.0, 6.0 * u(rng));
      if (n > 2) v[1] = -0.0, g[n - 1] = 0.0;
      std::vector<double> q_kernel(static_cast<std::size_t>(ld) * n, 7.0), q_cpu = q_kernel;
      std::vector<double> scaled(static_cast<std::size_t>(n) * n);
      libextract::kernels::eigen_recompose(libextract::kernels::SerialTeam{}, v.data(), ld, g.data(), n,
                                           q_kernel.data(), ld);
      libextract::cpu::eigen_recompose_columns(v.data(), ld, g.data(), n, q_cpu.data(), ld, scaled.data());
      EXPECT_EQ(std::memcmp(q_kernel.data(), q_cpu.data(), q_cpu.size() * sizeof(double)), 0)
          << "n " << n << " ld " << ld;
      double largest = 0.0;
      for (double x : q_cpu) largest = std::max(largest, std::fabs(x));
      EXPECT_GT(largest, 0.0);
    }
  }
}

}  // namespace
