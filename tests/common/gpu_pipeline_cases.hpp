// Cases and comparisons shared by the tests of the CUDA backend's pipeline: the CPU run
// of the device pipeline (test_gpu_pipeline_on_cpu.cpp, no GPU needed) and the device
// itself (test_gpu_extract.cpp). A case is a plan of patches over an image; the
// comparison applies the tolerance tiers of ../shared/design/architecture.md between
// the CPU backend (LAPACK) and a run of the batched pipeline.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/frame_bits.hpp"
#include "common/reference_case.hpp"
#include "common/test_data.hpp"
#include "kernels/spot.hpp"
#include "libextract/libextract.hpp"
#include "patch_plan.hpp"
#include "patch_solve.hpp"
#include "psf_model.hpp"

namespace libextract_test {

struct PipelineCase {
  std::string name;
  std::shared_ptr<const libextract::Psf> psf;
  std::shared_ptr<libextract::Image> image;
  libextract::ExtractOptions options;
  libextract::detail::Plan plan;
  libextract::detail::SolveSettings settings;
};

inline libextract::detail::SolveSettings settings_for(const libextract::ExtractOptions& o,
                                                      const libextract::detail::Plan& plan) {
  libextract::detail::SolveSettings s;
  s.compat = o.compat;
  s.regularize = o.regularize;
  s.psferr = plan.psferr;
  s.decorrelate_fibers = o.decorrelate_fibers;
  s.model = o.model;
  s.ndiag = plan.ndiag;
  return s;
}

// A synthetic PSF (50 fibres on a 512-column CCD) and an image painted with its own
// spots (smooth spectra plus lines), noise, a masked column band and a masked block.
inline const libextract::Psf& synthetic_pipeline_psf() {
  static std::shared_ptr<libextract::Psf> psf;
  if (!psf) {
    const std::string path = scratch_dir() + "/gpu-pipeline-psf.fits";
    libextract::SyntheticPsfOptions so;
    so.seed = 7;
    so.nspec = 50;
    so.npix_x = 512;
    libextract::write_synthetic_psf(path, so);
    psf = std::make_shared<libextract::Psf>(libextract::Psf::load(path));
  }
  return *psf;
}

inline std::shared_ptr<libextract::Image> synthetic_pipeline_image(const libextract::Psf& psf) {
  static std::shared_ptr<libextract::Image> image;
  if (image) return image;
  auto img = std::make_shared<libextract::Image>();
  img->nrows = psf.npix_y();
  img->ncols = psf.npix_x();
  const std::size_t n = static_cast<std::size_t>(img->nrows) * img->ncols;
  img->pixels.assign(n, 0.0);
  img->ivar.assign(n, 0.0);
  const libextract::detail::PsfModel& m = psf.model();
  const libextract::kernels::PsfView view = m.view();
  const int nx_max = libextract::kernels::spot_nx_max(view), ny_max = libextract::kernels::spot_ny_max(view);
  std::vector<double> stamp(static_cast<std::size_t>(nx_max) * ny_max),
      scratch(static_cast<std::size_t>(libextract::kernels::spot_scratch_size(view)));
  for (int f = 0; f < 12; ++f) {
    for (double w = 5980.0; w < 6130.0; w += 0.4) {
      libextract::kernels::SpotFootprint fp{};
      if (libextract::kernels::evaluate_spot(view, f, w, libextract::kernels::spot_rule_gpu_specter,
                                             stamp.data(), nx_max, scratch.data(),
                                             &fp) != libextract::kernels::spot_ok) {
        continue;
      }
      double flux = 400.0 * (1.0 + 0.3 * std::sin(w / 7.0 + f));
      if (std::fabs(w - (6030.0 + 3.0 * f)) < 1.0) flux += 6000.0;  // an emission line
      for (int j = 0; j < fp.ny; ++j)
        for (int i = 0; i < fp.nx; ++i) {
          const int y = fp.y0 + j, x = fp.x0 + i;
          if (y >= 0 && y < img->nrows && x >= 0 && x < img->ncols)
            img->pixels[static_cast<std::size_t>(y) * img->ncols + x] += flux * stamp[j * nx_max + i];
        }
    }
  }
  std::uint64_t state = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    double g = 0;  // ~N(0,1) from 12 uniforms
    for (int k = 0; k < 12; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      g += static_cast<double>(state >> 11) * 0x1.0p-53;
    }
    g -= 6.0;
    const double var = std::max(img->pixels[i], 0.0) + 9.0;
    img->pixels[i] += std::sqrt(var) * g;
    img->ivar[i] = 1.0 / var;
  }
  // Masked pixels: a few columns through the traces and a block of rows.
  const int x_mask = static_cast<int>(psf.x(3, 6050.0));
  for (int y = 0; y < img->nrows; ++y)
    for (int x = x_mask; x < x_mask + 2; ++x) img->ivar[static_cast<std::size_t>(y) * img->ncols + x] = 0.0;
  const int y_mask = static_cast<int>(psf.y(6, 6070.0));
  for (int y = y_mask; y < y_mask + 6; ++y)
    for (int x = 0; x < img->ncols; ++x) img->ivar[static_cast<std::size_t>(y) * img->ncols + x] = 0.0;
  image = img;
  return image;
}

