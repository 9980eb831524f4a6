// Random numbers for the simulator that are identical on every platform and compiler:
// splitmix64 for the bits, and only IEEE-exact operations plus the library's own
// bit-reproducible exp/log (kernels/special_functions.hpp) for the distributions, so
// a seed names one image everywhere (std:: distributions and libm are not portable).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/special_functions.hpp"

namespace libextract {
namespace detail {

// splitmix64's output function: a bijective mix of 64 bits.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// An independent stream per (seed, purpose, index): pixels get their own stream, so
// a pixel's noise does not depend on which other pixels are simulated.
inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index = 0) {
  return mix64(mix64(seed ^ (purpose * 0x9e3779b97f4a7c15ULL)) + index);
}

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi].
  int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * static_cast<double>(hi - lo + 1)); }
  // Log-uniform in [lo, hi].
  double log_uniform(double lo, double hi) {
    using kernels::exp_own;
    using kernels::log_own;
    return exp_own(log_own(lo) + (log_own(hi) - log_own(lo)) * uniform());
  }

  // Standard normal by Marsaglia's polar method: no trigonometry, only log and sqrt
  // (sqrt is exact in IEEE 754). The second variate is kept for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double factor = std::sqrt(-2.0 * kernels::log_own(s) / s);
    spare_ = v * factor;
    has_spare_ = true;
    return u * factor;
  }

  // Poisson(mean): Knuth's product of uniforms (exact) for small means, the rounded
  // normal approximation above (skewness < 0.1 there, invisible under read noise).
  long long poisson(double mean) {
    if (!(mean > 0.0)) return 0;
    if (mean < knuth_limit) {
      const double limit = kernels::exp_own(-mean);
      long long k = 0;
      double product = uniform();
      while (product > limit) {
        ++k;
        product *= uniform();
      }
      return k;
    }
    const double draw = std::floor(mean + std::sqrt(mean) * normal() + 0.5);
    return draw < 0.0 ? 0 : static_cast<long long>(draw);
  }

 private:
  static constexpr double knuth_limit = 100.0;
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace detail
}  // namespace libextract
