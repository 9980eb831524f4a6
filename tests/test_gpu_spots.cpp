// labels: gpu
// The CUDA backend runs the same kernels/ source as the CPU under the FP contract
// (no FMA contraction on either side, own erf/exp), so its spots must be bitwise
// identical to the CPU's. Without a device these tests skip, unless
// LIBEXTRACT_REQUIRE_GPU=1 says a device is expected (then they fail).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/gpu_skip.hpp"
#include "common/test_data.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::BackendKind;
using libextract::Compat;
using libextract::Psf;
using libextract::SpotBatch;
using libextract::SpotRequest;

libextract::Backend backend_of(BackendKind kind) {
  libextract::Backend backend;
  backend.kind = kind;
  return backend;
}

const Psf& synthetic_psf() {
  static std::unique_ptr<Psf> psf;
  if (!psf) {
    const std::string path = libextract_test::scratch_dir() + "/gpu-synthetic-psf.fits";
    libextract::SyntheticPsfOptions options;
    options.seed = 99;
    libextract::write_synthetic_psf(path, options);
    psf = std::make_unique<Psf>(Psf::load(path));
  }
  return *psf;
}

// Wavelengths across and just beyond each fibre's valid range, every seventh request
// windowed: empty, cut, short and full stamps all occur.
std::vector<SpotRequest> make_requests(const Psf& psf, int count) {
  std::vector<SpotRequest> requests;
  std::uint64_t state = 2024;
  for (int s = 0; s < count; ++s) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(state >> 11) * 0x1.0p-53;
    SpotRequest r;
    r.fiber = (s * 37) % psf.nspec();
    const double lo = psf.wavemin_fiber(r.fiber) - 2.0;
    const double hi = psf.wavemax_fiber(r.fiber) + 2.0;
    r.wavelength = lo + (hi - lo) * u;
    if (s % 7 == 0) {
      const int cx = static_cast<int>(psf.x(r.fiber, r.wavelength));
      const int cy = static_cast<int>(psf.y(r.fiber, r.wavelength));
      r.has_window = true;
      r.window = {cx - 2, cx + 30, cy - 30, cy + 3};
    }
    requests.push_back(r);
  }
  return requests;
}

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

void expect_cuda_equals_cpu(const Psf& psf, const std::vector<SpotRequest>& requests) {
  for (Compat compat : {Compat::specter, Compat::gpu_specter}) {
    SCOPED_TRACE(libextract::to_string(compat));
    const SpotBatch cpu = libextract::evaluate_spots(psf, requests, compat, backend_of(BackendKind::cpu));
    const SpotBatch gpu = libextract::evaluate_spots(psf, requests, compat, backend_of(BackendKind::cuda));
    ASSERT_EQ(cpu.size(), gpu.size());
    EXPECT_TRUE(same_bytes(cpu.x, gpu.x));
    EXPECT_TRUE(same_bytes(cpu.y, gpu.y));
    EXPECT_TRUE(same_bytes(cpu.xlo, gpu.xlo));
    EXPECT_TRUE(same_bytes(cpu.ylo, gpu.ylo));
    EXPECT_TRUE(same_bytes(cpu.nx, gpu.nx));
    EXPECT_TRUE(same_bytes(cpu.ny, gpu.ny));
    ASSERT_TRUE(same_bytes(cpu.values, gpu.values)) << "stamp values differ between CUDA and CPU";
    int nonempty = 0;
    for (int n : cpu.nx) nonempty += n > 0;
    EXPECT_GT(nonempty, static_cast<int>(requests.size()) / 2);  // mostly real stamps, not zeros
  }
}

TEST(GpuSpots, CudaMatchesCpuBitwiseOnSyntheticPsf) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  const Psf& psf = synthetic_psf();
  expect_cuda_equals_cpu(psf, make_requests(psf, 5000));
}

TEST(GpuSpots, CudaMatchesCpuBitwiseOnSharedPsfs) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  // v2 has the larger stamp (17 x 29), degree 8 and a non-zero tail.
  for (const char* name : {"psf-r0-00051060.fits", "psf-gausshermite-v2.fits"}) {
    SCOPED_TRACE(name);
    const Psf psf = Psf::load(libextract_test::shared_file(name));
    expect_cuda_equals_cpu(psf, make_requests(psf, 3000));
  }
}

// More requests than the launcher's thread cap (1 << 15), so some threads loop
// grid-stride over several spots and reuse their scratch slice.
TEST(GpuSpots, CudaMatchesCpuBitwiseBeyondOneGrid) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  const Psf& psf = synthetic_psf();
  expect_cuda_equals_cpu(psf, make_requests(psf, (1 << 15) + 4321));
}

TEST(GpuSpots, CudaWithoutCudaBuildThrowsBackendUnavailable) {
  if (libextract::cuda_compiled()) GTEST_SKIP() << "this build has the CUDA backend";
  const Psf& psf = synthetic_psf();
  const std::vector<SpotRequest> requests = {
      SpotRequest{0, 0.5 * (psf.wavemin() + psf.wavemax()), false, {}}};
  EXPECT_THROW(libextract::evaluate_spots(psf, requests, Compat::gpu_specter, backend_of(BackendKind::cuda)),
               libextract::BackendUnavailable);
  // automatic falls back to the CPU instead of failing.
  EXPECT_EQ(libextract::resolve_backend(backend_of(BackendKind::automatic)), BackendKind::cpu);
}

TEST(GpuSpots, CudaWithoutDeviceThrowsBackendUnavailable) {
  if (!libextract::cuda_compiled()) GTEST_SKIP() << "this build has no CUDA backend";
  if (libextract::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const Psf& psf = synthetic_psf();
  const std::vector<SpotRequest> requests = {
      SpotRequest{0, 0.5 * (psf.wavemin() + psf.wavemax()), false, {}}};
  EXPECT_THROW(libextract::evaluate_spots(psf, requests, Compat::gpu_specter, backend_of(BackendKind::cuda)),
               libextract::BackendUnavailable);
}

}  // namespace