inline PipelineCase synthetic_case(libextract::Compat compat, bool decorrelate, bool model) {
  PipelineCase c;
  const libextract::Psf& psf = synthetic_pipeline_psf();
  c.psf = std::shared_ptr<const libextract::Psf>(&psf, [](const libextract::Psf*) {});
  c.image = synthetic_pipeline_image(psf);
  libextract::ExtractOptions o;
  // decorrelate_fibers diagonalises whole patches (n = nq): fewer, smaller patches.
  o.grid = libextract::WavelengthGrid{6000.0, decorrelate ? 6060.0 : 6100.0, 0.8};
  o.specmin = 0;
  o.nspec = decorrelate ? 4 : 10;
  o.bundlesize = decorrelate ? 4 : 10;
  o.nsubbundles = 2;
  o.compat = compat;
  o.decorrelate_fibers = decorrelate;
  o.model = model;
  c.options = o;
  c.plan = libextract::detail::make_plan(psf, o, c.image->nrows, c.image->ncols);
  c.settings = settings_for(o, c.plan);
  c.name = std::string("synthetic-") + libextract::to_string(compat) + (decorrelate ? "-decorrelate" : "");
  return c;
}

// One of the shared reference cases (../shared/data/case-*), with the reference's grid.
// Returns false when the data is absent.
inline bool reference_pipeline_case(const std::string& folder, const std::string& reference,
                                    libextract::Compat compat, int bundlesize, bool decorrelate,
                                    PipelineCase& c) {
  const std::string dir = folder + "/";
  if (!file_exists(shared_file(dir + reference + ".fits.gz")) ||
      !file_exists(shared_file("psf-r0-00051060.fits"))) {
    return false;
  }
  const ReferenceFrame ref = read_reference(shared_file(dir + reference + ".fits.gz"));
  c.image =
      std::make_shared<libextract::Image>(libextract::read_preproc(shared_file(dir + "preproc.fits.gz")));
  c.psf = std::make_shared<libextract::Psf>(libextract::Psf::load(shared_file("psf-r0-00051060.fits")));
  libextract::ExtractOptions o;
  o.wavelengths = ref.wave;
  o.grid.reset();
  o.specmin = 0;
  o.nspec = ref.nspec;
  o.bundlesize = bundlesize;
  o.nsubbundles = 5;
  o.compat = compat;
  o.decorrelate_fibers = decorrelate;
  o.model = true;
  c.options = o;
  c.plan = libextract::detail::make_plan(*c.psf, o, c.image->nrows, c.image->ncols);
  c.settings = settings_for(o, c.plan);
  c.name = folder + "/" + reference;
  return true;
}

inline libextract::detail::PatchBatch batch_of(const PipelineCase& c, int first, int count,
                                               std::vector<libextract::detail::PatchResult>* results) {
  libextract::detail::PatchBatch b;
  b.psf = &c.psf->model();
  b.image = c.image.get();
  b.plan = &c.plan;
  b.settings = c.settings;
  b.first = first;
  b.count = count;
  b.results = results;
  return b;
}

inline bool same_result_bits(const libextract::detail::PatchResult& a,
                             const libextract::detail::PatchResult& b) {
  return a.status == b.status && a.error == b.error && same_bits(a.flux, b.flux) &&
         same_bits(a.ivar, b.ivar) && same_bits(a.chi2pix, b.chi2pix) && same_bits(a.pmf, b.pmf) &&
         same_bits(a.resolution, b.resolution) && same_bits(a.model, b.model) &&
         a.model_valid == b.model_valid && std::memcmp(&a.rcond, &b.rcond, sizeof(double)) == 0;
}

struct Agreement {
  double flux = 0, ivar = 0, chi2pix = 0, resolution = 0, model = 0, rcond = 0;  // κ ≤ 1e6 (R: κ ≤ 1e4)
  double pull_ill = 0;  // κ > 1e6: |Δflux|·√ivar
  int compared = 0, ill = 0;
};

