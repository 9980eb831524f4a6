// labels: unit
// evaluate_spots promises bitwise-identical results whatever the thread count, the
// order of the requests and the way a batch is split: each request is evaluated into
// its own cell by one iteration, with no shared accumulation. These tests hold it to
// that, on a synthetic PSF so they need no shared data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::Compat;
using libextract::Psf;
using libextract::SpotBatch;
using libextract::SpotRequest;

const Psf& synthetic_psf() {
  static std::unique_ptr<Psf> psf;
  if (!psf) {
    const std::string path = libextract_test::scratch_dir() + "/determinism-synthetic-psf.fits";
    libextract::SyntheticPsfOptions options;
    options.seed = 7;
    libextract::write_synthetic_psf(path, options);
    psf = std::make_unique<Psf>(Psf::load(path));
  }
  return *psf;
}

// A fixed, varied batch: every fibre, wavelengths across and just beyond each fibre's
// valid range (so empty, CCD-cut and full stamps all occur), every fifth one windowed,
// a few with a window that misses the stamp.
std::vector<SpotRequest> make_requests(const Psf& psf, int count) {
  std::vector<SpotRequest> requests;
  std::uint64_t state = 12345;
  auto next = [&state]() {  // LCG: fixed sequence on every platform
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  };
  for (int s = 0; s < count; ++s) {
    SpotRequest r;
    r.fiber = s % psf.nspec();
    const double lo = psf.wavemin_fiber(r.fiber) - 3.0;
    const double hi = psf.wavemax_fiber(r.fiber) + 3.0;
    r.wavelength = lo + (hi - lo) * next();
    if (s % 50 == 25) {  // a window the stamp misses: empty in both rules
      r.has_window = true;
      r.window = {0, 8, 0, 8};
    } else if (s % 5 == 0) {
      const int cx = static_cast<int>(psf.x(r.fiber, r.wavelength));
      const int cy = static_cast<int>(psf.y(r.fiber, r.wavelength));
      r.has_window = true;
      r.window = {cx - 3, cx + 20, cy - 9, cy + 2};
    }
    requests.push_back(r);
  }
  return requests;
}

libextract::Backend cpu(int threads) {
  libextract::Backend backend;
  backend.kind = libextract::BackendKind::cpu;
  backend.threads = threads;
  return backend;
}

// Request `a` of batch A against request `b` of batch B, bit for bit.
::testing::AssertionResult same_spot(const SpotBatch& A, std::size_t a, const SpotBatch& B, std::size_t b) {
  if (A.nx_max != B.nx_max || A.ny_max != B.ny_max)
    return ::testing::AssertionFailure() << "cell sizes differ";
  if (std::memcmp(&A.x[a], &B.x[b], sizeof(double)) != 0 ||
      std::memcmp(&A.y[a], &B.y[b], sizeof(double)) != 0)
    return ::testing::AssertionFailure() << "trace centre differs";
  if (A.xlo[a] != B.xlo[b] || A.ylo[a] != B.ylo[b] || A.nx[a] != B.nx[b] || A.ny[a] != B.ny[b])
    return ::testing::AssertionFailure() << "footprint differs";
  const std::size_t bytes = sizeof(double) * A.nx_max * A.ny_max;
  if (std::memcmp(A.stamp(a), B.stamp(b), bytes) != 0)
    return ::testing::AssertionFailure() << "values differ";
  return ::testing::AssertionSuccess();
}

// The batch must contain each kind of result, or "identical" proves little.
void expect_varied(const SpotBatch& batch) {
  int empty = 0, full = 0, partial = 0;
  for (std::size_t s = 0; s < batch.size(); ++s) {
    if (batch.nx[s] == 0) {
      ++empty;
    } else if (batch.nx[s] == batch.nx_max && batch.ny[s] == batch.ny_max) {
      ++full;
    } else {
      ++partial;
    }
  }
  EXPECT_GT(empty, 0);
  EXPECT_GT(full, 100);
  EXPECT_GT(partial, 100);
}

constexpr int n_requests = 3000;

class SpotDeterminism : public ::testing::TestWithParam<Compat> {};

TEST_P(SpotDeterminism, OneAndTwoThreadsAreBitwiseIdentical) {
  const Psf& psf = synthetic_psf();
  const auto requests = make_requests(psf, n_requests);
  const SpotBatch one = libextract::evaluate_spots(psf, requests, GetParam(), cpu(1));
  const SpotBatch two = libextract::evaluate_spots(psf, requests, GetParam(), cpu(2));
  expect_varied(one);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t s = 0; s < one.size(); ++s) ASSERT_TRUE(same_spot(one, s, two, s)) << "request " << s;
  // The whole arrays too, padding included.
  EXPECT_EQ(0, std::memcmp(one.values.data(), two.values.data(), one.values.size() * sizeof(double)));
}

TEST_P(SpotDeterminism, ShuffledRequestOrderGivesTheSameSpots) {
  const Psf& psf = synthetic_psf();
  const auto requests = make_requests(psf, n_requests);
  // A fixed permutation that moves every request far from its place.
  std::vector<std::size_t> order(requests.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[(i * 7919 + 13) % (i + 1)]);
  std::vector<SpotRequest> shuffled;
  for (std::size_t i : order) shuffled.push_back(requests[i]);
  const SpotBatch whole = libextract::evaluate_spots(psf, requests, GetParam(), cpu(2));
  const SpotBatch mixed = libextract::evaluate_spots(psf, shuffled, GetParam(), cpu(2));
  int moved = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    moved += order[k] != k;
    ASSERT_TRUE(same_spot(whole, order[k], mixed, k)) << "request " << order[k] << " at position " << k;
  }
  EXPECT_GT(moved, n_requests * 9 / 10);
}

TEST_P(SpotDeterminism, BatchSplitInPiecesGivesTheSameSpots) {
  const Psf& psf = synthetic_psf();
  const auto requests = make_requests(psf, n_requests);
  const SpotBatch whole = libextract::evaluate_spots(psf, requests, GetParam(), cpu(2));
  // Uneven pieces, down to a single request, so no piece boundary lines up with another.
  const std::size_t sizes[] = {1, 17, 500, 1, 1234};
  std::size_t start = 0;
  for (std::size_t piece = 0; start < requests.size(); ++piece) {
    const std::size_t size = std::min(sizes[piece % 5], requests.size() - start);
    const std::vector<SpotRequest> part(requests.begin() + start, requests.begin() + start + size);
    const SpotBatch got = libextract::evaluate_spots(psf, part, GetParam(), cpu(piece % 2 + 1));
    ASSERT_EQ(got.size(), size);
    for (std::size_t k = 0; k < size; ++k)
      ASSERT_TRUE(same_spot(whole, start + k, got, k)) << "request " << start + k << " in piece " << piece;
    start += size;
  }
}

INSTANTIATE_TEST_SUITE_P(BothRules, SpotDeterminism, ::testing::Values(Compat::specter, Compat::gpu_specter),
                         [](const ::testing::TestParamInfo<Compat>& info) {
                           return std::string(libextract::to_string(info.param));
                         });

}  // namespace
