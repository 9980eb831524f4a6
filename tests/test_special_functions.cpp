// Accuracy tests for libextract/kernels/special_functions.hpp.
//
// The kernels' exp/log/erf/pow are implemented from basic IEEE operations so
// that CPU and GPU builds agree bit for bit; these tests check that doing so
// cost no accuracy. References are glibc's long double functions (x87
// 64-bit mantissa, i.e. 11 more bits than double), which are accurate to a
// small fraction of a double ulp.
//
// Error unit: |result - reference| / ulp, with ulp the spacing of doubles in
// the binade of the (long double) reference, i.e. ulp(reference rounded to
// double) except right below a power of two, where it is the finer spacing
// (stricter). Subnormal references use 2^-1074.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/special_functions.hpp"

namespace {

using libextract::kernels::erf_own;
using libextract::kernels::exp_own;
using libextract::kernels::log_own;
using libextract::kernels::pow_own;

static_assert(std::numeric_limits<long double>::digits >= 64,
              "the reference needs an extended long double (x87 80-bit or better)");

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDenormMin = std::numeric_limits<double>::denorm_min();

std::uint64_t bits_of(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

double double_of(std::uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Spacing of doubles in the binade of |ref| (2^-1074 for subnormal range).
long double ulp_at(long double ref) {
  const long double a = std::fabs(ref);
  if (a == 0.0L) return std::ldexp(1.0L, -1074);
  int e = std::ilogb(a);
  if (e - 52 < -1074) e = -1074 + 52;
  return std::ldexp(1.0L, e - 52);
}

double ulp_error(double got, long double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : kInf;
  if (std::isnan(got)) return kInf;
  // Out of double range: the correctly rounded result is +-inf (overflow).
  const double ref_rounded = static_cast<double>(ref);
  if (std::isinf(ref_rounded) || std::isinf(got)) return (got == ref_rounded) ? 0.0 : kInf;
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref) / ulp_at(ref));
}

struct MaxError {
  double ulps = 0.0;
  double at = 0.0;
  long count = 0;
  void add(double x, double err) {
    ++count;
    if (err > ulps || std::isnan(err)) {
      ulps = err;
      at = x;
    }
  }
};

// All doubles within `radius` steps (nextafter) of x, both sides.
void add_neighbourhood(std::vector<double>& xs, double x, int radius) {
  double lo = x;
  double hi = x;
  xs.push_back(x);
  for (int i = 0; i < radius; ++i) {
    lo = std::nextafter(lo, -kInf);
    hi = std::nextafter(hi, kInf);
    xs.push_back(lo);
    xs.push_back(hi);
  }
}

// ---------------------------------------------------------------- erf

std::vector<double> erf_arguments() {
  std::vector<double> xs;
  xs.reserve(1400000);
  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);

  // Dense uniform over [-6.5, 6.5]: one jittered point per cell.
  const int n_dense = 1000000;
  const double a = -6.5, b = 6.5, h = (b - a) / n_dense;
  for (int i = 0; i < n_dense; ++i) xs.push_back(a + (i + jitter(rng)) * h);

  // Log-spaced tiny arguments 1e-300 .. 1e-1, both signs.
  const int n_tiny = 100000;
  for (int i = 0; i < n_tiny; ++i) {
    const double e = -300.0 + 299.0 * (i + jitter(rng)) / n_tiny;
    const double x = std::pow(10.0, e);
    xs.push_back(x);
    xs.push_back(-x);
  }
  // Subnormal arguments too (the 0.125*(8x + efx8*x) path).
  for (int i = 0; i < 2000; ++i) {
    const double x = double_of(rng() & 0x000fffffffffffffull);
    xs.push_back(x);
    xs.push_back(-x);
  }

  // Saturation region 5.5 .. 40, both signs.
  const int n_sat = 50000;
  for (int i = 0; i < n_sat; ++i) {
    const double x = 5.5 + 34.5 * (i + jitter(rng)) / n_sat;
    xs.push_back(x);
    xs.push_back(-x);
  }

  // Range transition points of the piecewise approximation, +-500 ulps.
  const double transitions[] = {std::ldexp(1.0, -28), 0.84375, 1.25, 1.0 / 0.35, 6.0, std::ldexp(1.0, -1022)};
  for (double t : transitions) {
    add_neighbourhood(xs, t, 500);
    add_neighbourhood(xs, -t, 500);
  }
  return xs;
}

