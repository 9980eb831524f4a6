// Extraction in parts: plan, solve contiguous ranges of patches on the chosen backend,
// then a sequential, patch-ordered stitch into the frame (so the result never depends
// on thread count, batch size or how the ranges were spread over processes), unit
// conversion and the spectrum mask. extract_frame (extract.cpp) is this run in one go.
#include "libextract/extract_parts.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <string>

#include "libextract/errors.hpp"
#include "libextract/simulate.hpp"
#include "patch_plan.hpp"
#include "backend_seam.hpp"
#include "psf_model.hpp"
#include "solved_block.hpp"

namespace libextract {

namespace detail {

using Clock = std::chrono::steady_clock;

struct PartsState {
  const Image* image = nullptr;
  const Psf* psf = nullptr;
  ExtractOptions options;
  Plan plan;
  BackendKind backend = BackendKind::cpu;
  SolveSettings settings;
  int batch_size = 1;
  std::vector<int> bundle_first;  // bundle_count + 1 offsets into plan.patches
  Clock::time_point start;
  double plan_seconds = 0.0;

  // Stitching state.
  Frame frame;
  int stitched = 0;
  StageClock clock;
  double stitch_seconds = 0.0;
  int retried = 0, failed = 0;
  std::vector<PatchDiagnostics> diagnostics;
  bool finished = false;
};

}  // namespace detail

namespace {

using detail::Clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void validate_image(const Image& image) {
  if (image.nrows <= 0 || image.ncols <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.nrows) * image.ncols ||
      image.ivar.size() != image.pixels.size()) {
    throw Error(ErrorCode::invalid_argument, "image: pixel and ivar arrays do not match its " +
                                                 std::to_string(image.nrows) + " x " +
                                                 std::to_string(image.ncols) + " shape");
  }
  for (double w : image.ivar) {
    if (!(w >= 0.0 && w <= max_ivar)) {
      throw Error(ErrorCode::invalid_argument,
                  "image: ivar must be in 0..1e20 (mask bad pixels with 0; apply_pixel_rules does)");
    }
  }
}

std::string image_name(const Image& image) {
  return image.path.empty() ? std::string("image") : image.path;
}

// An image with no pixel of ivar > 0 under any patch has nothing to extract: an error,
// not a frame of zeros.
void require_data_in_footprint(const Image& image, const detail::Plan& plan) {
  for (const detail::Patch& p : plan.patches) {
    const int x0 = std::max(p.x0, 0), x1 = std::min(p.x1, image.ncols);
    for (int y = std::max(p.y0, 0); y < std::min(p.y1, image.nrows); ++y) {
      const double* row = image.ivar.data() + static_cast<std::size_t>(y) * image.ncols;
      for (int x = x0; x < x1; ++x) {
        if (row[x] > 0.0) return;
      }
    }
  }
  throw Error(ErrorCode::numerical_error, image_name(image) + ": no pixel has ivar > 0 under fibres " +
                                              std::to_string(plan.specmin) + ".." +
                                              std::to_string(plan.specmin + plan.nspec - 1) +
                                              " on the requested grid; nothing to extract");
}

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
  for (const std::string& card : image.header_cards) {
    if (!is_simulation_card(card)) frame.header_cards.push_back(card);
  }
  return frame;
}

