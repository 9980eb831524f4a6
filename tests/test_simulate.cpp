// labels: unit reference
// The simulator: flux conservation of the projection (including stamps cut by the CCD
// edge), noiseless images, determinism, defects, noise statistics, truth files, and
// agreement with the shared reference cases (lattice, footprint, MODEL projection).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace {

using namespace libextract;
using libextract_test::scratch_dir;
using libextract_test::shared_file;

// A 25-fibre synthetic r camera, written once per test program.
const Psf& synthetic_psf() {
  static const Psf psf = [] {
    SyntheticPsfOptions options = synthetic_psf_for_camera('r');
    options.nspec = 25;
    options.seed = 7;
    const std::string path = scratch_dir() + "/simulate-psf.fits";
    write_synthetic_psf(path, options);
    return Psf::load(path);
  }();
  return psf;
}

double common_wavemin(const Psf& psf, int specmin, int nspec) {
  double lo = psf.wavemin_fiber(specmin);
  for (int f = specmin; f < specmin + nspec; ++f) lo = std::max(lo, psf.wavemin_fiber(f));
  return lo;
}

SimulationOptions small_options() {
  SimulationOptions o;
  o.grid = {6000.0, 6079.2, 0.8};  // 100 bins
  o.specmin = 3;
  o.nspec = 4;
  o.seed = 11;
  return o;
}

double model_at(const SimulationResult& r, int y, int x) {
  const PixelWindow& w = r.model_window;
  if (y < w.ymin || y >= w.ymax || x < w.xmin || x >= w.xmax) return 0.0;
  return r.model[static_cast<std::size_t>(y - w.ymin) * (w.xmax - w.xmin) + (x - w.xmin)];
}

bool inside(const PixelWindow& w, int y, int x) {
  return y >= w.ymin && y < w.ymax && x >= w.xmin && x < w.xmax;
}

TEST(Simulate, ModelConservesFluxIncludingCutStamps) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  // A grid starting just inside the fibres' range: the lattice padding reaches below
  // the CCD, so some stamps are cut by its edge and others are empty.
  const double start = std::ceil(common_wavemin(psf, o.specmin, o.nspec)) + 2.0;
  o.grid = {start, start + 79.2, 0.8};
  const SimulationResult r = simulate_image(psf, o);
  const SimulationTruth& t = r.truth;
  ASSERT_EQ(t.nsim(), 100 + 2 * 62);

  std::vector<SpotRequest> requests;
  for (int i = 0; i < o.nspec; ++i)
    for (double w : t.wave) requests.push_back(SpotRequest{o.specmin + i, w, false, {}});
  const SpotBatch spots = evaluate_spots(psf, requests, Compat::specter);
  double expected = 0.0;
  int cut = 0, empty = 0;
  for (std::size_t s = 0; s < spots.size(); ++s) {
    double fraction = 0.0;  // of the stamp on the CCD (specter stamps sum to 1 uncut)
    for (int j = 0; j < spots.ny[s]; ++j)
      for (int i = 0; i < spots.nx[s]; ++i) fraction += spots.stamp(s)[j * spots.nx_max + i];
    expected += t.phot[s] * fraction;
    cut += (fraction > 0.0 && fraction < 1.0 - 1e-9);
    empty += (spots.nx[s] == 0);
  }
  EXPECT_GT(cut, 0);
  EXPECT_GT(empty, 0);
  double total = 0.0;
  for (double m : r.model) total += m;
  EXPECT_NEAR(total, expected, 1e-9 * expected);

  // The truth MODEL is the model inside the packed region, OUTFRAC the rest.
  double in_pack = 0.0;
  for (double m : t.model) in_pack += m;
  EXPECT_NEAR(t.outfrac, (total - in_pack) / total, 1e-12);
  EXPECT_EQ(t.model_window.xmin, r.pack_window.xmin);
  EXPECT_EQ(t.model_window.ymax, r.pack_window.ymax);
}

