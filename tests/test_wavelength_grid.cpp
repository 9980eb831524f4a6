// labels: unit reference
// The extraction grid must be NumPy's arange(wmin, wmax + dw/2, dw) bit for bit
// (gpu_specter-spec §4.1), since every output's WAVELENGTH HDU is compared bitwise.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

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

}  // namespace
