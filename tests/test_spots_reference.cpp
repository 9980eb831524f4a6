// labels: reference
// Spots against the reference codes' own output: every row of specter's spot tables
// (../shared/data/spots-*.fits, README §3) with Compat::specter, the per-fibre valid
// ranges of their WRANGE HDU, and the gpu_specter reference rows of gpu_specter-spec §3
// with Compat::gpu_specter, including a stamp that starts below the CCD.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::Compat;
using libextract::Psf;
using libextract::SpotBatch;
using libextract::SpotRequest;
using libextract::detail::FitsFile;

libextract::Backend cpu_backend() {
  libextract::Backend backend;
  backend.kind = libextract::BackendKind::cpu;
  return backend;
}

// One spot table as written by the reference generator (README §3).
struct SpotTable {
  long long npix_x = 0, npix_y = 0;
  long long spot_repeat = 0;
  std::vector<long long> fiber, wxmin, wxmax, wymin, wymax, xlo, ylo, nx, ny;
  std::vector<double> wave, x, y, spot;
  std::vector<std::string> kind;
  std::vector<long long> wrange_fiber;
  std::vector<double> wrange_min, wrange_max;
};

SpotTable read_spot_table(const std::string& path) {
  SpotTable t;
  FitsFile file = FitsFile::open_read(path);
  file.move_to("SPOTS");
  t.npix_x = file.require_key_int("NPIX_X");
  t.npix_y = file.require_key_int("NPIX_Y");
  t.fiber = file.read_column_int("FIBER");
  t.wave = file.read_column_double("WAVELENGTH");
  t.kind = file.read_column_string("KIND");
  t.x = file.read_column_double("X");
  t.y = file.read_column_double("Y");
  t.wxmin = file.read_column_int("WXMIN");
  t.wxmax = file.read_column_int("WXMAX");
  t.wymin = file.read_column_int("WYMIN");
  t.wymax = file.read_column_int("WYMAX");
  t.xlo = file.read_column_int("XLO");
  t.ylo = file.read_column_int("YLO");
  t.nx = file.read_column_int("NX");
  t.ny = file.read_column_int("NY");
  t.spot_repeat = file.column_repeat("SPOT");
  t.spot = file.read_column_double("SPOT");
  file.move_to("WRANGE");
  t.wrange_fiber = file.read_column_int("FIBER");
  t.wrange_min = file.read_column_double("WAVEMIN");
  t.wrange_max = file.read_column_double("WAVEMAX");
  return t;
}

// The window a row passed to xypix; the whole CCD means "no window" for evaluate_spots.
SpotRequest request_of(const SpotTable& t, std::size_t row) {
  SpotRequest r;
  r.fiber = static_cast<int>(t.fiber[row]);
  r.wavelength = t.wave[row];
  const bool full_ccd =
      t.wxmin[row] == 0 && t.wxmax[row] == t.npix_x && t.wymin[row] == 0 && t.wymax[row] == t.npix_y;
  if (!full_ccd) {
    r.has_window = true;
    r.window.xmin = static_cast<int>(t.wxmin[row]);
    r.window.xmax = static_cast<int>(t.wxmax[row]);
    r.window.ymin = static_cast<int>(t.wymin[row]);
    r.window.ymax = static_cast<int>(t.wymax[row]);
  }
  return r;
}

void check_spot_table(const std::string& psf_name, const std::string& table_name, std::size_t expected_rows) {
  const Psf psf = Psf::load(libextract_test::shared_file(psf_name));
  const SpotTable t = read_spot_table(libextract_test::shared_file(table_name));
  // The README's row counts: a short read would otherwise pass vacuously.
  ASSERT_EQ(t.fiber.size(), expected_rows);
  ASSERT_EQ(t.npix_x, psf.npix_x());
  ASSERT_EQ(t.npix_y, psf.npix_y());

  std::vector<SpotRequest> requests;
  int windowed = 0;
  for (std::size_t row = 0; row < t.fiber.size(); ++row) {
    requests.push_back(request_of(t, row));
    windowed += requests.back().has_window;
  }
  EXPECT_GE(windowed, 20);  // the window-* rows (5 each of four kinds, plus window-out)
  const SpotBatch batch = libextract::evaluate_spots(psf, requests, Compat::specter, cpu_backend());
  const int cell = batch.nx_max * batch.ny_max;
  ASSERT_EQ(t.spot_repeat, cell) << "SPOT column is not NXMAX*NYMAX of this PSF";

  double max_xy_rel = 0.0, max_spot = 0.0;
  int empty = 0, failures = 0;
  for (std::size_t row = 0; row < t.fiber.size(); ++row) {
    const std::string where = table_name + " row " + std::to_string(row) + " (" + t.kind[row] + ", fiber " +
                              std::to_string(t.fiber[row]) + ", " + std::to_string(t.wave[row]) + " A)";
    EXPECT_EQ(batch.nx[row], t.nx[row]) << where;
    EXPECT_EQ(batch.ny[row], t.ny[row]) << where;
    if (t.nx[row] > 0 && t.ny[row] > 0) {
      EXPECT_EQ(batch.xlo[row], t.xlo[row]) << where;
      EXPECT_EQ(batch.ylo[row], t.ylo[row]) << where;
    } else {
      ++empty;
    }
    // X and Y are evaluated even for empty rows.
    const double rx = std::fabs(batch.x[row] - t.x[row]) / std::fabs(t.x[row]);
    const double ry = std::fabs(batch.y[row] - t.y[row]) / std::fabs(t.y[row]);
    max_xy_rel = std::max({max_xy_rel, rx, ry});
    EXPECT_LE(rx, 1e-12) << where << ": X " << batch.x[row] << " vs " << t.x[row];
    EXPECT_LE(ry, 1e-12) << where << ": Y " << batch.y[row] << " vs " << t.y[row];
    // Every element of the padded cell, so the zero padding is checked too.
    double worst = 0.0;
    const double* got = batch.stamp(row);
    const double* want = t.spot.data() + row * cell;
    for (int k = 0; k < cell; ++k) worst = std::max(worst, std::fabs(got[k] - want[k]));
    max_spot = std::max(max_spot, worst);
    if (worst > 1e-15 && failures++ < 10) ADD_FAILURE() << where << ": max |SPOT difference| = " << worst;
  }
  std::printf(
      "[ specter  ] %s: %zu rows (%d empty, %d windowed): max X/Y rel diff %.3g, max SPOT diff %.3g\n",
      table_name.c_str(), t.fiber.size(), empty, windowed, max_xy_rel, max_spot);
  EXPECT_LE(max_spot, 1e-15);
  EXPECT_GE(empty, 20);  // below-range, above-range, window-out and most near-wave* rows
}