TEST(Simulate, NoiselessImageIsTheModel) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.noiseless = true;
  const SimulationResult r = simulate_image(psf, o);
  const Image& image = r.image;
  ASSERT_EQ(image.nrows, psf.npix_y());
  ASSERT_EQ(image.ncols, psf.npix_x());
  long long mismatches = 0, ivar_mismatches = 0, outside_nonzero = 0;
  for (int y = 0; y < image.nrows; ++y) {
    for (int x = 0; x < image.ncols; ++x) {
      const std::size_t k = static_cast<std::size_t>(y) * image.ncols + x;
      if (inside(r.pack_window, y, x)) {
        const double m = model_at(r, y, x);
        mismatches += (image.pixels[k] != m);
        ivar_mismatches += (image.ivar[k] != 1.0 / (9.0 + m));
      } else {
        outside_nonzero += (image.pixels[k] != 0.0 || image.ivar[k] != 0.0 || image.mask[k] != 0);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(ivar_mismatches, 0);
  EXPECT_EQ(outside_nonzero, 0);
  // The packed region is the footprint widened by 40 columns and 80 rows.
  EXPECT_EQ(r.pack_window.xmin, r.footprint.xmin - 40);
  EXPECT_EQ(r.pack_window.xmax, r.footprint.xmax + 40);
  EXPECT_EQ(r.pack_window.ymin, r.footprint.ymin - 80);
  EXPECT_EQ(r.pack_window.ymax, r.footprint.ymax + 80);
}

TEST(Simulate, DeterministicForASeed) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.cosmics = 2;
  o.badpix = 5;
  const SimulationResult a = simulate_image(psf, o);
  const SimulationResult b = simulate_image(psf, o);
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  EXPECT_EQ(a.image.ivar, b.image.ivar);
  EXPECT_EQ(a.image.mask, b.image.mask);
  EXPECT_EQ(a.truth.phot, b.truth.phot);
  o.seed = 12;
  const SimulationResult c = simulate_image(psf, o);
  EXPECT_NE(a.image.pixels, c.image.pixels);
  EXPECT_NE(a.truth.phot, c.truth.phot);
  // A fibre's spectrum depends on the seed and the fibre, not on which others run.
  SimulationOptions one = small_options();
  one.specmin = 5;
  one.nspec = 1;
  const SimulationResult d = simulate_image(psf, one);
  const int nsim = d.truth.nsim();
  EXPECT_TRUE(std::equal(d.truth.phot.begin(), d.truth.phot.end(), a.truth.phot.begin() + 2 * nsim));
}

TEST(Simulate, DefectsAreMaskedWithIvarZero) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.cosmics = 3;
  o.badpix = 25;
  const SimulationResult r = simulate_image(psf, o);
  const Image& image = r.image;
  std::set<std::pair<int, int>> pixels;
  int bad = 0, cosmic = 0;
  for (const SimulatedDefect& d : r.truth.defects) {
    const std::size_t k = static_cast<std::size_t>(d.y) * image.ncols + d.x;
    ASSERT_TRUE(inside(r.pack_window, d.y, d.x));
    EXPECT_EQ(image.ivar[k], 0.0);
    if (d.kind == DefectKind::bad_pixel) {
      ++bad;
      EXPECT_TRUE(image.mask[k] & preproc_mask_bad);
      EXPECT_TRUE(inside(r.footprint, d.y, d.x));
      EXPECT_TRUE(d.value == 0.0 || d.value == 1e5 || d.value == -500.0);
      if (!(image.mask[k] & preproc_mask_cosmic)) EXPECT_EQ(image.pixels[k], d.value);
    } else {
      ++cosmic;
      EXPECT_TRUE(image.mask[k] & preproc_mask_cosmic);
      EXPECT_GE(d.value, 1000.0);
      EXPECT_LE(d.value, 8000.0);
    }
    pixels.insert({d.y, d.x});
  }
  EXPECT_EQ(bad, 25);
  EXPECT_GE(cosmic, 3 * 2 * 8);  // >= 15 px long, two pixels per step (at least 15/sqrt(2) steps)
  EXPECT_LE(cosmic, 3 * 2 * 61);
  long long masked = 0;
  for (std::int32_t m : image.mask) masked += (m != 0);
  EXPECT_EQ(masked, static_cast<long long>(pixels.size()));
}