// Copies one patch's core outputs (counts per bin) and its model into the frame.
void stitch_patch(const detail::Plan& plan, const detail::Patch& p, const detail::PatchResult& r,
                  Frame& frame) {
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

// A block unpacked from another process must hold what the plan says its patches
// store, or stitching would read out of bounds.
void check_result_sizes(const detail::Plan& plan, const detail::Patch& p, const detail::PatchResult& r,
                        bool model, int index) {
  const std::size_t core = static_cast<std::size_t>(p.core_hi - p.core_lo) * p.nkeep;
  const std::size_t nd = 2 * plan.ndiag + 1;
  bool ok = r.flux.size() == core && r.ivar.size() == core && r.chi2pix.size() == core &&
            r.pmf.size() == core && r.resolution.size() == core * nd;
  if (model && r.model_valid) ok = ok && r.model.size() == static_cast<std::size_t>(p.npixels());
  if (!ok) {
    throw Error(ErrorCode::internal_error,
                "stitch: the result of patch " + std::to_string(index) + " does not match the plan");
  }
}

void add_clock(detail::StageClock& into, const detail::StageClock& c) {
  into.spots += c.spots;
  into.normal_equations += c.normal_equations;
  into.solve += c.solve;
  into.resolution += c.resolution;
  into.products += c.products;
  into.flops_spots += c.flops_spots;
  into.flops_normal += c.flops_normal;
  into.flops_solve += c.flops_solve;
  into.flops_resolution += c.flops_resolution;
  into.loops += c.loops;
  into.launches_spots += c.launches_spots;
  into.launches_normal += c.launches_normal;
  into.launches_solve += c.launches_solve;
  into.launches_resolution += c.launches_resolution;
  into.launches_products += c.launches_products;
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

// ---- SolvedPatches ----

SolvedPatches::SolvedPatches() : block_(std::make_unique<detail::SolvedBlock>()) {}
SolvedPatches::SolvedPatches(SolvedPatches&&) noexcept = default;
SolvedPatches& SolvedPatches::operator=(SolvedPatches&&) noexcept = default;
SolvedPatches::~SolvedPatches() = default;

int SolvedPatches::first() const {
  return block_->first;
}
int SolvedPatches::count() const {
  return static_cast<int>(block_->results.size());
}

void SolvedPatches::pack(std::vector<unsigned char>& out) const {
  detail::pack_block(*block_, out);
}

SolvedPatches SolvedPatches::unpack(const unsigned char* data, std::size_t size, std::size_t& used) {
  SolvedPatches s;
  *s.block_ = detail::unpack_block(data, size, used);
  return s;
}

// ---- ExtractionParts ----

ExtractionParts::ExtractionParts(const Image& image, const Psf& psf, const ExtractOptions& options)
    : state_(std::make_unique<detail::PartsState>()) {
  detail::PartsState& s = *state_;
  s.start = Clock::now();
  validate_image(image);
  s.image = &image;
  s.psf = &psf;
  s.options = options;

  const auto t0 = Clock::now();
  s.plan = detail::make_plan(psf, options, image.nrows, image.ncols);
  s.plan_seconds = seconds_since(t0);

  s.backend = resolve_backend(options.backend);
  s.settings.compat = options.compat;
  s.settings.regularize = options.regularize;
  s.settings.psferr = s.plan.psferr;
  s.settings.decorrelate_fibers = options.decorrelate_fibers;
  s.settings.model = options.model;
  s.settings.ndiag = s.plan.ndiag;

  // Default batch: one bundle's patches, so workspace and per-patch results stay small.
  s.batch_size = options.batch_patches;
  if (s.batch_size <= 0) {
    s.batch_size = 0;
    for (const auto& p : s.plan.patches) s.batch_size += (p.bundle == 0);
    if (s.batch_size == 0) s.batch_size = 1;
  }
  // Patches come bundle by bundle (patch_plan.cpp), so each bundle is one range.
  for (std::size_t i = 0; i < s.plan.patches.size(); ++i) {
    if (i == 0 || s.plan.patches[i].bundle != s.plan.patches[i - 1].bundle)
      s.bundle_first.push_back(static_cast<int>(i));
  }
  s.bundle_first.push_back(static_cast<int>(s.plan.patches.size()));

  s.frame = empty_frame(s.plan, image, psf, options.model);
  if (options.wavelengths.empty()) s.frame.grid = options.grid;
}

ExtractionParts::ExtractionParts(ExtractionParts&&) noexcept = default;
ExtractionParts& ExtractionParts::operator=(ExtractionParts&&) noexcept = default;
ExtractionParts::~ExtractionParts() = default;

int ExtractionParts::patch_count() const {
  return static_cast<int>(state_->plan.patches.size());
}
int ExtractionParts::bundle_count() const {
  return static_cast<int>(state_->bundle_first.size()) - 1;
}
int ExtractionParts::batch_size() const {
  return state_->batch_size;
}

int ExtractionParts::bundle_first_patch(int bundle) const {
  if (bundle < 0 || bundle > bundle_count()) {
    throw Error(ErrorCode::invalid_argument, "bundle_first_patch: bundle " + std::to_string(bundle) +
                                                 " is outside 0.." + std::to_string(bundle_count()));
  }
  return state_->bundle_first[static_cast<std::size_t>(bundle)];
}

PixelWindow ExtractionParts::pixel_window() const {
  PixelWindow w;
  bool any = false;
  for (const auto& p : state_->plan.patches) {
    if (p.x1 <= p.x0 || p.y1 <= p.y0) continue;
    if (!any) {
      w = PixelWindow{p.x0, p.x1, p.y0, p.y1};
      any = true;
    }
    w.xmin = std::min(w.xmin, p.x0);
    w.xmax = std::max(w.xmax, p.x1);
    w.ymin = std::min(w.ymin, p.y0);
    w.ymax = std::max(w.ymax, p.y1);
  }
  return w;
}

namespace {

void check_range(int first, int count, int total, const char* what) {
  if (first < 0 || count < 0 || first + count > total) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": patches [" + std::to_string(first) +
                                                 ", " + std::to_string(first + count) +
                                                 ") are outside the plan's " + std::to_string(total));
  }
}

detail::PatchBatch make_batch(const detail::PartsState& s, int first, int count, detail::SolvedBlock& block) {
  block.first = first;
  detail::PatchBatch batch;
  batch.psf = &s.psf->model();
  batch.image = s.image;
  batch.plan = &s.plan;
  batch.settings = s.settings;
  batch.first = first;
  batch.count = count;
  batch.results = &block.results;
  return batch;
}

// A spot the PSF could not evaluate fails the whole solve, naming the PSF file.
void throw_spot_errors(const detail::PartsState& s, const detail::SolvedBlock& block) {
  for (const detail::PatchResult& r : block.results) {
    if (!r.error.empty()) throw Error(ErrorCode::numerical_error, "PSF " + s.psf->path() + ": " + r.error);
  }
}

}  // namespace