// WRANGE: specter's per-fibre valid range, the values of its fitted inverse trace at
// y = -0.5 and NPIX_Y - 0.5. They decide which stamps are empty.
void check_wrange(const std::string& psf_name, const std::string& table_name) {
  const Psf psf = Psf::load(libextract_test::shared_file(psf_name));
  const SpotTable t = read_spot_table(libextract_test::shared_file(table_name));
  ASSERT_EQ(t.wrange_fiber.size(), static_cast<std::size_t>(psf.nspec()));
  double max_wrange = 0.0;
  std::string worst;
  for (std::size_t f = 0; f < t.wrange_fiber.size(); ++f) {
    ASSERT_EQ(t.wrange_fiber[f], static_cast<long long>(f));
    const double dmin = std::fabs(psf.wavemin_fiber(static_cast<int>(f)) - t.wrange_min[f]);
    const double dmax = std::fabs(psf.wavemax_fiber(static_cast<int>(f)) - t.wrange_max[f]);
    if (std::max(dmin, dmax) > max_wrange) {
      max_wrange = std::max(dmin, dmax);
      worst = "fiber " + std::to_string(f) + (dmin > dmax ? " WAVEMIN" : " WAVEMAX");
    }
  }
  std::printf("[ wrange   ] %s: %zu fibres, max |valid range - WRANGE| = %.3g A (%s)\n", table_name.c_str(),
              t.wrange_fiber.size(), max_wrange, worst.c_str());
  EXPECT_LE(max_wrange, 1e-9) << table_name << ", worst at " << worst;
}

TEST(SpotsReference, SpecterTableR0) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("spots-r0-00051060.fits");
  check_spot_table("psf-r0-00051060.fits", "spots-r0-00051060.fits", 342);
}

TEST(SpotsReference, SpecterTableGaussHermiteV2) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("spots-gausshermite-v2.fits");
  check_spot_table("psf-gausshermite-v2.fits", "spots-gausshermite-v2.fits", 354);
}

TEST(SpotsReference, ValidRangesR0) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("spots-r0-00051060.fits");
  check_wrange("psf-r0-00051060.fits", "spots-r0-00051060.fits");
}

TEST(SpotsReference, ValidRangesGaussHermiteV2) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("spots-gausshermite-v2.fits");
  check_wrange("psf-gausshermite-v2.fits", "spots-gausshermite-v2.fits");
}

// gpu_specter-spec §3, reference values for r0-00051060.
struct GpuSpecterRow {
  int fiber;
  double wave, x, y, dx, dy;
  int corner_x, corner_y;
  int peak_y, peak_x;
  double peak;
};

const GpuSpecterRow gpu_specter_rows[] = {
    {0, 6000.0, 120.943834933105, 801.974643466942, -0.056165066895, -0.025356533058, 113, 797, 802, 121,
     0.101920758807013},
    {0, 6690.0, 119.946811556363, 2071.626978493182, -0.053188443637, -0.373021506818, 112, 2067, 2072, 120,
     0.097536894499061},
    {0, 7500.0, 112.062180700222, 3648.894534002769, +0.062180700222, -0.105465997231, 104, 3644, 3649, 112,
     0.093293855131418},
    {250, 6000.0, 2040.995400722371, 695.960102002038, -0.004599277629, -0.039897997962, 2033, 691, 696, 2041,
     0.099941529947677},
    {250, 6690.0, 2040.709036581219, 1954.048638569385, -0.290963418781, +0.048638569385, 2033, 1949, 1954,
     2041, 0.096476887499121},
    {250, 7500.0, 2040.376995411019, 3514.042789017634, +0.376995411019, +0.042789017634, 2032, 3509, 3514,
     2040, 0.091869081164737},
    {499, 6000.0, 3943.745986361133, 800.696745476543, -0.254013638867, -0.303254523457, 3936, 796, 801, 3944,
     0.101696130116399},
    {499, 6690.0, 3943.688697549728, 2070.209248472349, -0.311302450272, +0.209248472349, 3936, 2065, 2070,
     3943, 0.094741983313064},
    {499, 7500.0, 3951.509990439270, 3647.401215977823, -0.490009560730, +0.401215977823, 3944, 3642, 3647,
     3951, 0.088537513394331},
};