TEST(Simulate, NoiseIsPoissonPlusReadNoise) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.nspec = 10;
  const SimulationResult r = simulate_image(psf, o);
  const Image& image = r.image;
  double sum = 0.0, sum2 = 0.0;
  long long n = 0;
  double sum_bright = 0.0, sum2_bright = 0.0;
  long long n_bright = 0;
  for (int y = r.pack_window.ymin; y < r.pack_window.ymax; ++y) {
    for (int x = r.pack_window.xmin; x < r.pack_window.xmax; ++x) {
      const std::size_t k = static_cast<std::size_t>(y) * image.ncols + x;
      const double pull = (image.pixels[k] - model_at(r, y, x)) * std::sqrt(image.ivar[k]);
      sum += pull, sum2 += pull * pull, ++n;
      if (model_at(r, y, x) > 500.0) sum_bright += pull, sum2_bright += pull * pull, ++n_bright;
    }
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_LT(std::fabs(mean), 0.01) << n << " pixels";
  EXPECT_NEAR(sd, 1.0, 0.01);
  ASSERT_GT(n_bright, 1000);
  const double mean_b = sum_bright / n_bright, sd_b = std::sqrt(sum2_bright / n_bright - mean_b * mean_b);
  EXPECT_LT(std::fabs(mean_b), 0.05) << n_bright << " bright pixels";
  EXPECT_NEAR(sd_b, 1.0, 0.05);
}

TEST(Simulate, TruthAndPreprocFilesReadBack) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.cosmics = 1;
  o.badpix = 4;
  const SimulationResult r = simulate_image(psf, o);
  const std::string truth_path = scratch_dir() + "/sim-truth.fits";
  const std::string image_path = scratch_dir() + "/sim-preproc.fits.gz";
  write_truth(truth_path, r.truth);
  write_preproc(image_path, r.image, r.fibers);

  const SimulationTruth t = read_truth(truth_path);
  EXPECT_EQ(t.wave, r.truth.wave);
  EXPECT_EQ(t.phot, r.truth.phot);
  EXPECT_EQ(t.flux, r.truth.flux);
  EXPECT_EQ(t.model, r.truth.model);
  EXPECT_EQ(t.outfrac, r.truth.outfrac);
  EXPECT_EQ(t.specmin, 3);
  EXPECT_EQ(t.nspec, 4);
  EXPECT_EQ(t.seed, 11u);
  EXPECT_EQ(t.grid_offset, 62);
  EXPECT_EQ(t.grid.wmax, 6079.2);
  EXPECT_EQ(t.psf_path, psf.path());
  ASSERT_EQ(t.defects.size(), r.truth.defects.size());
  for (std::size_t i = 0; i < t.defects.size(); ++i) {
    EXPECT_EQ(t.defects[i].kind, r.truth.defects[i].kind);
    EXPECT_EQ(t.defects[i].y, r.truth.defects[i].y);
    EXPECT_EQ(t.defects[i].value, r.truth.defects[i].value);
  }
  ASSERT_EQ(t.lines.size(), r.truth.lines.size());
  EXPECT_EQ(t.lines.back().phot, r.truth.lines.back().phot);
  EXPECT_EQ(t.model_window.ymin, r.truth.model_window.ymin);

  const Image back = read_preproc(image_path);
  ASSERT_EQ(back.pixels.size(), r.image.pixels.size());
  long long mismatches = 0;
  for (std::size_t k = 0; k < back.pixels.size(); ++k) {
    mismatches += back.pixels[k] != static_cast<double>(static_cast<float>(r.image.pixels[k]));
    mismatches += back.ivar[k] != static_cast<double>(static_cast<float>(r.image.ivar[k]));
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(back.mask, r.image.mask);
  EXPECT_TRUE(back.has_fibermap);
  std::remove(truth_path.c_str());
  std::remove(image_path.c_str());
}

