// labels: unit
// The eigensolver both backends run (libextract/kernels/symmetric_eigen.hpp: Householder
// + implicit QL, one team per matrix): eigenvalues and reconstructed matrices against
// LAPACK's dsyevd (never eigenvector signs), orthogonality, the matrix functions the
// extraction takes (C^(-1/2), iCov^(1/2)), the barrier count, non-convergence and NaN
// inputs, and bitwise independence of the team size (1 member, as the CPU backend; several
// threads with real barriers, as a CUDA block) and of the CPU's vector variant.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "common/frame_bits.hpp"
#include "common/thread_team.hpp"
#include "cpu_fallback/eigen_cpu.hpp"
#include "cpu_fallback/isa.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"
#include "libextract/backend.hpp"

namespace {

using libextract::kernels::SerialTeam;
using libextract_test::CountingTeam;
using libextract_test::run_team;

// ---- LAPACK, found at run time in the process (libextract links it; the tests do not).
using dsyevd_t = void (*)(const char*, const char*, const int*, double*, const int*, double*, double*,
                          const int*, int*, const int*, int*, std::size_t, std::size_t);

dsyevd_t lapack_dsyevd() {
  (void)libextract::cuda_compiled();  // keeps libextract (and its LAPACK) loaded
  return reinterpret_cast<dsyevd_t>(dlsym(RTLD_DEFAULT, "dsyevd_"));
}

#define REQUIRE_LAPACK()                                                                       \
  do {                                                                                         \
    if (lapack_dsyevd() == nullptr) GTEST_SKIP() << "LAPACK dsyevd_ not found in the process"; \
  } while (0)

// Ascending eigenvalues and eigenvectors (columns) of a symmetric matrix, LAPACK.
void reference_eigh(std::vector<double> a, int n, std::vector<double>& w, std::vector<double>& u) {
  w.assign(static_cast<std::size_t>(n), 0.0);
  const int lwork = 1 + 6 * n + 2 * n * n, liwork = 3 + 5 * n;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  int info = 0;
  lapack_dsyevd()("V", "L", &n, a.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1,
                  1);
  ASSERT_EQ(info, 0);
  u = a;
}

// ---- test matrices
struct Rng {
  std::uint64_t s;
  double uniform() {  // [-1, 1)
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) * 0x1.0p-52 - 1.0;
  }
};

std::vector<double> random_symmetric(int n, std::uint64_t seed) {
  Rng rng{seed};
  std::vector<double> a(static_cast<std::size_t>(n) * n);
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i) a[j * n + i] = a[i * n + j] = rng.uniform();
  return a;
}

// Q·diag(lambda)·Qᵀ with Q a product of random Householder reflections.
std::vector<double> with_spectrum(const std::vector<double>& lambda, std::uint64_t seed) {
  const int n = static_cast<int>(lambda.size());
  Rng rng{seed};
  std::vector<double> q(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) q[i * n + i] = 1.0;
  for (int h = 0; h < 3; ++h) {
    std::vector<double> v(static_cast<std::size_t>(n));
    double norm2 = 0;
    for (double& x : v) {
      x = rng.uniform();
      norm2 += x * x;
    }
    for (int j = 0; j < n; ++j) {  // Q <- (I − 2vvᵀ/|v|²)·Q, column by column
      double dot = 0;
      for (int i = 0; i < n; ++i) dot += v[i] * q[j * n + i];
      for (int i = 0; i < n; ++i) q[j * n + i] -= 2.0 * dot / norm2 * v[i];
    }
  }
  std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += q[k * n + i] * lambda[k] * q[k * n + j];
      a[j * n + i] = s;
    }
  for (int j = 0; j < n; ++j)
    for (int i = j + 1; i < n; ++i) a[j * n + i] = a[i * n + j];  // exactly symmetric
  return a;
}

struct Eigen {
  std::vector<double> v, w;  // eigenvectors (columns), eigenvalues ascending
  int info = 0, sweeps = 0;
};

template <class Runner>
Eigen kernel_eigen(const std::vector<double>& matrix, int n, const Runner& run,
                   int sweeps_per_order = libextract::kernels::ql_sweeps_per_order) {
  Eigen e;
  e.v = matrix;
  e.w.assign(static_cast<std::size_t>(n), 0.0);
  std::vector<double> z(static_cast<std::size_t>(n) * n),
      work(static_cast<std::size_t>(libextract::kernels::symmetric_eigen_workspace(n)));
  libextract::kernels::TeamShared shared{};
  run([&](const auto& team) {
    const int info = libextract::kernels::symmetric_eigen(team, e.v.data(), n, n, e.w.data(), z.data(), n,
                                                          work.data(), &shared, sweeps_per_order);
    if (team.rank() == 0) {
      e.info = info;
      e.sweeps = shared.i[3];
    }
  });
  return e;
}

