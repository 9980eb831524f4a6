// Cases and comparisons shared by the tests of the CUDA backend's pipeline: the CPU run
// of the device pipeline (test_gpu_pipeline_on_cpu.cpp, no GPU needed) and the device
// itself (test_gpu_extract.cpp). A case is a plan of patches over an image; the
// comparison requires the CPU backend and a run of the batched pipeline to give the
// same bits.
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
#include "backend_seam.hpp"
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

// The CPU backend against a run of the batched pipeline (on the device, or on the CPU
// through the same functors), patch by patch: one pipeline, so every output is the
// same bits (tier 0): status, error, flux, ivar, chi2pix, pixmask_fraction, the
// resolution band, the model and the condition estimate. Returns the patches compared.
inline int expect_same_results(const PipelineCase& c, int first,
                               const std::vector<libextract::detail::PatchResult>& cpu,
                               const std::vector<libextract::detail::PatchResult>& other) {
  EXPECT_EQ(cpu.size(), other.size()) << c.name;
  int compared = 0;
  for (std::size_t i = 0; i < std::min(cpu.size(), other.size()); ++i) {
    const auto& r = cpu[i];
    const auto& o = other[i];
    SCOPED_TRACE(testing::Message() << c.name << " patch " << first + static_cast<int>(i));
    EXPECT_EQ(r.status, o.status);
    EXPECT_EQ(r.error, o.error);
    EXPECT_TRUE(same_bits(r.flux, o.flux)) << "flux";
    EXPECT_TRUE(same_bits(r.ivar, o.ivar)) << "ivar";
    EXPECT_TRUE(same_bits(r.chi2pix, o.chi2pix)) << "chi2pix";
    EXPECT_TRUE(same_bits(r.pmf, o.pmf)) << "pixmask_fraction";
    EXPECT_TRUE(same_bits(r.resolution, o.resolution)) << "resolution";
    EXPECT_TRUE(same_bits(r.model, o.model)) << "model";
    EXPECT_EQ(r.model_valid, o.model_valid);
    EXPECT_TRUE(same_bits(r.rcond, o.rcond)) << "rcond " << r.rcond << " vs " << o.rcond;
    compared += same_result_bits(r, o) ? 1 : 0;
  }
  return compared;
}

}  // namespace libextract_test
