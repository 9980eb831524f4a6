// labels: unit reference
// The extraction grid must be NumPy's arange(wmin, wmax + dw/2, dw) bit for bit
// (gpu_specter-spec §4.1), since every output's WAVELENGTH HDU is compared bitwise.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/frame_bits.hpp"
#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"
#include "patch_plan.hpp"

namespace {

using libextract::Error;
using libextract::ErrorCode;
using libextract::make_wavelength_grid;
using libextract::WavelengthGrid;

TEST(WavelengthGrid, RCameraGridIsNumpyArange) {
  const auto wave = make_wavelength_grid({5760.0, 7620.0, 0.8});
  ASSERT_EQ(wave.size(), 2326u);
  EXPECT_EQ(wave[0], 5760.0);
  EXPECT_EQ(wave[1], 5760.0 + 0.8);
  EXPECT_EQ(wave[2] - wave[1], 0.8000000000001819);  // the arange step, not dw
  EXPECT_EQ((5760.0 + 0.8) - 5760.0, 0.8000000000001819);
  EXPECT_EQ(wave[2325], 7620.000000000423);
}

TEST(WavelengthGrid, SharedCaseGrids) {
  const auto small = make_wavelength_grid({5760.0, 5919.2, 0.8});
  ASSERT_EQ(small.size(), 200u);
  EXPECT_EQ(small[199], 5919.200000000036);
  const auto bundle = make_wavelength_grid({5760.0, 6159.2, 0.8});
  ASSERT_EQ(bundle.size(), 500u);
  EXPECT_EQ(bundle[499], 6159.200000000091);
}

TEST(WavelengthGrid, OtherCamerasHaveDesiBinCounts) {
  EXPECT_EQ(make_wavelength_grid({3600.0, 5800.0, 0.8}).size(), 2751u);
  EXPECT_EQ(make_wavelength_grid({7520.0, 9824.0, 0.8}).size(), 2881u);
  EXPECT_EQ(make_wavelength_grid({5000.0, 5000.0, 0.8}).size(), 1u);
}

TEST(WavelengthGrid, MatchesGpuSpecterReferenceBitwise) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-small/gpu_specter.fits.gz");
  auto file =
      libextract::detail::FitsFile::open_read(libextract_test::shared_file("case-small/gpu_specter.fits.gz"));
  file.move_to("WAVELENGTH");
  const auto reference = file.read_image_double();
  const auto wave = make_wavelength_grid({5760.0, 5919.2, 0.8});
  ASSERT_EQ(wave.size(), reference.size());
  for (std::size_t i = 0; i < wave.size(); ++i) EXPECT_EQ(wave[i], reference[i]) << "bin " << i;
}

void expect_invalid(const WavelengthGrid& grid) {
  try {
    make_wavelength_grid(grid);
    FAIL() << "grid " << grid.wmin << "," << grid.wmax << "," << grid.dw << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("-w/--wavelength"), std::string::npos) << e.what();
  }
}

TEST(WavelengthGrid, InvalidGridsNameTheOption) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect_invalid({5760.0, 7620.0, 0.0});
  expect_invalid({5760.0, 7620.0, -0.8});
  expect_invalid({7620.0, 5760.0, 0.8});
  expect_invalid({nan, 7620.0, 0.8});
  expect_invalid({5760.0, inf, 0.8});
  expect_invalid({5760.0, 7620.0, nan});
  expect_invalid({0.0, 1e7, 1e-3});  // 1e10 bins
}

TEST(WavelengthGrid, TextRoundTrip) {
  const WavelengthGrid grid{5760.0, 5919.2, 0.8};
  EXPECT_EQ(libextract::to_string(grid), "5760.0,5919.2,0.8");
  const WavelengthGrid back = libextract::parse_wavelength_grid("5760.0,5919.2,0.8");
  EXPECT_EQ(back.wmin, 5760.0);
  EXPECT_EQ(back.wmax, 5919.2);
  EXPECT_EQ(back.dw, 0.8);
  for (const char* bad : {"5760,5919.2", "5760,5919.2,0.8,1", "a,b,c", "5760,,0.8", "5760,5919.2,0.8,"}) {
    EXPECT_THROW(libextract::parse_wavelength_grid(bad), Error) << bad;
  }
}

// One grid rule (docs/compatibility.md D10): the triple and the array numpy builds from
// it give the same plan (every patch's wavelengths, bitwise) and the same frame, in
// both compat modes; the frame header keeps the triple only when one was given.
TEST(WavelengthGrid, TripleAndItsArrayGiveOneFrame) {
  libextract::SyntheticPsfOptions po = libextract::synthetic_psf_for_camera('r');
  po.nspec = 12;
  po.npix_x = 600;
  po.npix_y = 1500;
  const std::string path = libextract_test::scratch_dir() + "/grid-forms-psf.fits";
  libextract::write_synthetic_psf(path, po);
  const libextract::Psf psf = libextract::Psf::load(path);
  const WavelengthGrid triple{5760.0, 5919.2, 0.8};
  libextract::SimulationOptions sim;
  sim.grid = triple;
  sim.nspec = 6;
  sim.badpix = 5;
  const libextract::Image image = libextract::simulate_image(psf, sim).image;
  for (const libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter}) {
    libextract::ExtractOptions by_triple;
    by_triple.grid = triple;
    by_triple.nspec = 6;
    by_triple.bundlesize = 3;
    by_triple.nsubbundles = 1;
    by_triple.compat = compat;
    by_triple.model = true;
    by_triple.backend.kind = libextract::BackendKind::cpu;
    libextract::ExtractOptions by_array = by_triple;
    by_array.grid.reset();
    by_array.wavelengths = make_wavelength_grid(triple);
    ASSERT_NE(by_array.wavelengths[1] - by_array.wavelengths[0], triple.dw);  // the array's step is δ

    const auto plan_a = libextract::detail::make_plan(psf, by_triple, image.nrows, image.ncols);
    const auto plan_b = libextract::detail::make_plan(psf, by_array, image.nrows, image.ncols);
    EXPECT_TRUE(libextract_test::same_bits(plan_a.patch_waves, plan_b.patch_waves));
    EXPECT_TRUE(libextract_test::same_bits(plan_a.lambda, plan_b.lambda));
    ASSERT_EQ(plan_a.patches.size(), plan_b.patches.size());

    const libextract::Frame a = libextract::extract_frame(image, psf, by_triple);
    const libextract::Frame b = libextract::extract_frame(image, psf, by_array);
    libextract_test::expect_same_frame(a, b,
                                       compat == libextract::Compat::specter ? "specter" : "gpu_specter");
    ASSERT_TRUE(a.grid.has_value());
    EXPECT_EQ(a.grid->dw, 0.8);
    EXPECT_FALSE(b.grid.has_value());
  }
}

}  // namespace
