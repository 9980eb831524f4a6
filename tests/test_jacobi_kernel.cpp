// labels: unit
// The team-parallel Jacobi eigensolver of the CUDA backend (libextract/kernels/jacobi.hpp),
// executed on the CPU: eigenvalues and reconstructed matrices against LAPACK's dsyevd
// (never eigenvector signs), orthogonality, the matrix functions the extraction takes
// (C^(-1/2), iCov^(1/2)), and bitwise independence of the team size (1 member, as the
// tests' CPU run of the pipeline; several threads with real barriers, as a CUDA block).
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "common/thread_team.hpp"
#include "kernels/jacobi.hpp"
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
  std::vector<double> a, v, w;  // a after the solver, eigenvectors, eigenvalues (diag of a)
  int sweeps = 0;
};

template <class Runner>
Eigen jacobi(const std::vector<double>& matrix, int n, const Runner& run) {
  Eigen e;
  e.a = matrix;
  e.v.assign(static_cast<std::size_t>(n) * n, 0.0);
  std::vector<double> rot(static_cast<std::size_t>(libextract::kernels::jacobi_workspace_size(n)));
  int flag = 0;
  run([&](const auto& team) {
    const int s =
        libextract::kernels::jacobi_eigh(team, e.a.data(), n, n, e.v.data(), n, rot.data(), &flag, 60);
    if (team.rank() == 0) e.sweeps = s;
  });
  for (int k = 0; k < n; ++k) e.w.push_back(e.a[k * n + k]);
  return e;
}