TEST(Simulate, BundleOf500BinsIsQuick) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o;
  o.grid = {5760.0, 6159.2, 0.8};
  o.nspec = 25;
  o.cosmics = 2;
  o.badpix = 20;
  const auto start = std::chrono::steady_clock::now();
  const SimulationResult r = simulate_image(psf, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.truth.nsim(), 624);
  EXPECT_LT(seconds, 20.0);  // about a second on one core; generous for loaded CI hosts
  RecordProperty("seconds", std::to_string(seconds));
}

std::string error_of(const Psf& psf, const SimulationOptions& o) {
  try {
    simulate_image(psf, o);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  return "";
}

TEST(Simulate, ErrorsNameTheOption) {
  const Psf& psf = synthetic_psf();
  SimulationOptions o = small_options();
  o.grid = {3000.0, 3100.0, 0.8};
  EXPECT_NE(error_of(psf, o).find("-w/--wavelength"), std::string::npos);
  o = small_options();
  o.grid = {6000.0, 5000.0, 0.8};
  EXPECT_NE(error_of(psf, o).find("-w/--wavelength"), std::string::npos);
  o = small_options();
  o.nspec = 30;
  EXPECT_NE(error_of(psf, o).find("-n/--nspec"), std::string::npos);
  o = small_options();
  o.specmin = -1;
  EXPECT_NE(error_of(psf, o).find("-s/--specmin"), std::string::npos);
  o = small_options();
  o.readnoise = 0.0;
  EXPECT_NE(error_of(psf, o).find("--readnoise"), std::string::npos);
  o = small_options();
  o.cosmics = -1;
  EXPECT_NE(error_of(psf, o).find("--cosmics"), std::string::npos);
}

// --- the shared reference cases ------------------------------------------------------

TEST(SimulateReference, LatticeAndPackedRegionMatchCaseSmall) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-small/truth.fits.gz");
  const Psf psf = Psf::load(shared_file("psf-r0-00051060.fits"));
  const SimulationTruth reference = read_truth(shared_file("case-small/truth.fits.gz"));
  EXPECT_EQ(reference.grid_offset, 62);
  SimulationOptions o;
  o.nspec = 5;
  o.cosmics = 2;
  o.badpix = 20;
  const SimulationResult r = simulate_image(psf, o);
  EXPECT_EQ(r.truth.wave, reference.wave);  // bitwise: the same lattice
  // case.json: footprint [113, 160, 366, 663], pack_rect [73, 200, 286, 743].
  EXPECT_EQ(r.footprint.xmin, 113);
  EXPECT_EQ(r.footprint.xmax, 160);
  EXPECT_EQ(r.footprint.ymin, 366);
  EXPECT_EQ(r.footprint.ymax, 663);
  EXPECT_EQ(r.truth.model_window.xmin, reference.model_window.xmin);
  EXPECT_EQ(r.truth.model_window.xmax, reference.model_window.xmax);
  EXPECT_EQ(r.truth.model_window.ymin, reference.model_window.ymin);
  EXPECT_EQ(r.truth.model_window.ymax, reference.model_window.ymax);
}

TEST(SimulateReference, ProjectionReproducesTruthModel) {
  for (const char* name : {"case-small", "case-bundle"}) {
    const std::string path = shared_file(std::string(name) + "/truth.fits.gz");
    if (!libextract_test::file_exists(path)) GTEST_SKIP() << "shared reference data not found: " << path;
    const Psf psf = Psf::load(shared_file("psf-r0-00051060.fits"));
    const SimulationTruth t = read_truth(path);
    const std::vector<double> model =
        project_spectra(psf, t.specmin, t.nspec, t.wave, t.phot, t.model_window);
    ASSERT_EQ(model.size(), t.model.size());
    double peak = 0.0, worst = 0.0, total = 0.0, total_ref = 0.0;
    for (std::size_t k = 0; k < model.size(); ++k) {
      peak = std::max(peak, std::fabs(t.model[k]));
      worst = std::max(worst, std::fabs(model[k] - t.model[k]));
      total += model[k];
      total_ref += t.model[k];
    }
    EXPECT_LT(worst, 1e-12 * peak) << name << ": max |difference| " << worst << " of peak " << peak;
    EXPECT_NEAR(total, total_ref, 1e-12 * total_ref) << name;
  }
}

}  // namespace
