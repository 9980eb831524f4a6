// labels: unit reference
// Patch geometry against the reference tables: extraction-spec §4.11 (specter rules)
// and gpu_specter-spec §6.4 (gpu_specter rules), exactly, on the DESI r grid.
#include <gtest/gtest.h>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "kernels/spot.hpp"
#include "patch_plan.hpp"
#include "psf_model.hpp"

namespace {

using libextract::detail::Patch;
using libextract::detail::Plan;

Plan full_r_plan(const libextract::Psf& psf, libextract::Compat compat) {
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{5760.0, 7620.0, 0.8};
  o.compat = compat;
  return libextract::detail::make_plan(psf, o, psf.npix_y(), psf.npix_x());
}

const Patch* find(const Plan& plan, int lo, int hi, int col) {
  for (const Patch& p : plan.patches)
    if (p.fiber_lo == lo && p.fiber_hi == hi && p.out_col == col) return &p;
  return nullptr;
}

TEST(PatchPlan, SpecterGeometryMatchesReference) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const auto psf = libextract::Psf::load(libextract_test::shared_file("psf-r0-00051060.fits"));
  const Plan plan = full_r_plan(psf, libextract::Compat::specter);
  EXPECT_EQ(plan.wave.size(), 2326u);
  EXPECT_EQ(plan.patches.size(), 4700u);
  EXPECT_EQ(plan.ndiag, 5);
  struct Row {
    int lo, hi, iwave, x0, x1, y0, y1, nlo, nhi, nw;
  };
  const Row rows[] = {
      {0, 6, 0, 113, 167, 356, 458, 13, 10, 73},
      {0, 6, 50, 113, 167, 427, 529, 12, 10, 72},
      {0, 6, 2300, 103, 157, 3832, 3907, 11, 9, 46},
      {4, 11, 0, 142, 203, 352, 455, 13, 11, 74},
      {19, 25, 0, 251, 304, 340, 443, 13, 11, 74},
      {259, 266, 1000, 2098, 2158, 1700, 1802, 9, 10, 69},
      {494, 500, 2300, 3908, 3961, 3831, 3905, 8, 12, 46},
  };
  for (const Row& r : rows) {
    const Patch* p = find(plan, r.lo, r.hi, r.iwave);
    ASSERT_NE(p, nullptr) << "patch [" << r.lo << "," << r.hi << ") at " << r.iwave;
    EXPECT_EQ(p->x0, r.x0) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->x1, r.x1) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->y0, r.y0) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->y1, r.y1) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->core_offset, r.nlo) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->nwave - p->core_offset - p->ncore, r.nhi) << r.lo << " " << r.iwave;
    EXPECT_EQ(p->nwave, r.nw) << r.lo << " " << r.iwave;
  }
  const Patch* first = find(plan, 0, 6, 0);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(plan.patch_waves[first->wave_offset], 5749.599999999998);
  EXPECT_EQ(plan.patch_waves[first->wave_offset + first->nwave - 1], 5807.200000000011);
}

TEST(PatchPlan, GpuSpecterGeometryMatchesReference) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const auto psf = libextract::Psf::load(libextract_test::shared_file("psf-r0-00051060.fits"));
  const Plan plan = full_r_plan(psf, libextract::Compat::gpu_specter);
  EXPECT_EQ(plan.patches.size(), 4700u);
  EXPECT_EQ(plan.ndiag, 5);
  struct Row {
    int lo, hi, k0, x0, x1, y0, y1, nkeep;
  };
  const Row rows[] = {
      {0, 6, 0, 113, 167, 351, 462, 50},
      {0, 6, 50, 113, 167, 422, 533, 50},
      {0, 6, 2300, 103, 157, 3825, 3952, 26},
      {4, 11, 0, 142, 203, 347, 459, 50},
      {9, 16, 1150, 177, 238, 2019, 2139, 50},
      {19, 25, 0, 251, 304, 335, 447, 50},
      {109, 116, 650, 949, 1010, 1213, 1326, 50},
      {259, 266, 1000, 2098, 2158, 1694, 1806, 50},
      {494, 500, 2300, 3908, 3962, 3824, 3951, 26},
  };
  for (const Row& r : rows) {
    const Patch* p = find(plan, r.lo, r.hi, r.k0);
    ASSERT_NE(p, nullptr) << "patch [" << r.lo << "," << r.hi << ") at " << r.k0;
    EXPECT_EQ(p->x0, r.x0) << r.lo << " " << r.k0;
    EXPECT_EQ(p->x1, r.x1) << r.lo << " " << r.k0;
    EXPECT_EQ(p->y0, r.y0) << r.lo << " " << r.k0;
    EXPECT_EQ(p->y1, r.y1) << r.lo << " " << r.k0;
    EXPECT_EQ(p->nwave, 74);
    EXPECT_EQ(p->nkeep, r.nkeep);
  }
  // The padded grid Λ (gpu_specter-spec §4.3) on the grid's own step δ = wave[1] − wave[0]
  // (docs/compatibility.md D10), bitwise; within (wp + W)·|δ − dw| of gpu_specter's
  // values on the requested dw (5750.4, 5759.2, 7620.800000000423).
  const Patch* first = find(plan, 0, 6, 0);
  const Patch* last = find(plan, 0, 6, 2300);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(last, nullptr);
  const double delta = plan.wave[1] - plan.wave[0];
  EXPECT_EQ(delta, 0.8000000000001819);
  const double bound = (12 + 50) * (delta - 0.8);
  const double* lambda = plan.patch_waves.data() + first->wave_offset;
  EXPECT_EQ(lambda[0], ((0 * delta) - ((11 * delta) + delta)) + 5760.0);
  EXPECT_EQ(lambda[11], ((11 * delta) - ((11 * delta) + delta)) + 5760.0);
  EXPECT_NEAR(lambda[0], 5750.4, bound);
  EXPECT_NEAR(lambda[11], 5759.2, bound);
  EXPECT_EQ(lambda[12], 5760.0);
  // Beyond the grid end: Λ[wp+N+k] = wave[N−1] + (1+k)·δ.
  const double* tail = plan.patch_waves.data() + last->wave_offset;
  EXPECT_EQ(tail[2338 - 2300], plan.wave[2325] + 1 * delta);
  EXPECT_NEAR(tail[2338 - 2300], 7620.800000000423, bound);
  EXPECT_EQ(tail[73], plan.wave[2325] + (1 + 35) * delta);
  EXPECT_NEAR(tail[73], plan.wave[2325] + (1 + 35) * 0.8, bound);
}

