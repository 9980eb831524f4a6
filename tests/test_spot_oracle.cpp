// labels: unit reference
// The spot kernel (through libextract::evaluate_spots on the CPU backend) against the
// naive oracle of tests/reference/naive_spot.hpp, on random (fibre, λ, window) requests
// for both shared PSFs and a synthetic one, in both placement rules; plus the physical
// invariants every stamp must satisfy whoever computed it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "reference/naive_spot.hpp"

namespace {

using libextract::Compat;
using libextract::Psf;
using libextract::SpotBatch;
using libextract::SpotRequest;
using libextract_reference::NaiveSpot;
using libextract_reference::PlacementRule;

// splitmix64: unlike std::uniform_*_distribution its output is fixed by the seed on
// every standard library, so a failure reproduces everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double uniform() {  // [0, 1)
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int index(int n) { return static_cast<int>(uniform() * n); }

 private:
  std::uint64_t state_;
};

// Requests that reach every branch of the kernel: most inside a fibre's valid range,
// a share within a few Angstrom of either end (short trunc stamps, CCD cuts, empty
// stamps), some anywhere on the trace domain (extrapolated traces), and a quarter
// with a window placed around the spot (cuts on either side, both sides, or none).
std::vector<SpotRequest> random_requests(const Psf& psf, int count, std::uint64_t seed) {
  Random rng(seed);
  std::vector<SpotRequest> requests;
  for (int s = 0; s < count; ++s) {
    SpotRequest r;
    r.fiber = rng.index(psf.nspec());
    const double lo = psf.wavemin_fiber(r.fiber);
    const double hi = psf.wavemax_fiber(r.fiber);
    const double pick = rng.uniform();
    if (pick < 0.55) {
      r.wavelength = rng.uniform(lo, hi);
    } else if (pick < 0.75) {
      r.wavelength = rng.uniform(lo - 2.0, lo + 6.0);
    } else if (pick < 0.9) {
      r.wavelength = rng.uniform(hi - 6.0, hi + 2.0);
    } else {
      r.wavelength = rng.uniform(psf.trace_wavemin(), psf.trace_wavemax());
    }
    if (rng.uniform() < 0.25) {
      const int cx = static_cast<int>(std::floor(psf.x(r.fiber, r.wavelength)));
      const int cy = static_cast<int>(std::floor(psf.y(r.fiber, r.wavelength)));
      r.has_window = true;
      r.window.xmin = cx - psf.hsize_x() - 4 + rng.index(2 * psf.hsize_x() + 6);
      r.window.xmax = r.window.xmin + 1 + rng.index(2 * psf.hsize_x() + 8);
      r.window.ymin = cy - psf.hsize_y() - 4 + rng.index(2 * psf.hsize_y() + 6);
      r.window.ymax = r.window.ymin + 1 + rng.index(2 * psf.hsize_y() + 8);
    }
    requests.push_back(r);
  }
  return requests;
}

PlacementRule rule_of(Compat compat) {
  return compat == Compat::specter ? PlacementRule::specter : PlacementRule::gpu_specter;
}

// The oracle's answer to one request, cut the way evaluate_spots cuts it.
NaiveSpot oracle_answer(const Psf& psf, const SpotRequest& r, Compat compat, NaiveSpot* full_out = nullptr) {
  const PlacementRule rule = rule_of(compat);
  NaiveSpot full = libextract_reference::naive_spot(psf, r.fiber, r.wavelength, rule);
  NaiveSpot cut;
  if (r.has_window) {
    cut = libextract_reference::naive_cut(full, rule, r.window.xmin, r.window.xmax, r.window.ymin,
                                          r.window.ymax);
  } else if (compat == Compat::specter) {
    cut = libextract_reference::naive_cut(full, rule, 0, psf.npix_x(), 0, psf.npix_y());
  } else {
    cut = full;  // gpu_specter never cuts at the CCD edge
  }
  if (full_out) *full_out = std::move(full);
  return cut;
}

libextract::Backend cpu_backend() {
  libextract::Backend backend;
  backend.kind = libextract::BackendKind::cpu;
  return backend;
}

struct OracleStats {
  double max_abs = 0.0;
  int empty = 0;
  int windowed = 0;       // non-empty and cut by a request window
  int short_stamp = 0;    // specter's trunc rule lost a row or column
  int short_columns = 0;  // ... a column (a trace within HSIZEX of the left edge)
  int ccd_cut = 0;        // specter stamp cut by the CCD edge
  int off_ccd_rows = 0;   // gpu_specter stamp reaching below row 0 or above the last row
};

