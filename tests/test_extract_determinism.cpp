// labels: unit
// Results never depend on thread count or batch size: bitwise, in both compat modes
// and in the decorrelate-fibers mode, on a simulated frame with defects and a partial
// last wavelength patch and a partial last bundle.
#include <gtest/gtest.h>

#include "common/frame_bits.hpp"
#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace {

struct Fixture {
  libextract::Psf psf;
  libextract::Image image;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    libextract::SyntheticPsfOptions o;
    o.nspec = 40;
    const std::string path = libextract_test::scratch_dir() + "/determinism-psf.fits";
    libextract::write_synthetic_psf(path, o);
    libextract::Psf psf = libextract::Psf::load(path);
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{6000.0, 6103.2, 0.8};  // 130 bins: a partial last patch
    sim.nspec = 12;                                              // a partial last bundle of 2 fibres
    sim.badpix = 30;
    sim.cosmics = 3;
    libextract::Image image = libextract::simulate_image(psf, sim).image;
    return Fixture{std::move(psf), std::move(image)};
  }();
  return f;
}

libextract::Frame run(libextract::Compat compat, int threads, int batch, bool decorrelate) {
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{6000.0, 6103.2, 0.8};
  o.nspec = 12;
  o.bundlesize = 10;
  o.compat = compat;
  o.backend.kind = libextract::BackendKind::cpu;
  o.backend.threads = threads;
  o.batch_patches = batch;
  o.decorrelate_fibers = decorrelate;
  o.model = true;
  return libextract::extract_frame(fixture().image, fixture().psf, o);
}

class Determinism : public ::testing::TestWithParam<std::tuple<libextract::Compat, bool>> {};

TEST_P(Determinism, ThreadsAndBatchesGiveIdenticalBits) {
  const auto [compat, decorrelate] = GetParam();
  const libextract::Frame reference = run(compat, 1, 0, decorrelate);
  ASSERT_EQ(reference.nspec, 12);
  ASSERT_EQ(reference.nwave, 130);
  double total = 0;
  for (double v : reference.ivar) total += v;
  ASSERT_GT(total, 0.0);  // a real extraction, not an empty frame
  libextract_test::expect_same_frame(reference, run(compat, 2, 0, decorrelate), "2 threads");
  libextract_test::expect_same_frame(reference, run(compat, 2, 1, decorrelate),
                                     "2 threads, batches of 1 patch");
  libextract_test::expect_same_frame(reference, run(compat, 1, 7, decorrelate),
                                     "1 thread, batches of 7 patches");
  libextract_test::expect_same_frame(reference, run(compat, 2, 1000, decorrelate), "2 threads, one batch");
}

INSTANTIATE_TEST_SUITE_P(Modes, Determinism,
                         ::testing::Values(std::make_tuple(libextract::Compat::gpu_specter, false),
                                           std::make_tuple(libextract::Compat::specter, false),
                                           std::make_tuple(libextract::Compat::gpu_specter, true),
                                           std::make_tuple(libextract::Compat::specter, true)));

}  // namespace
