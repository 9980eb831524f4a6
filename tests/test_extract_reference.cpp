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
  // Condition number of the patch that stored each bin: 1e-10 is the agreement of
  // well-posed patches (κ ≤ 1e6); beyond, both codes' rounding is amplified by κ
  // (extraction-spec §7.3), so those bins are compared in pull units (≤ 1e-5 σ) and
  // ivar/R within the first-order bound κ·ε.
  std::vector<double> kappa(frame.flux.size(), 0.0);
  for (const auto& d : report.patch_diagnostics) {
    for (int s = d.core_fiber_lo; s < d.core_fiber_hi; ++s)
      for (int k = d.wave_lo; k < d.wave_hi; ++k)
        kappa[static_cast<std::size_t>(s) * frame.nwave + k] = 1.0 / d.rcond;
  }
  const int nd = 2 * frame.ndiag + 1;
  double flux = 0, ivar = 0, chi2 = 0, res = 0, pmf = 0, pull_ill = 0;
  long ill_bins = 0;
  for (std::size_t i = 0; i < frame.flux.size(); ++i) {
    const double flux_rel = std::fabs(frame.flux[i] - ref.flux[i]) / std::fabs(ref.flux[i]);
    const double ivar_rel = std::fabs(frame.ivar[i] - ref.ivar[i]) / std::fabs(ref.ivar[i]);
    double r_abs = 0;
    const std::size_t s = i / frame.nwave, k = i % frame.nwave;
    for (int d = 0; d < nd; ++d) {
      const std::size_t at = (s * nd + d) * frame.nwave + k;
      r_abs = std::max(r_abs, std::fabs(frame.resolution[at] - ref.resolution[at]));
    }
    chi2 = std::max(chi2, std::fabs(frame.chi2pix[i] - ref.chi2pix[i]) / std::fabs(ref.chi2pix[i]));
    pmf = std::max(pmf, std::fabs(frame.pixmask_fraction[i] - ref.pmf[i]));
    if (kappa[i] <= 1e6) {
      flux = std::max(flux, flux_rel);
      ivar = std::max(ivar, ivar_rel);
      res = std::max(res, r_abs);
    } else {
      ++ill_bins;
      const double pull =
          std::fabs(frame.flux[i] - ref.flux[i]) * std::sqrt(1.0 / (1.0 / frame.ivar[i] + 1.0 / ref.ivar[i]));
      pull_ill = std::max(pull_ill, pull);
      const double bound = kappa[i] * 2.220446049250313e-16;
      EXPECT_LE(ivar_rel, bound) << "bin " << i << " kappa " << kappa[i];
      EXPECT_LE(r_abs, bound) << "bin " << i << " kappa " << kappa[i];
    }
  }
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
      c.folder, c.reference, flux, ivar, chi2, res, pmf, model, ill_bins, pull_ill);
  EXPECT_LE(flux, 1e-10);
  EXPECT_LE(ivar, 1e-10);
  EXPECT_LE(chi2, 1e-10);
  EXPECT_LE(res, 1e-12);
  EXPECT_LE(pmf, 1e-14);
  EXPECT_LE(model, 1e-10);
  EXPECT_LE(pull_ill, 1e-5);

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