TEST(SpecialFunctions, ErfMatchesLongDoubleReferenceWithin2Ulp) {
  const std::vector<double> xs = erf_arguments();
  ASSERT_GE(xs.size(), 1000000u);
  MaxError worst;
  for (double x : xs) worst.add(x, ulp_error(erf_own(x), erfl(static_cast<long double>(x))));
  std::printf("[ erf_own ] %ld points, max error %.4f ulp at x = %.17g\n", worst.count, worst.ulps, worst.at);
  // Measured on this set: ~0.90 ulp (0.96 ulp over 6e7 extra random points);
  // the contract asserted here is the looser 2 ulp.
  EXPECT_LE(worst.ulps, 2.0) << "worst at x = " << worst.at;
}

TEST(SpecialFunctions, ErfSpecialValuesAndSaturation) {
  EXPECT_EQ(bits_of(erf_own(0.0)), bits_of(0.0));
  EXPECT_EQ(bits_of(erf_own(-0.0)), bits_of(-0.0));
  EXPECT_EQ(erf_own(kInf), 1.0);
  EXPECT_EQ(erf_own(-kInf), -1.0);
  EXPECT_TRUE(std::isnan(erf_own(kNaN)));
  EXPECT_TRUE(std::isnan(erf_own(-kNaN)));
  EXPECT_EQ(erf_own(kDenormMin), kDenormMin);  // erf(x) ~ 1.128 x rounds to x
  // Beyond 6 the result is exactly +-1 (and erfl agrees once rounded).
  for (double x = 6.0; x < 1e300; x *= 1.7) {
    EXPECT_EQ(erf_own(x), 1.0) << x;
    EXPECT_EQ(erf_own(-x), -1.0) << x;
  }
  EXPECT_EQ(erf_own(std::numeric_limits<double>::max()), 1.0);
  // erf(5.9) still differs from 1 in long double but rounds to 1 in double.
  EXPECT_EQ(erf_own(5.95), static_cast<double>(erfl(5.95L)));
}

TEST(SpecialFunctions, ErfIsOddAndMonotone) {
  // Odd symmetry, bitwise, on the full test set.
  for (double x : erf_arguments()) {
    ASSERT_EQ(bits_of(erf_own(-x)), bits_of(-erf_own(x))) << "x = " << x;
  }
  // Monotone (non-decreasing) on a dense grid over [-7, 7] ...
  const int n = 400000;
  double previous = erf_own(-7.0);
  for (int i = 1; i <= n; ++i) {
    const double x = -7.0 + 14.0 * i / n;
    const double y = erf_own(x);
    ASSERT_GE(y, previous) << "x = " << x;
    previous = y;
  }
  // ... and over consecutive doubles across every range transition, where
  // two different approximations meet.
  const double transitions[] = {std::ldexp(1.0, -28), 0.84375, 1.25, 1.0 / 0.35, 6.0};
  for (double t : transitions) {
    for (double sign : {1.0, -1.0}) {
      double x = sign * t;
      for (int i = 0; i < 2000; ++i) x = std::nextafter(x, -kInf);
      double prev = erf_own(x);
      for (int i = 0; i < 4000; ++i) {
        x = std::nextafter(x, kInf);
        const double y = erf_own(x);
        ASSERT_GE(y, prev) << "x = " << x;
        prev = y;
      }
    }
  }
}

// ---------------------------------------------------------------- exp

TEST(SpecialFunctions, ExpMatchesLongDoubleReferenceWithin1Ulp) {
  std::vector<double> xs;
  xs.reserve(1300000);
  std::mt19937_64 rng(777);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  // Dense over the whole finite-result range, subnormal results included.
  const int n_dense = 1000000;
  const double a = -745.2, b = 709.8, h = (b - a) / n_dense;
  for (int i = 0; i < n_dense; ++i) xs.push_back(a + (i + jitter(rng)) * h);
  // Near 0: log-spaced 1e-20 .. 1, both signs (|x| < 2^-28 shortcut, k = 0,
  // k = +-1 paths).
  const int n_small = 100000;
  for (int i = 0; i < n_small; ++i) {
    const double x = std::pow(10.0, -20.0 + 20.0 * (i + jitter(rng)) / n_small);
    xs.push_back(x);
    xs.push_back(-x);
  }
  // Reduction boundaries (k changes at odd multiples of ln2/2) and thresholds.
  for (int k = -1080; k <= 1025; k += 7) add_neighbourhood(xs, (k + 0.5) * 0.69314718055994530942, 3);
  const double edges[] = {709.78271289338397,           -745.13321910194111,          -708.39641853226408,
                          0.5 * 0.69314718055994530942, 1.5 * 0.69314718055994530942, std::ldexp(1.0, -28)};
  for (double e : edges) {
    add_neighbourhood(xs, e, 200);
    add_neighbourhood(xs, -e, 200);
  }

  MaxError worst;
  for (double x : xs) worst.add(x, ulp_error(exp_own(x), expl(static_cast<long double>(x))));
  std::printf("[ exp_own ] %ld points, max error %.4f ulp at x = %.17g\n", worst.count, worst.ulps, worst.at);
  EXPECT_LE(worst.ulps, 1.0) << "worst at x = " << worst.at;
}