// Kernel vs oracle for every request: identical footprints, values within `tol`.
void compare_with_oracle(const Psf& psf, const std::vector<SpotRequest>& requests, Compat compat, double tol,
                         OracleStats& stats) {
  const SpotBatch batch = libextract::evaluate_spots(psf, requests, compat, cpu_backend());
  int reported = 0;
  for (std::size_t s = 0; s < requests.size(); ++s) {
    const SpotRequest& r = requests[s];
    NaiveSpot full;
    const NaiveSpot want = oracle_answer(psf, r, compat, &full);
    const std::string where = "request " + std::to_string(s) + " (fiber " + std::to_string(r.fiber) + ", " +
                              std::to_string(r.wavelength) + " A, " + to_string(compat) + ")";
    // The oracle takes X and Y from the same public Psf functions: they must agree exactly.
    ASSERT_EQ(batch.x[s], want.x) << where;
    ASSERT_EQ(batch.y[s], want.y) << where;
    ASSERT_EQ(batch.nx[s], want.nx) << where;
    ASSERT_EQ(batch.ny[s], want.ny) << where;
    ASSERT_EQ(batch.xlo[s], want.x0) << where;
    ASSERT_EQ(batch.ylo[s], want.y0) << where;

    double worst = 0.0;
    const double* got = batch.stamp(s);
    for (int j = 0; j < batch.ny_max; ++j) {
      for (int i = 0; i < batch.nx_max; ++i) {
        const double expected = (j < want.ny && i < want.nx) ? want.at(j, i) : 0.0;  // padding is zero
        worst = std::max(worst, std::fabs(got[j * batch.nx_max + i] - expected));
      }
    }
    if (worst > tol && reported++ < 5) ADD_FAILURE() << where << ": max |kernel - oracle| = " << worst;
    stats.max_abs = std::max(stats.max_abs, worst);

    if (want.empty()) {
      ++stats.empty;
      continue;
    }
    if (r.has_window && (want.nx != full.nx || want.ny != full.ny)) ++stats.windowed;
    if (compat == Compat::specter) {
      if (full.nx < batch.nx_max || full.ny < batch.ny_max) ++stats.short_stamp;
      if (full.nx < batch.nx_max) ++stats.short_columns;
      if (!r.has_window && (want.nx != full.nx || want.ny != full.ny)) ++stats.ccd_cut;
    } else if (full.y0 < 0 || full.y0 + full.ny > psf.npix_y()) {
      ++stats.off_ccd_rows;
    }
  }
  EXPECT_LE(stats.max_abs, tol) << to_string(compat) << " on " << psf.path();
}

// The shared PSFs are loaded once per process (the inverse fit is the slow part).
const Psf& shared_psf(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Psf>> cache;
  auto& slot = cache[name];
  if (!slot) slot = std::make_unique<Psf>(Psf::load(libextract_test::shared_file(name)));
  return *slot;
}

const Psf& synthetic_psf() {
  static std::unique_ptr<Psf> psf;
  if (!psf) {
    const std::string path = libextract_test::scratch_dir() + "/oracle-synthetic-psf.fits";
    libextract::SyntheticPsfOptions options;
    options.seed = 20240611;
    libextract::write_synthetic_psf(path, options);
    psf = std::make_unique<Psf>(Psf::load(path));
  }
  return *psf;
}

// Tolerance of the kernel-oracle comparison: erf/exp differ by a few ulp between the
// kernel's own ports and <cmath>, and the separable core sums in another order; both
// stay far below 1e-15 on values <= 0.11.
// A CCD narrower than its fibre slit: the outer fibres run off the left and right
// edges, the only way to reach specter's trunc rule and CCD cut on the x axis (the
// traces of the real PSFs stay 110 columns inside).
const Psf& narrow_ccd_psf() {
  static std::unique_ptr<Psf> psf;
  if (!psf) {
    const std::string path = libextract_test::scratch_dir() + "/oracle-narrow-ccd-psf.fits";
    libextract::SyntheticPsfOptions options;
    options.seed = 5;
    options.nspec = 30;    // fibre centres span ~222 columns ...
    options.npix_x = 200;  // ... on a 200-column CCD
    libextract::write_synthetic_psf(path, options);
    psf = std::make_unique<Psf>(Psf::load(path));
  }
  return *psf;
}

constexpr double oracle_tol = 1e-15;
constexpr int n_random = 2000;

// `short_columns`: the PSF's traces come within HSIZEX of the left CCD edge.
void check_psf(const Psf& psf, std::uint64_t seed, bool short_columns = false) {
  const auto requests = random_requests(psf, n_random, seed);
  for (Compat compat : {Compat::specter, Compat::gpu_specter}) {
    SCOPED_TRACE(to_string(compat));
    OracleStats stats;
    compare_with_oracle(psf, requests, compat, oracle_tol, stats);
    if (::testing::Test::HasFatalFailure()) return;
    std::printf(
        "[ oracle   ] %s %-11s max |kernel-oracle| = %.3g  (empty %d, windowed %d, short %d/%d, "
        "ccd-cut %d, off-ccd %d)\n",
        psf.path().substr(psf.path().rfind('/') + 1).c_str(), to_string(compat), stats.max_abs, stats.empty,
        stats.windowed, stats.short_stamp, stats.short_columns, stats.ccd_cut, stats.off_ccd_rows);
    // The random requests must actually reach the edge cases, or the comparison proves little.
    EXPECT_GE(stats.windowed, 100);
    if (compat == Compat::specter) {
      EXPECT_GE(stats.empty, 50);
      EXPECT_GE(stats.ccd_cut, 20);
      // Short (trunc) stamps need Y < HSIZEY - 0.5 inside the valid range: a narrow band.
      EXPECT_GE(stats.short_stamp, 5);
      if (short_columns) EXPECT_GE(stats.short_columns, 100);
    } else {
      EXPECT_GE(stats.off_ccd_rows, 50);
    }
  }
}