SolvedPatches ExtractionParts::solve(int first, int count) const {
  const detail::PartsState& s = *state_;
  check_range(first, count, patch_count(), "solve");
  SolvedPatches out;
  detail::SolvedBlock& block = *out.block_;
  block.first = first;
  if (count == 0) return out;
  const detail::PatchBatch batch = make_batch(s, first, count, block);
  if (s.backend == BackendKind::cuda) {
    detail::cuda_solve_patches(batch, s.options.backend.device, block.clock);
  } else {
    detail::cpu_solve_patches(batch, s.options.backend.threads, block.clock);
  }
  throw_spot_errors(s, block);
  return out;
}

void ExtractionParts::solve_range(int first, int count,
                                  const std::function<void(SolvedPatches&&)>& consume) const {
  const detail::PartsState& s = *state_;
  check_range(first, count, patch_count(), "solve_range");
  const int end = first + count;
  const int step = batch_size();
  if (s.backend != BackendKind::cuda || count <= step) {
    for (int b = first; b < end; b += step) consume(solve(b, std::min(step, end - b)));
    return;
  }
  // Two batches in flight, one stream each: batch k+1 is packed and computed while
  // batch k is unpacked and consumed. std::deque keeps the elements' addresses (the
  // queue holds pointers to each batch, its results and its clock) as it grows at the
  // back and shrinks at the front.
  struct InFlight {
    SolvedPatches block;
    detail::PatchBatch batch;
  };
  std::deque<InFlight> flights;
  detail::CudaBatchQueue queue(s.options.backend.device);
  auto finish_oldest = [&] {
    queue.finish_oldest();
    SolvedPatches done = std::move(flights.front().block);
    flights.pop_front();
    throw_spot_errors(s, *done.block_);
    consume(std::move(done));
  };
  for (int b = first; b < end; b += step) {
    if (queue.free_slots() == 0) finish_oldest();
    flights.emplace_back();
    InFlight& f = flights.back();
    f.batch = make_batch(s, b, std::min(step, end - b), *f.block.block_);
    queue.submit(f.batch, f.block.block_->clock, 1);
  }
  while (!flights.empty()) finish_oldest();
}