TEST(SpecialFunctions, ExpSpecialValues) {
  EXPECT_EQ(exp_own(0.0), 1.0);
  EXPECT_EQ(exp_own(-0.0), 1.0);
  EXPECT_EQ(exp_own(kInf), kInf);
  EXPECT_EQ(bits_of(exp_own(-kInf)), bits_of(0.0));
  EXPECT_TRUE(std::isnan(exp_own(kNaN)));
  EXPECT_TRUE(std::isnan(exp_own(-kNaN)));
  EXPECT_EQ(exp_own(1e-300), 1.0);
  EXPECT_EQ(exp_own(-1e-300), 1.0);
  // fdlibm-style exp is faithful, not correctly rounded: exp(1) comes out one
  // ulp above the nearest double to e (0.67 ulp error), as in fdlibm itself.
  EXPECT_LE(ulp_error(exp_own(1.0), expl(1.0L)), 1.0);
  // Overflow.
  EXPECT_EQ(exp_own(709.79), kInf);
  EXPECT_EQ(exp_own(710.0), kInf);
  EXPECT_EQ(exp_own(1e308), kInf);
  EXPECT_EQ(exp_own(std::numeric_limits<double>::max()), kInf);
  const double largest = exp_own(709.78271289338397);  // o_threshold
  EXPECT_TRUE(std::isfinite(largest));
  EXPECT_GT(largest, 0.99 * std::numeric_limits<double>::max());
  // Underflow and subnormal results.
  EXPECT_EQ(bits_of(exp_own(-746.0)), bits_of(0.0));
  EXPECT_EQ(bits_of(exp_own(-1e308)), bits_of(0.0));
  EXPECT_EQ(bits_of(exp_own(-std::numeric_limits<double>::max())), bits_of(0.0));
  // Deep subnormal results: the correctly rounded value (few-bit mantissas).
  EXPECT_EQ(exp_own(-745.0), kDenormMin);  // e^-745 ~ 2.8e-324
  for (double x = -745.13; x < -730.0; x += 0.37) {
    EXPECT_EQ(exp_own(x), static_cast<double>(expl(static_cast<long double>(x)))) << x;
  }
  const double sub = exp_own(-740.0);
  EXPECT_LT(sub, std::numeric_limits<double>::min());
  EXPECT_GT(sub, 0.0);
  EXPECT_LE(ulp_error(sub, expl(-740.0L)), 1.0);
  EXPECT_LE(ulp_error(exp_own(-708.5), expl(-708.5L)), 1.0);  // just below DBL_MIN
}

// ---------------------------------------------------------------- log

