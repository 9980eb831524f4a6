// The extraction driver: plan, batches of patches on the chosen backend, then a
// sequential, patch-ordered stitch into the frame (so the result never depends on
// thread count or batch size), unit conversion and the spectrum mask.
#include "libextract/extract.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "libextract/errors.hpp"
#include "patch_plan.hpp"
#include "patch_solve.hpp"
#include "psf_model.hpp"

namespace libextract {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

Frame empty_frame(const detail::Plan& plan, const Image& image, const Psf& psf, bool model) {
  Frame frame;
  frame.specmin = plan.specmin;
  frame.nspec = plan.nspec;
  frame.nwave = static_cast<int>(plan.wave.size());
  frame.ndiag = plan.ndiag;
  frame.wave = plan.wave;
  const std::size_t n = static_cast<std::size_t>(frame.nspec) * frame.nwave;
  frame.flux.assign(n, 0.0);
  frame.ivar.assign(n, 0.0);
  frame.mask.assign(n, 0u);
  frame.chi2pix.assign(n, 0.0);
  frame.pixmask_fraction.assign(n, 0.0);
  frame.resolution.assign(n * (2 * plan.ndiag + 1), 0.0);
  if (model) {
    frame.has_model = true;
    frame.model_rows = image.nrows;
    frame.model_cols = image.ncols;
    frame.model.assign(static_cast<std::size_t>(image.nrows) * image.ncols, 0.0);
  }
  frame.psf_path = psf.path();
  frame.image_path = image.path;
  frame.compat = to_string(plan.compat);
  frame.psferr = plan.psferr;
  frame.header_cards = image.header_cards;
  return frame;
}

// Copies one patch's core outputs (counts per bin) and its model into the frame.
void stitch(const detail::Plan& plan, const detail::Patch& p, const detail::PatchResult& r, Frame& frame) {
  const int nd = 2 * plan.ndiag + 1;
  const int ncore_fibers = p.core_hi - p.core_lo;
  for (int cf = 0; cf < ncore_fibers; ++cf) {
    const int row = p.core_lo + cf - plan.specmin;
    for (int jj = 0; jj < p.nkeep; ++jj) {
      const std::size_t in = static_cast<std::size_t>(cf) * p.nkeep + jj;
      const std::size_t out = static_cast<std::size_t>(row) * frame.nwave + p.out_col + jj;
      frame.flux[out] = r.flux[in];
      frame.ivar[out] = r.ivar[in];
      frame.chi2pix[out] = r.chi2pix[in];
      frame.pixmask_fraction[out] = r.pmf[in];
      if (r.status == detail::PatchResult::failed) frame.mask[out] |= specmask_extractfail;
      for (int d = 0; d < nd; ++d) {
        frame.resolution[(static_cast<std::size_t>(row) * nd + d) * frame.nwave + p.out_col + jj] =
            r.resolution[(static_cast<std::size_t>(cf) * nd + d) * p.nkeep + jj];
      }
    }
  }
  if (!frame.has_model || !r.model_valid) return;
  const int ncols = p.x1 - p.x0;
  for (int y = p.y0; y < p.y1; ++y) {
    double* dst = frame.model.data() + static_cast<std::size_t>(y) * frame.model_cols + p.x0;
    const double* src = r.model.data() + static_cast<std::size_t>(y - p.y0) * ncols;
    if (plan.compat == Compat::specter) {
      for (int i = 0; i < ncols; ++i) dst[i] = src[i];  // later patches overwrite (quirk Q9)
    } else {
      for (int i = 0; i < ncols; ++i) dst[i] += src[i];  // gpu_specter sums patches
    }
  }
}

// flux /= g, ivar *= g² with g = numpy.gradient(wave), per column (spec §4.10).
void convert_units(Frame& frame) {
  const int n = frame.nwave;
  std::vector<double> g(static_cast<std::size_t>(n));
  g[0] = frame.wave[1] - frame.wave[0];
  g[n - 1] = frame.wave[n - 1] - frame.wave[n - 2];
  for (int i = 1; i < n - 1; ++i) g[i] = (frame.wave[i + 1] - frame.wave[i - 1]) / 2.0;
  for (int s = 0; s < frame.nspec; ++s) {
    for (int i = 0; i < n; ++i) {
      const std::size_t at = static_cast<std::size_t>(s) * n + i;
      frame.flux[at] /= g[i];
      frame.ivar[at] *= g[i] * g[i];
    }
  }
}

}  // namespace

Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options, ExtractReport* report,
                    const ProgressCallback& progress) {
  const auto t_start = Clock::now();
  if (image.nrows <= 0 || image.ncols <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.nrows) * image.ncols ||
      image.ivar.size() != image.pixels.size()) {
    throw Error(ErrorCode::invalid_argument, "image: pixel and ivar arrays do not match its " +
                                                 std::to_string(image.nrows) + " x " + std::to_string(image.ncols) +
                                                 " shape");
  }
  for (double w : image.ivar) {
    if (!(w >= 0.0) || std::isinf(w)) {
      throw Error(ErrorCode::invalid_argument, "image: ivar must be finite and non-negative (mask bad pixels with 0)");
    }
  }

  auto t0 = Clock::now();
  const detail::Plan plan = detail::make_plan(psf, options, image.nrows, image.ncols);
  const double plan_seconds = seconds_since(t0);

  const BackendKind backend = resolve_backend(options.backend);
  detail::SolveSettings settings;
  settings.compat = options.compat;
  settings.regularize = options.regularize;
  settings.psferr = plan.psferr;
  settings.decorrelate_fibers = options.decorrelate_fibers;
  settings.model = options.model;
  settings.ndiag = plan.ndiag;

  Frame frame = empty_frame(plan, image, psf, options.model);
  if (options.wavelengths.empty()) frame.grid = options.grid;
  detail::StageClock clock;
  double stitch_seconds = 0.0;
  int retried = 0, failed = 0;
  const int total = static_cast<int>(plan.patches.size());
  // Default batch: one bundle's patches, so workspace and per-patch results stay small.
  int batch_size = options.batch_patches;
  if (batch_size <= 0) {
    batch_size = 0;
    for (const auto& p : plan.patches) batch_size += (p.bundle == 0);
  }
  std::vector<detail::PatchResult> results;
  if (report) report->patch_diagnostics.clear();
  for (int first = 0; first < total; first += batch_size) {
    detail::PatchBatch batch;
    batch.psf = &psf.model();
    batch.image = &image;
    batch.plan = &plan;
    batch.settings = settings;
    batch.first = first;
    batch.count = std::min(batch_size, total - first);
    batch.results = &results;
    if (backend == BackendKind::cuda) {
      detail::cuda_solve_patches(batch, options.backend.device, clock);
    } else {
      detail::cpu_solve_patches(batch, options.backend.threads, clock);
    }
    t0 = Clock::now();
    for (int i = 0; i < batch.count; ++i) {
      const detail::PatchResult& r = results[i];
      if (!r.error.empty()) throw Error(ErrorCode::numerical_error, "PSF " + psf.path() + ": " + r.error);
      retried += r.status != detail::PatchResult::ok;
      failed += r.status == detail::PatchResult::failed;
      stitch(plan, plan.patches[first + i], r, frame);
      if (report) {
        const detail::Patch& p = plan.patches[first + i];
        report->patch_diagnostics.push_back(PatchDiagnostics{p.core_lo - plan.specmin, p.core_hi - plan.specmin,
                                                             p.out_col, p.out_col + p.nkeep, r.rcond, r.status});
      }
    }
    stitch_seconds += seconds_since(t0);
    if (progress) progress(first + batch.count, total);
  }
  convert_units(frame);
  compute_spectrum_mask(frame);

  if (report) {
    report->patches = total;
    report->retried_patches = retried;
    report->failed_patches = failed;
    report->backend = to_string(backend);
    report->threads = options.backend.threads;
    const std::string b = to_string(backend);
    report->stages = {
        {"plan", "host", plan_seconds, 0, 0.0},
        {"spots", b, clock.spots, clock.loops, clock.flops_spots},
        {"normal_equations", b, clock.normal_equations, clock.loops, clock.flops_normal},
        {"solve", b, clock.solve, clock.loops, clock.flops_solve},
        {"resolution", b, clock.resolution, clock.loops, clock.flops_resolution},
        {"products", b, clock.products, clock.loops, 0.0},
        {"stitch", "host", stitch_seconds, 0, 0.0},
    };
    report->seconds = seconds_since(t_start);
  }
  return frame;
}

}  // namespace libextract
