// labels: reference
// The whole engine against the float64 references of specter and gpu_specter in
// ../shared/data (each code's own decomposition rules, via --compat), at the
// tolerances their independent re-implementations reached: FLUX, IVAR, CHI2PIX
// ≤ 1e-10 relative, RESOLUTION ≤ 1e-12 absolute, PIXMASK_FRACTION ≤ 1e-14 absolute,
// MODEL ≤ 1e-10 of its maximum; and pulls against the truth within 0.01 of the
// reference's own.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/reference_case.hpp"
#include "common/test_data.hpp"

namespace {

using namespace libextract_test;

struct Case {
  const char* folder;
  const char* reference;
  libextract::Compat compat;
  int bundlesize;
  bool decorrelate;
};

class ReferenceCase : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceCase, MatchesReference) {
  const Case c = GetParam();
  const std::string dir = std::string(c.folder) + "/";
  LIBEXTRACT_REQUIRE_SHARED_FILE(dir + c.reference + ".fits.gz");
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const ReferenceFrame ref = read_reference(shared_file(dir + c.reference + ".fits.gz"));
  const libextract::Image image = libextract::read_preproc(shared_file(dir + "preproc.fits.gz"));
  const libextract::Psf psf = libextract::Psf::load(shared_file("psf-r0-00051060.fits"));

  libextract::ExtractOptions o;
  o.wavelengths = ref.wave;  // the grid is a separate test; here use the reference's values
  o.grid.reset();
  o.specmin = 0;
  o.nspec = ref.nspec;
  o.bundlesize = c.bundlesize;
  o.nsubbundles = 5;
  o.compat = c.compat;
  o.decorrelate_fibers = c.decorrelate;
  o.model = true;
  o.backend.kind = libextract::BackendKind::cpu;
  libextract::ExtractReport report;
  const libextract::Frame frame = libextract::extract_frame(image, psf, o, &report);
  const FrameAgreement a = compare_with_reference(frame, report, ref);
  std::vector<double> model_cut;
  double model_max = 0;
  for (int y = ref.model_y0; y < ref.model_y1; ++y) {
    for (int x = ref.model_x0; x < ref.model_x1; ++x) {
      model_cut.push_back(frame.model[static_cast<std::size_t>(y) * frame.model_cols + x]);
    }
  }
  for (double v : ref.model) model_max = std::max(model_max, std::fabs(v));
  const double model = max_absolute(model_cut, ref.model) / model_max;
  std::printf(
      "%s/%s: flux %.2e ivar %.2e chi2pix %.2e R %.2e pmf %.2e model %.2e; %ld bins in patches with "
      "kappa > 1e6, max pull difference there %.2e\n",
      c.folder, c.reference, a.flux, a.ivar, a.chi2pix, a.resolution, a.pmf, model, a.ill_bins, a.pull_ill);
  expect_reference_tolerances(a);
  EXPECT_LE(model, 1e-10);

  const Truth truth = read_truth(shared_file(dir + "truth.fits.gz"));
  const PullStats ours = truth_pull(frame.wave, frame.flux, frame.ivar, frame.resolution,
                                    frame.pixmask_fraction, frame.nspec, frame.ndiag, truth);
  const PullStats theirs =
      truth_pull(ref.wave, ref.flux, ref.ivar, ref.resolution, ref.pmf, ref.nspec, ref.ndiag, truth);
  std::printf(
      "pull vs truth: ours mean %.4f std %.4f max %.3f (n=%ld); reference mean %.4f std %.4f max %.3f\n",
      ours.mean, ours.std, ours.max_abs, ours.count, theirs.mean, theirs.std, theirs.max_abs);
  EXPECT_EQ(ours.count, theirs.count);
  EXPECT_NEAR(ours.mean, theirs.mean, 0.01);
  EXPECT_NEAR(ours.std, theirs.std, 0.01);
}

INSTANTIATE_TEST_SUITE_P(
    SharedCases, ReferenceCase,
    ::testing::Values(Case{"case-small", "gpu_specter", libextract::Compat::gpu_specter, 5, false},
                      Case{"case-small", "specter", libextract::Compat::specter, 25, false},
                      Case{"case-bundle", "gpu_specter", libextract::Compat::gpu_specter, 25, false},
                      Case{"case-bundle", "specter", libextract::Compat::specter, 25, false},
                      Case{"case-decorr", "gpu_specter-ndecorr", libextract::Compat::gpu_specter, 5, true},
                      Case{"case-decorr", "specter-ndecorr", libextract::Compat::specter, 25, true}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = std::string(info.param.folder) + "_" + info.param.reference;
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

}  // namespace