TEST(SpecialFunctions, LogMatchesLongDoubleReferenceWithin1Ulp) {
  std::vector<double> xs;
  xs.reserve(1400000);
  std::mt19937_64 rng(4242);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  // Uniform in the bit pattern of positive finite doubles: log-uniform from
  // the smallest subnormal to DBL_MAX with random mantissas.
  const std::uint64_t max_finite_bits = bits_of(std::numeric_limits<double>::max());
  for (int i = 0; i < 1000000; ++i) xs.push_back(double_of(1 + rng() % max_finite_bits));
  // Subnormals explicitly (including very short mantissas).
  for (int i = 0; i < 20000; ++i) xs.push_back(double_of(1 + (rng() >> (12 + i % 52))));
  // Near 1, where log(x) is small and relative accuracy is hardest: x in
  // [0.5, 2] densely, and 1 +- 2^-j.
  for (int i = 0; i < 200000; ++i) xs.push_back(0.5 + 1.5 * (i + jitter(rng)) / 200000);
  for (int j = 1; j <= 60; ++j) {
    add_neighbourhood(xs, 1.0 + std::ldexp(1.0, -j), 20);
    add_neighbourhood(xs, 1.0 - std::ldexp(1.0, -j), 20);
  }
  add_neighbourhood(xs, 1.0, 1000);
  add_neighbourhood(xs, std::sqrt(2.0), 100);
  add_neighbourhood(xs, std::sqrt(0.5), 100);
  add_neighbourhood(xs, std::numeric_limits<double>::max(), 0);
  add_neighbourhood(xs, std::numeric_limits<double>::min(), 100);
  xs.push_back(kDenormMin);

  MaxError worst;
  for (double x : xs) {
    if (!(x > 0.0) || !std::isfinite(x)) continue;
    worst.add(x, ulp_error(log_own(x), logl(static_cast<long double>(x))));
  }
  std::printf("[ log_own ] %ld points, max error %.4f ulp at x = %.17g\n", worst.count, worst.ulps, worst.at);
  EXPECT_GE(worst.count, 1000000);
  EXPECT_LE(worst.ulps, 1.0) << "worst at x = " << worst.at;
}

TEST(SpecialFunctions, LogSpecialValues) {
  EXPECT_EQ(bits_of(log_own(1.0)), bits_of(0.0));
  EXPECT_EQ(log_own(0.0), -kInf);
  EXPECT_EQ(log_own(-0.0), -kInf);
  EXPECT_EQ(log_own(kInf), kInf);
  EXPECT_TRUE(std::isnan(log_own(-1.0)));
  EXPECT_TRUE(std::isnan(log_own(-kDenormMin)));
  EXPECT_TRUE(std::isnan(log_own(-kInf)));
  EXPECT_TRUE(std::isnan(log_own(kNaN)));
  EXPECT_TRUE(std::isnan(log_own(-kNaN)));
  EXPECT_EQ(log_own(2.0), 0.69314718055994530942);
  EXPECT_LE(ulp_error(log_own(kDenormMin), logl(static_cast<long double>(kDenormMin))), 1.0);
  // Exact powers of two give k*ln2 rounded once.
  for (int k = -1074; k <= 1023; ++k) {
    const double x = std::ldexp(1.0, k);
    ASSERT_LE(ulp_error(log_own(x), logl(static_cast<long double>(x))), 1.0) << "2^" << k;
  }
}

// ---------------------------------------------------------------- pow

// pow_own = exp_own(y*log_own(x)). With x in [1, 1e4] and y in [1, 3],
// t = y*log(x) <= 27.7 < 32, so the absolute error of t is at most
// y*ulp(log x)/1 (log_own < 1 ulp, ulp(log x) <= 2^-49 for log x < 16) plus
// half an ulp of t (<= 2^-49): <= 3*2^-49 + 2^-49 = 2^-47 ~ 7.1e-15. exp turns
// that into the same relative error, plus < 1 ulp (2.2e-16) from exp_own:
// relative error < 7.4e-15, so 1e-14 is a strict but honest bound.
TEST(SpecialFunctions, PowOnPsfTailRange) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> log10_x(0.0, 4.0);
  std::uniform_real_distribution<double> expo(1.0, 3.0);
  double worst = 0.0;
  double worst_x = 0.0, worst_y = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const double x = std::pow(10.0, log10_x(rng));
    const double y = (i % 10 == 0) ? static_cast<double>(1 + i % 3) : expo(rng);
    const long double ref = powl(static_cast<long double>(x), static_cast<long double>(y));
    const double rel = static_cast<double>(std::fabs((pow_own(x, y) - ref) / ref));
    if (rel > worst) {
      worst = rel;
      worst_x = x;
      worst_y = y;
    }
  }
  std::printf("[ pow_own ] max relative error %.3e at x = %.17g, y = %.17g\n", worst, worst_x, worst_y);
  EXPECT_LE(worst, 1e-14);
  EXPECT_EQ(pow_own(1.0, 2.5), 1.0);
  EXPECT_EQ(pow_own(2.0, 1.0), 2.0);
  EXPECT_LE(std::fabs(pow_own(1e4, 3.0) - 1e12) / 1e12, 1e-14);
}

}  // namespace