TEST(SpotsReference, GpuSpecterTableRows) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const Psf psf = Psf::load(libextract_test::shared_file("psf-r0-00051060.fits"));
  std::vector<SpotRequest> requests;
  for (const auto& row : gpu_specter_rows) {
    SpotRequest r;
    r.fiber = row.fiber;
    r.wavelength = row.wave;
    requests.push_back(r);
  }
  const SpotBatch batch = libextract::evaluate_spots(psf, requests, Compat::gpu_specter, cpu_backend());
  double max_peak = 0.0;
  for (std::size_t s = 0; s < requests.size(); ++s) {
    const GpuSpecterRow& row = gpu_specter_rows[s];
    SCOPED_TRACE("fiber " + std::to_string(row.fiber) + ", " + std::to_string(row.wave) + " A");
    // Values are quoted with 12 decimals.
    EXPECT_NEAR(batch.x[s], row.x, 1e-12 * row.x);
    EXPECT_NEAR(batch.y[s], row.y, 1e-12 * row.y);
    EXPECT_EQ(batch.xlo[s], row.corner_x);
    EXPECT_EQ(batch.ylo[s], row.corner_y);
    ASSERT_EQ(batch.nx[s], 17);
    ASSERT_EQ(batch.ny[s], 11);
    // The sub-pixel offset is the centre minus the stamp's central pixel.
    EXPECT_NEAR(batch.x[s] - (batch.xlo[s] + psf.hsize_x()), row.dx, 1e-12);
    EXPECT_NEAR(batch.y[s] - (batch.ylo[s] + psf.hsize_y()), row.dy, 1e-12);
    const double* v = batch.stamp(s);
    const int k = static_cast<int>(std::max_element(v, v + batch.nx_max * batch.ny_max) - v);
    EXPECT_EQ(batch.ylo[s] + k / batch.nx_max, row.peak_y);
    EXPECT_EQ(batch.xlo[s] + k % batch.nx_max, row.peak_x);
    EXPECT_NEAR(v[k], row.peak, 1e-15);
    max_peak = std::max(max_peak, std::fabs(v[k] - row.peak));
  }
  std::printf("[ gpu_spec ] 9 reference rows: max |peak - reference| = %.3g\n", max_peak);
}

// gpu_specter-spec §3, "Example (bottom edge)": fibre 0 at 5548.6 A has Y = 4.1948.
// gpu_specter keeps its fixed 11 x 17 stamp from row -1, normalised over all of it;
// specter starts at trunc(-0.305) = 0 and normalises 10 rows.
TEST(SpotsReference, BottomEdgeStampBothRules) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const Psf psf = Psf::load(libextract_test::shared_file("psf-r0-00051060.fits"));
  const std::vector<SpotRequest> requests = {SpotRequest{0, 5548.6, false, {}}};

  const SpotBatch gpu = libextract::evaluate_spots(psf, requests, Compat::gpu_specter, cpu_backend());
  EXPECT_NEAR(gpu.y[0], 4.1948, 5e-5);
  EXPECT_EQ(gpu.ylo[0], -1);
  EXPECT_EQ(gpu.ny[0], 11);
  EXPECT_EQ(gpu.nx[0], 17);
  double total = 0.0, below = 0.0;
  for (int j = 0; j < gpu.ny_max; ++j) {
    for (int i = 0; i < gpu.nx_max; ++i) {
      total += gpu.stamp(0)[j * gpu.nx_max + i];
      if (j == 0) below += gpu.stamp(0)[j * gpu.nx_max + i];
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-14);
  EXPECT_NEAR(below, 1.04e-4, 0.005e-4);  // the light in row -1, quoted to 3 digits

  const SpotBatch sp = libextract::evaluate_spots(psf, requests, Compat::specter, cpu_backend());
  EXPECT_EQ(sp.y[0], gpu.y[0]);
  EXPECT_EQ(sp.ylo[0], 0);
  EXPECT_EQ(sp.ny[0], 10);
  EXPECT_EQ(sp.xlo[0], gpu.xlo[0]);
  double sp_total = 0.0;
  for (int k = 0; k < sp.nx_max * sp.ny_max; ++k) sp_total += sp.stamp(0)[k];
  EXPECT_NEAR(sp_total, 1.0, 1e-14);
}

}  // namespace