Eigen eigen_serial(const std::vector<double>& matrix, int n) {
  return kernel_eigen(matrix, n, [](const auto& body) { body(SerialTeam{}); });
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

// Checks one decomposition against LAPACK: eigenvalues, V·diag(w)·Vᵀ = A, VᵀV = I.
void expect_matches_lapack(const std::vector<double>& a, int n, const Eigen& e, double tol_factor = 20.0) {
  const double eps = 2.220446049250313e-16;
  const double norm = std::max(max_abs(a), 1e-300);
  ASSERT_EQ(e.info, 0);
  std::vector<double> w_ref, u_ref;
  reference_eigh(a, n, w_ref, u_ref);
  EXPECT_TRUE(std::is_sorted(e.w.begin(), e.w.end()));
  double dw = 0;
  for (int k = 0; k < n; ++k) dw = std::max(dw, std::fabs(e.w[k] - w_ref[k]));
  EXPECT_LE(dw, tol_factor * n * eps * norm) << "eigenvalues, n = " << n;
  double rec = 0, orth = 0;
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double s = 0, o = 0;
      for (int k = 0; k < n; ++k) {
        s += e.v[k * n + i] * e.w[k] * e.v[k * n + j];
        o += e.v[i * n + k] * e.v[j * n + k];
      }
      rec = std::max(rec, std::fabs(s - a[j * n + i]));
      orth = std::max(orth, std::fabs(o - (i == j ? 1.0 : 0.0)));
    }
  }
  EXPECT_LE(rec, tol_factor * n * eps * norm) << "V diag(w) V^T vs A, n = " << n;
  EXPECT_LE(orth, tol_factor * n * eps) << "V^T V vs I, n = " << n;
}

TEST(EigenKernel, RandomSymmetricMatchesLapack) {
  REQUIRE_LAPACK();
  for (int n : {1, 2, 3, 4, 5, 7, 16, 43, 64, 74, 75}) {
    SCOPED_TRACE(n);
    const std::vector<double> a = random_symmetric(n, 1000 + n);
    const Eigen e = eigen_serial(a, n);
    EXPECT_EQ(e.sweeps > 0, n > 1);  // a 1×1 matrix needs no sweep
    EXPECT_LE(e.sweeps, 3 * n);
    expect_matches_lapack(a, n, e);
  }
}

TEST(EigenKernel, IllConditionedAndDegenerateSpectra) {
  REQUIRE_LAPACK();
  const int n = 74;
  std::vector<double> graded(n), repeated(n), indefinite(n), tiny(n), reversed(n);
  for (int k = 0; k < n; ++k) {
    graded[k] = std::pow(10.0, -12.0 * k / (n - 1));        // κ = 1e12
    repeated[k] = 1.0 + static_cast<double>(k / 10);        // blocks of equal eigenvalues
    indefinite[k] = (k % 3 == 0 ? -1.0 : 1.0) * (1.0 + k);  // mixed signs
    tiny[k] = 1e-200 * (1.0 + k);                           // far from 1 (scaled hypot)
  }
  for (const auto* s : {&graded, &repeated, &indefinite, &tiny}) {
    const std::vector<double> a = with_spectrum(*s, 77);
    const Eigen e = eigen_serial(a, n);
    EXPECT_GT(e.sweeps, 0);
    expect_matches_lapack(a, n, e);
  }
  // Graded both ways on the diagonal: the QL-versus-QR choice (reversal) is taken once
  // each way.
  for (double sign : {1.0, -1.0}) {
    std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
    Rng rng{5};
    for (int j = 0; j < n; ++j) {
      a[j * n + j] = std::pow(10.0, sign * 6.0 * j / (n - 1));
      for (int i = j + 1; i < n; ++i) a[j * n + i] = a[i * n + j] = 1e-3 * rng.uniform();
    }
    expect_matches_lapack(a, n, eigen_serial(a, n), 40.0);
  }
}

TEST(EigenKernel, DiagonalZeroNanAndNonConvergence) {
  const int n = 9;
  std::vector<double> diag(static_cast<std::size_t>(n) * n, 0.0);
  for (int k = 0; k < n; ++k) diag[k * n + k] = 3.0 - k;
  const Eigen d = eigen_serial(diag, n);
  EXPECT_EQ(d.info, 0);
  EXPECT_EQ(d.sweeps, 0);  // nothing to rotate
  for (int k = 0; k < n; ++k) EXPECT_EQ(d.w[k], 3.0 - (n - 1 - k)) << "ascending";
  const Eigen z = eigen_serial(std::vector<double>(static_cast<std::size_t>(n) * n, 0.0), n);
  EXPECT_EQ(z.info, 0);
  EXPECT_EQ(max_abs(z.w), 0.0);
  // A NaN never loops forever: the iteration limit stops it, or the NaN stays in the
  // output, where the pipeline's finiteness checks catch it.
  std::vector<double> bad = random_symmetric(n, 5);
  bad[2 * n + 5] = bad[5 * n + 2] = std::nan("");
  const Eigen b = eigen_serial(bad, n);
  bool any_nan = false;
  for (double x : b.v) any_nan = any_nan || std::isnan(x);
  for (double x : b.w) any_nan = any_nan || std::isnan(x);
  EXPECT_TRUE(b.info != 0 || any_nan);
  // No sweep allowed: a matrix that needs one reports the failing index.
  const Eigen stopped = kernel_eigen(
      random_symmetric(n, 6), n, [](const auto& body) { body(SerialTeam{}); }, 0);
  EXPECT_EQ(stopped.info, 1);
}