TEST(PatchPlan, GpuSpecterTrimUsesBinaryRounding) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  // Grid 7360..7439.2: bundle 0, first subbundle, first patch has dlo = 20, and
  // fl(1 − 0.8)·20 = 3.999… gives tlo = 3 (gpu_specter-spec §6.2).
  const auto psf = libextract::Psf::load(libextract_test::shared_file("psf-r0-00051060.fits"));
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{7360.0, 7439.2, 0.8};
  o.nspec = 25;
  const Plan plan = libextract::detail::make_plan(psf, o, psf.npix_y(), psf.npix_x());
  const Patch& p = plan.patches.front();
  // Window rows keep every core stamp row and exactly dlo − 3 rows below them.
  const auto view = psf.model().view();
  long long ycmin = 1 << 30, ypmin = 1 << 30;
  for (int f = p.fiber_lo; f < p.fiber_hi; ++f) {
    for (int j = 0; j < p.nwave; ++j) {
      const double y = libextract::kernels::trace_y_at(view, f, plan.patch_waves[p.wave_offset + j]);
      const long long yc = libextract::kernels::floor_to_int((y - psf.hsize_y()) + 0.5);
      ypmin = std::min(ypmin, yc);
      if (j >= p.core_offset && j < p.core_offset + p.ncore) ycmin = std::min(ycmin, yc);
    }
  }
  ASSERT_EQ(ycmin - ypmin, 20);
  EXPECT_EQ(p.y0, ypmin + 3);
}

TEST(PatchPlan, SplitBundleMatchesSpecter) {
  using libextract::detail::split_bundle;
  const auto desi = split_bundle(25, 5);
  ASSERT_EQ(desi.size(), 5u);
  EXPECT_EQ(desi[0].ext_lo, 0);
  EXPECT_EQ(desi[0].ext_hi, 6);
  EXPECT_EQ(desi[1].ext_lo, 4);
  EXPECT_EQ(desi[1].ext_hi, 11);
  EXPECT_EQ(desi[4].ext_lo, 19);
  EXPECT_EQ(desi[4].ext_hi, 25);
  const auto three = split_bundle(25, 3);  // sizes [8, 8, 9]
  EXPECT_EQ(three[0].core_hi - three[0].core_lo, 8);
  EXPECT_EQ(three[1].core_hi - three[1].core_lo, 8);
  EXPECT_EQ(three[2].core_hi - three[2].core_lo, 9);
  const auto ten = split_bundle(10, 3);  // [4,3,3] → one pass of swaps → [3,3,4]
  EXPECT_EQ(ten[0].core_hi - ten[0].core_lo, 3);
  EXPECT_EQ(ten[1].core_hi - ten[1].core_lo, 3);
  EXPECT_EQ(ten[2].core_hi - ten[2].core_lo, 4);
  EXPECT_THROW(split_bundle(3, 4), libextract::Error);
}

TEST(PatchPlan, RejectsBadOptions) {
  libextract::SyntheticPsfOptions so;
  so.nspec = 50;
  const std::string path = libextract_test::scratch_dir() + "/plan-psf.fits";
  libextract::write_synthetic_psf(path, so);
  const auto psf = libextract::Psf::load(path);
  auto plan_with = [&](auto edit) {
    libextract::ExtractOptions o;
    o.grid = libextract::WavelengthGrid{6000.0, 6100.0, 0.8};
    edit(o);
    return libextract::detail::make_plan(psf, o, psf.npix_y(), psf.npix_x());
  };
  auto expect_option_error = [&](auto edit, const std::string& option) {
    try {
      plan_with(edit);
      ADD_FAILURE() << "no error for " << option;
    } catch (const libextract::Error& e) {
      EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
  };
  expect_option_error([](auto& o) { o.nspec = 51; }, "--nspec");
  expect_option_error([](auto& o) { o.specmin = -1; }, "--specmin");
  expect_option_error([](auto& o) { o.nsubbundles = 3; }, "--nsubbundles");
  expect_option_error(
      [](auto& o) {
        o.grid = libextract::WavelengthGrid{3000.0, 3100.0, 0.8};
      },
      "--wavelength");
  expect_option_error(
      [](auto& o) {
        o.grid = libextract::WavelengthGrid{6000.0, 6100.0, -0.8};
      },
      "--wavelength");
  expect_option_error([](auto& o) { o.wavelengths = {6000.0, 6000.8, 6001.7}; }, "wavelengths");
  expect_option_error([](auto& o) { o.wavepad = 2; }, "--wavepad");
  EXPECT_THROW(libextract::detail::make_plan(psf, libextract::ExtractOptions{}, 100, 100), libextract::Error);
  // A partial last bundle works: 30 fibres = one bundle of 25 and one of 5.
  const auto plan = plan_with([](auto& o) { o.nspec = 30; });
  EXPECT_EQ(plan.patches.back().core_hi, 30);
  std::remove(path.c_str());
}

}  // namespace