// The CPU backend against a run of the batched pipeline, patch by patch, with the
// tiers of the reference tests (test_extract_reference.cpp): the same status, error,
// pixmask_fraction, condition estimate and chi2pix (tier 0: bitwise; both run the
// kernels' factorisation, solve and estimator); on patches with κ = 1/rcond ≤ 1e6 flux,
// ivar, chi2pix ≤ 1e-10 relative and the model ≤ 1e-10 of its largest value; the
// resolution band ≤ 1e-12 absolute where κ ≤ 1e4 and ≤ κ·ε beyond (LAPACK's dsyevd
// loses the small eigenvalues of C_bb to about κ·ε there: against a long-double oracle
// the CPU backend's R is off by 2.5e-12 at κ = 7e4, the pipeline's Jacobi by 5e-15,
// see ResolutionMatchesLongDoubleOracle); beyond κ = 1e6 flux in pull units ≤ 1e-5 and
// ivar ≤ κ·ε relative. Failed patches store the same R = I and zeros.
inline Agreement expect_tier1_agreement(const PipelineCase& c, int first,
                                        const std::vector<libextract::detail::PatchResult>& cpu,
                                        const std::vector<libextract::detail::PatchResult>& other) {
  Agreement a;
  const double eps = 2.220446049250313e-16;
  EXPECT_EQ(cpu.size(), other.size());
  auto rel = [](double x, double ref) {
    return ref != 0.0 ? std::fabs(x - ref) / std::fabs(ref) : std::fabs(x - ref);
  };
  for (std::size_t i = 0; i < std::min(cpu.size(), other.size()); ++i) {
    const auto& r = cpu[i];
    const auto& o = other[i];
    SCOPED_TRACE(testing::Message() << c.name << " patch " << first + static_cast<int>(i));
    EXPECT_EQ(r.status, o.status);
    EXPECT_EQ(r.error, o.error);
    if (!r.error.empty() || r.status != o.status) continue;
    EXPECT_TRUE(same_bits(r.pmf, o.pmf)) << "pixmask_fraction is tier 0";
    // The factor, the solve and the condition estimate are the kernels' on both sides.
    EXPECT_TRUE(same_bits(r.rcond, o.rcond)) << "rcond is tier 0: " << r.rcond << " vs " << o.rcond;
    EXPECT_TRUE(same_bits(r.chi2pix, o.chi2pix)) << "chi2pix is tier 0";
    EXPECT_EQ(r.flux.size(), o.flux.size());
    EXPECT_EQ(r.resolution.size(), o.resolution.size());
    EXPECT_EQ(r.model.size(), o.model.size());
    if (r.flux.size() != o.flux.size() || r.resolution.size() != o.resolution.size() ||
        r.model.size() != o.model.size()) {
      continue;
    }
    EXPECT_EQ(r.model_valid, o.model_valid);
    if (r.status == libextract::detail::PatchResult::failed) {
      EXPECT_TRUE(same_bits(r.flux, o.flux) && same_bits(r.ivar, o.ivar) && same_bits(r.chi2pix, o.chi2pix) &&
                  same_bits(r.resolution, o.resolution) && o.model.empty())
          << "a failed patch stores R = I and zeros";
      continue;
    }
    const double kappa = 1.0 / r.rcond;
    a.rcond = std::max(a.rcond, rel(o.rcond, r.rcond));
    double r_abs = 0;
    for (std::size_t k = 0; k < r.resolution.size(); ++k)
      r_abs = std::max(r_abs, std::fabs(o.resolution[k] - r.resolution[k]));
    if (kappa <= 1e4) {
      a.resolution = std::max(a.resolution, r_abs);
    } else {
      EXPECT_LE(r_abs, kappa * eps) << "resolution, kappa " << kappa;
    }
    if (kappa <= 1e6) {
      ++a.compared;
      for (std::size_t k = 0; k < r.flux.size(); ++k) {
        a.flux = std::max(a.flux, rel(o.flux[k], r.flux[k]));
        a.ivar = std::max(a.ivar, rel(o.ivar[k], r.ivar[k]));
        a.chi2pix = std::max(a.chi2pix, rel(o.chi2pix[k], r.chi2pix[k]));
      }
      double mmax = 0, mdiff = 0;
      for (std::size_t k = 0; k < r.model.size(); ++k) {
        mmax = std::max(mmax, std::fabs(r.model[k]));
        mdiff = std::max(mdiff, std::fabs(o.model[k] - r.model[k]));
      }
      if (mmax > 0) a.model = std::max(a.model, mdiff / mmax);
    } else {
      ++a.ill;
      for (std::size_t k = 0; k < r.flux.size(); ++k) {
        EXPECT_LE(rel(o.ivar[k], r.ivar[k]), kappa * eps) << "ivar, kappa " << kappa;
        if (r.ivar[k] > 0 && o.ivar[k] > 0) {
          const double pull =
              std::fabs(o.flux[k] - r.flux[k]) * std::sqrt(1.0 / (1.0 / r.ivar[k] + 1.0 / o.ivar[k]));
          a.pull_ill = std::max(a.pull_ill, pull);
        }
      }
    }
  }
  EXPECT_LE(a.flux, 1e-10) << c.name;
  EXPECT_LE(a.ivar, 1e-10) << c.name;
  EXPECT_LE(a.chi2pix, 1e-10) << c.name;
  EXPECT_LE(a.resolution, 1e-12) << c.name;
  EXPECT_LE(a.model, 1e-10) << c.name;
  EXPECT_LE(a.pull_ill, 1e-5) << c.name;
  EXPECT_LE(a.rcond, 1e-6) << c.name << ": the condition estimate follows LAPACK's DPOCON steps";
  return a;
}

}  // namespace libextract_test