TEST(EigenKernel, LargeMatrixOfTheDecorrelateMode) {
  REQUIRE_LAPACK();
  const int n = 230;
  std::vector<double> lambda(n);
  for (int k = 0; k < n; ++k) lambda[k] = 1e3 * std::pow(10.0, -6.0 * k / (n - 1));
  const std::vector<double> a = with_spectrum(lambda, 9);
  const Eigen e = eigen_serial(a, n);
  EXPECT_GT(e.sweeps, 0);
  expect_matches_lapack(a, n, e);
}

// The matrix functions of the extraction, C^(-1/2) and iCov^(1/2), agree with the
// same functions built from LAPACK's eigenpairs.
TEST(EigenKernel, MatrixFunctionsMatchLapack) {
  REQUIRE_LAPACK();
  const int n = 70;
  std::vector<double> lambda(n);
  for (int k = 0; k < n; ++k) lambda[k] = std::pow(10.0, -4.0 * k / (n - 1)) * 2.5;  // κ = 1e4
  const std::vector<double> a = with_spectrum(lambda, 4);
  const Eigen e = eigen_serial(a, n);
  std::vector<double> w_ref, u_ref;
  reference_eigh(a, n, w_ref, u_ref);
  for (int which = 0; which < 2; ++which) {
    auto g = [which](double mu) { return which == 0 ? std::sqrt(1.0 / mu) : std::sqrt(mu); };
    std::vector<double> gj(n), gr(n), qj(static_cast<std::size_t>(n) * n), qr(qj.size());
    for (int k = 0; k < n; ++k) {
      gj[k] = g(e.w[k]);
      gr[k] = g(w_ref[k]);
    }
    libextract::kernels::eigen_recompose(SerialTeam{}, e.v.data(), n, gj.data(), n, qj.data(), n);
    libextract::kernels::eigen_recompose(SerialTeam{}, u_ref.data(), n, gr.data(), n, qr.data(), n);
    double diff = 0;
    for (std::size_t i = 0; i < qj.size(); ++i) diff = std::max(diff, std::fabs(qj[i] - qr[i]));
    EXPECT_LE(diff / max_abs(qr), 1e-10) << (which == 0 ? "C^(-1/2)" : "iCov^(1/2)");
  }
}

// A team of threads with real barriers computes the same bits as a team of one, and so
// does the CPU backend's launcher under every vector variant the CPU supports.
TEST(EigenKernel, TeamSizeAndVectorVariantDoNotChangeTheBits) {
  for (int n : {5, 43, 74}) {
    const std::vector<double> a = random_symmetric(n, 31 + n);
    const Eigen serial = eigen_serial(a, n);
    ASSERT_EQ(serial.info, 0);
    for (int size : {2, 3, 8}) {
      SCOPED_TRACE(testing::Message() << "n " << n << " team " << size);
      const Eigen threaded = kernel_eigen(a, n, [size](const auto& body) { run_team(size, body); });
      EXPECT_EQ(threaded.sweeps, serial.sweeps);
      EXPECT_TRUE(libextract_test::same_bits(threaded.v, serial.v));
      EXPECT_TRUE(libextract_test::same_bits(threaded.w, serial.w));
    }
    const libextract::cpu::Isa before = libextract::cpu::active_isa();
    for (libextract::cpu::Isa isa : libextract::cpu::supported_isas()) {
      SCOPED_TRACE(testing::Message() << "n " << n << " isa " << libextract::cpu::isa_name(isa));
      libextract::cpu::set_isa_for_testing(isa);
      std::vector<double> u = a, w(static_cast<std::size_t>(n));
      libextract::cpu::SymmetricEigenWorkspace ws;
      EXPECT_EQ(libextract::cpu::symmetric_eigen(u.data(), n, n, w.data(), ws), 0);
      EXPECT_TRUE(libextract_test::same_bits(u, serial.v));
      EXPECT_TRUE(libextract_test::same_bits(w, serial.w));
    }
    libextract::cpu::set_isa_for_testing(before);
  }
}

// The barriers are part of the design on the device, where a QL sweep's rotations are
// generated by one thread: 6(n−2) + 8 for the reduction, Q and the sort, two per sweep.
TEST(EigenKernel, TwoBarriersPerSweep) {
  for (int n : {43, 74}) {
    long syncs = 0;
    const Eigen e =
        kernel_eigen(random_symmetric(n, 11), n, [&](const auto& body) { body(CountingTeam{&syncs}); });
    ASSERT_EQ(e.info, 0);
    ASSERT_GT(e.sweeps, n / 2);
    EXPECT_EQ(syncs, 6L * (n - 2) + 8 + 2L * e.sweeps) << "n = " << n;
    std::printf("n = %d: %ld barriers, %d QL sweeps\n", n, syncs, e.sweeps);
  }
}

}  // namespace