TEST(SpotOracle, R0MatchesNaiveEvaluation) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  check_psf(shared_psf("psf-r0-00051060.fits"), 1);
}

// The v2 file has a non-zero TAILAMP, so this also checks the specter tail.
TEST(SpotOracle, GaussHermiteV2MatchesNaiveEvaluation) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  const Psf& psf = shared_psf("psf-gausshermite-v2.fits");
  double max_tail = 0.0;
  for (int f = 0; f < psf.nspec(); ++f)
    max_tail = std::max(max_tail, std::fabs(psf.param("TAILAMP", f, 0.5 * (psf.wavemin() + psf.wavemax()))));
  ASSERT_GT(max_tail, 1e-6) << "the v2 test PSF is expected to carry a tail";
  check_psf(psf, 2);
}

TEST(SpotOracle, SyntheticMatchesNaiveEvaluation) {
  check_psf(synthetic_psf(), 3);
}

TEST(SpotOracle, NarrowCcdMatchesNaiveEvaluation) {
  check_psf(narrow_ccd_psf(), 4, true);
}

// Physical invariants on unwindowed requests, checked on the kernel's output only.
void check_invariants(const Psf& psf, std::uint64_t seed) {
  auto requests = random_requests(psf, n_random, seed);
  for (auto& r : requests) r.has_window = false;
  for (Compat compat : {Compat::specter, Compat::gpu_specter}) {
    SCOPED_TRACE(to_string(compat));
    const SpotBatch batch = libextract::evaluate_spots(psf, requests, compat, cpu_backend());
    double worst_sum = 0.0, worst_centroid = 0.0;
    int full_stamps = 0;
    for (std::size_t s = 0; s < batch.size(); ++s) {
      const double* v = batch.stamp(s);
      double sum = 0.0, sx = 0.0, sy = 0.0;
      for (int j = 0; j < batch.ny_max; ++j) {
        for (int i = 0; i < batch.nx_max; ++i) {
          const double value = v[j * batch.nx_max + i];
          ASSERT_GE(value, 0.0) << "request " << s;  // clipped at zero, never negative
          sum += value;
          sx += value * (batch.xlo[s] + i);
          sy += value * (batch.ylo[s] + j);
        }
      }
      // A stamp of the full size is neither shortened (trunc rule) nor cut (a cut only
      // removes pixels): it sums to 1 and its light is centred on the trace.
      if (batch.nx[s] != batch.nx_max || batch.ny[s] != batch.ny_max) continue;
      ++full_stamps;
      worst_sum = std::max(worst_sum, std::fabs(sum - 1.0));
      const double cx = sx / sum - batch.x[s];
      const double cy = sy / sum - batch.y[s];
      worst_centroid = std::max({worst_centroid, std::fabs(cx), std::fabs(cy)});
      EXPECT_LE(std::fabs(cx), 0.5) << "request " << s << ": centroid column off the central pixel";
      EXPECT_LE(std::fabs(cy), 0.5) << "request " << s << ": centroid row off the central pixel";
      // The central stamp pixel is the pixel nearest the trace centre.
      EXPECT_LE(std::fabs(batch.xlo[s] + psf.hsize_x() - batch.x[s]), 0.5) << "request " << s;
      EXPECT_LE(std::fabs(batch.ylo[s] + psf.hsize_y() - batch.y[s]), 0.5) << "request " << s;
    }
    std::printf("[ physical ] %s %-11s %d full stamps: max |sum-1| = %.3g, max centroid offset = %.3g px\n",
                psf.path().substr(psf.path().rfind('/') + 1).c_str(), to_string(compat), full_stamps,
                worst_sum, worst_centroid);
    EXPECT_GE(full_stamps, n_random / 2);
    EXPECT_LE(worst_sum, 1e-14);
  }
}

TEST(SpotPhysics, R0StampsArePositiveNormalisedAndCentred) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  check_invariants(shared_psf("psf-r0-00051060.fits"), 11);
}

TEST(SpotPhysics, GaussHermiteV2StampsArePositiveNormalisedAndCentred) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  check_invariants(shared_psf("psf-gausshermite-v2.fits"), 12);
}

TEST(SpotPhysics, SyntheticStampsArePositiveNormalisedAndCentred) {
  check_invariants(synthetic_psf(), 13);
}

TEST(SpotPhysics, NarrowCcdStampsArePositiveNormalisedAndCentred) {
  check_invariants(narrow_ccd_psf(), 14);
}

}  // namespace