void ExtractionParts::stitch(const SolvedPatches& solved) {
  detail::PartsState& s = *state_;
  const detail::SolvedBlock& block = *solved.block_;
  if (s.finished) throw Error(ErrorCode::invalid_argument, "stitch: the frame is already finished");
  if (block.first != s.stitched ||
      block.first + static_cast<long long>(block.results.size()) > patch_count()) {
    throw Error(ErrorCode::invalid_argument, "stitch: patches must come in plan order: expected patch " +
                                                 std::to_string(s.stitched) + ", got " +
                                                 std::to_string(block.first));
  }
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < block.results.size(); ++i) {
    const int index = block.first + static_cast<int>(i);
    const detail::Patch& p = s.plan.patches[static_cast<std::size_t>(index)];
    const detail::PatchResult& r = block.results[i];
    if (!r.error.empty()) throw Error(ErrorCode::numerical_error, "PSF " + s.psf->path() + ": " + r.error);
    check_result_sizes(s.plan, p, r, s.frame.has_model, index);
    s.retried += r.status != detail::PatchResult::ok;
    s.failed += r.status == detail::PatchResult::failed;
    stitch_patch(s.plan, p, r, s.frame);
    s.diagnostics.push_back(PatchDiagnostics{p.core_lo - s.plan.specmin, p.core_hi - s.plan.specmin,
                                             p.out_col, p.out_col + p.nkeep, r.rcond, r.status});
  }
  add_clock(s.clock, block.clock);
  s.stitched += static_cast<int>(block.results.size());
  s.stitch_seconds += seconds_since(t0);
}

int ExtractionParts::stitched_patches() const {
  return state_->stitched;
}

Frame ExtractionParts::finish(ExtractReport* report) {
  detail::PartsState& s = *state_;
  if (s.finished) throw Error(ErrorCode::invalid_argument, "finish: called twice");
  if (s.stitched != patch_count()) {
    throw Error(ErrorCode::invalid_argument, "finish: " + std::to_string(s.stitched) + " of " +
                                                 std::to_string(patch_count()) + " patches are stitched");
  }
  s.finished = true;
  // Checked here, not on construction: an MPI group's other ranks hold only the
  // pixels of their patches, the rank that finishes holds the whole image.
  require_data_in_footprint(*s.image, s.plan);
  if (s.failed > 0 && s.failed == patch_count()) {
    throw Error(ErrorCode::numerical_error, image_name(*s.image) + ": every one of the " +
                                                std::to_string(patch_count()) +
                                                " patches failed; no spectrum was extracted");
  }
  s.frame.patches = patch_count();
  s.frame.failed_patches = s.failed;
  convert_units(s.frame);
  compute_spectrum_mask(s.frame);
  if (report) {
    report->patches = patch_count();
    report->retried_patches = s.retried;
    report->failed_patches = s.failed;
    report->backend = to_string(s.backend);
    // The count used, not the request (0 = OpenMP's default); the CPU backend's only.
    report->threads = s.backend == BackendKind::cpu ? cpu_thread_count(s.options.backend.threads) : 0;
    const std::string b = to_string(s.backend);
    const detail::StageClock& c = s.clock;
    // Kernel launches on CUDA; the CPU backend counts its parallel loops instead.
    const bool cuda = s.backend == BackendKind::cuda;
    report->stages = {
        {"plan", "host", s.plan_seconds, 0, 0.0},
        {"spots", b, c.spots, cuda ? c.launches_spots : c.loops, c.flops_spots},
        {"normal_equations", b, c.normal_equations, cuda ? c.launches_normal : c.loops, c.flops_normal},
        {"solve", b, c.solve, cuda ? c.launches_solve : c.loops, c.flops_solve},
        {"resolution", b, c.resolution, cuda ? c.launches_resolution : c.loops, c.flops_resolution},
        {"products", b, c.products, cuda ? c.launches_products : c.loops, 0.0},
        {"stitch", "host", s.stitch_seconds, 0, 0.0},
    };
    report->patch_diagnostics = std::move(s.diagnostics);
    report->seconds = seconds_since(s.start);
  }
  return std::move(s.frame);
}

}  // namespace libextract