Eigen jacobi_serial(const std::vector<double>& matrix, int n) {
  return jacobi(matrix, n, [](const auto& body) { body(SerialTeam{}); });
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
  std::vector<double> w_ref, u_ref;
  reference_eigh(a, n, w_ref, u_ref);
  std::vector<double> w = e.w;
  std::sort(w.begin(), w.end());
  double dw = 0;
  for (int k = 0; k < n; ++k) dw = std::max(dw, std::fabs(w[k] - w_ref[k]));
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

TEST(JacobiKernel, RandomSymmetricMatchesLapack) {
  REQUIRE_LAPACK();
  for (int n : {1, 2, 3, 4, 5, 7, 16, 43, 64, 74, 75}) {
    SCOPED_TRACE(n);
    const std::vector<double> a = random_symmetric(n, 1000 + n);
    const Eigen e = jacobi_serial(a, n);
    EXPECT_EQ(e.sweeps > 0, n > 1);  // a 1×1 matrix needs no sweep
    EXPECT_LE(e.sweeps, 15);
    expect_matches_lapack(a, n, e);
  }
}

TEST(JacobiKernel, IllConditionedAndDegenerateSpectra) {
  REQUIRE_LAPACK();
  const int n = 74;
  std::vector<std::vector<double>> spectra;
  std::vector<double> graded(n), repeated(n), indefinite(n), tiny(n);
  for (int k = 0; k < n; ++k) {
    graded[k] = std::pow(10.0, -12.0 * k / (n - 1));        // κ = 1e12
    repeated[k] = 1.0 + static_cast<double>(k / 10);        // blocks of equal eigenvalues
    indefinite[k] = (k % 3 == 0 ? -1.0 : 1.0) * (1.0 + k);  // mixed signs
    tiny[k] = 1e-200 * (1.0 + k);                           // far from 1
  }
  for (const auto* s : {&graded, &repeated, &indefinite, &tiny}) {
    const std::vector<double> a = with_spectrum(*s, 77);
    const Eigen e = jacobi_serial(a, n);
    EXPECT_GT(e.sweeps, 0);
    expect_matches_lapack(a, n, e);
  }
}

TEST(JacobiKernel, DiagonalZeroAndNanInputs) {
  const int n = 9;
  std::vector<double> diag(static_cast<std::size_t>(n) * n, 0.0);
  for (int k = 0; k < n; ++k) diag[k * n + k] = 3.0 - k;
  const Eigen d = jacobi_serial(diag, n);
  EXPECT_EQ(d.sweeps, 1);  // nothing to rotate
  for (int k = 0; k < n; ++k) EXPECT_EQ(d.w[k], 3.0 - k);
  const Eigen z = jacobi_serial(std::vector<double>(static_cast<std::size_t>(n) * n, 0.0), n);
  EXPECT_EQ(z.sweeps, 1);
  // A NaN never rotates and never loops forever: it stays in the output, where the
  // pipeline's finiteness checks catch it.
  std::vector<double> bad = random_symmetric(n, 5);
  bad[2 * n + 5] = bad[5 * n + 2] = std::nan("");
  const Eigen b = jacobi_serial(bad, n);
  EXPECT_NE(b.sweeps, -1);
  bool any_nan = false;
  for (double x : b.a) any_nan = any_nan || std::isnan(x);
  EXPECT_TRUE(any_nan);
}

TEST(JacobiKernel, LargeMatrixOfTheDecorrelateMode) {
  REQUIRE_LAPACK();
  const int n = 230;
  std::vector<double> lambda(n);
  for (int k = 0; k < n; ++k) lambda[k] = 1e3 * std::pow(10.0, -6.0 * k / (n - 1));
  const std::vector<double> a = with_spectrum(lambda, 9);
  const Eigen e = jacobi_serial(a, n);
  EXPECT_GT(e.sweeps, 0);
  expect_matches_lapack(a, n, e);
}

// The matrix functions of the extraction, C^(-1/2) and iCov^(1/2), agree with the
// same functions built from LAPACK's eigenpairs.
TEST(JacobiKernel, MatrixFunctionsMatchLapack) {
  REQUIRE_LAPACK();
  const int n = 70;
  std::vector<double> lambda(n);
  for (int k = 0; k < n; ++k) lambda[k] = std::pow(10.0, -4.0 * k / (n - 1)) * 2.5;  // κ = 1e4
  const std::vector<double> a = with_spectrum(lambda, 4);
  const Eigen e = jacobi_serial(a, n);
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

// A team of threads with real barriers computes the same bits as a team of one.
TEST(JacobiKernel, TeamSizeDoesNotChangeTheBits) {
  for (int n : {5, 43, 74}) {
    const std::vector<double> a = random_symmetric(n, 31 + n);
    const Eigen serial = jacobi_serial(a, n);
    for (int size : {2, 3, 8}) {
      SCOPED_TRACE(testing::Message() << "n " << n << " team " << size);
      const Eigen threaded = jacobi(a, n, [size](const auto& body) { run_team(size, body); });
      EXPECT_EQ(threaded.sweeps, serial.sweeps);
      EXPECT_EQ(0, std::memcmp(threaded.a.data(), serial.a.data(), serial.a.size() * sizeof(double)));
      EXPECT_EQ(0, std::memcmp(threaded.v.data(), serial.v.data(), serial.v.size() * sizeof(double)));
    }
  }
}

// A round of the schedule is two phases (rotations; the fused A and V update), so a
// sweep costs 2·(m − 1) + 2 barriers: the count is part of the design on the device,
// where a round is latency-bound (docs/gpu.md).
TEST(JacobiKernel, TwoBarriersPerRound) {
  for (int n : {43, 74}) {
    long syncs = 0;
    const Eigen e = jacobi(random_symmetric(n, 11), n, [&](const auto& body) { body(CountingTeam{&syncs}); });
    ASSERT_GT(e.sweeps, 2);
    const int m = n + (n & 1);
    EXPECT_EQ(syncs, 1 + e.sweeps * (2L * (m - 1) + 2)) << "n = " << n;
  }
}

TEST(JacobiKernel, RoundRobinScheduleCoversEveryPairOnce) {
  for (int m : {2, 4, 6, 74, 76}) {
    std::vector<int> seen(static_cast<std::size_t>(m) * m, 0);
    for (int r = 0; r < m - 1; ++r) {
      std::vector<int> used(static_cast<std::size_t>(m), 0);
      for (int k = 0; k < m / 2; ++k) {
        int p, q;
        libextract::kernels::jacobi_pair(k, r, m, &p, &q);
        ASSERT_LT(p, q);
        ASSERT_LT(q, m);
        used[p]++;
        used[q]++;
        seen[p * m + q]++;
      }
      for (int i = 0; i < m; ++i) EXPECT_EQ(used[i], 1) << "round " << r << " index " << i;
    }
    for (int p = 0; p < m; ++p)
      for (int q = p + 1; q < m; ++q) EXPECT_EQ(seen[p * m + q], 1) << p << "," << q;
  }
}

}  // namespace
