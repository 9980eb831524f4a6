// CPU backend of the patch solve: one patch per OpenMP thread, the shared kernels/
// functors for everything up to the normal equations (bitwise the CUDA result), then
// single-threaded LAPACK (Cholesky solve, inverse, per-fibre eigendecompositions).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu_fallback/band_cholesky.hpp"
#include "cpu_fallback/eigen_recompose_cpu.hpp"
#include "cpu_fallback/isa.hpp"
#include "cpu_fallback/eigen_cpu.hpp"
#include "cpu_fallback/launch.hpp"
#include "cpu_fallback/scratch_vector.hpp"
#include "kernels/envelope_cholesky.hpp"
#include "kernels/patch_outputs.hpp"
#include "kernels/projection.hpp"
#include "kernels/spot.hpp"
#include "kernels/spot_batch.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"
#include "backend_seam.hpp"

namespace libextract {
namespace detail {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Every buffer a patch computes in (scratch_vector.hpp: their placement is a test
// parameter, and no output bit may follow it).
struct Workspace {
  cpu::ScratchVector<double> stamps, scratch;
  cpu::ScratchVector<int> corner;
  cpu::ScratchVector<kernels::Rect> cut;
  cpu::ScratchVector<double> h, h_copy, factor, cov, fw, rhs, good, masked, x, flux, ivar, s;
  cpu::ScratchVector<double> block, mu, factors, scaled, q_block, r_full, work, band_work, q_full, rows;
  cpu::ScratchVector<int> pix_start, pix_list, pix_fill;
  cpu::ScratchVector<double> pix_model, pix_chi2, values;
  cpu::ScratchVector<char> pix_tiv;
  cpu::SymmetricEigenWorkspace eigen;
};

struct PatchContext {
  const PatchBatch& batch;
  const Patch& patch;
  kernels::PatchView view;
  int nq, nw, nf;
  bool specter;
  double rcond = 0.0;
  int kd = 0;      // half-bandwidth of iCov (at least nw − 1: the fibre blocks lie inside)
  int stride = 0;  // leading dimension of h, factor and cov (nq: dense)
};

// gpu_specter evaluates each (fibre, Λ bin) once per bundle and every patch takes its
// spots from there; so do we: the spots of a run of patches of one bundle, evaluated
// once (in parallel) and copied into each patch. The values are those the patch would
// compute itself (same function, same inputs), so results do not depend on batching.
struct SpotTable {
  int fiber_lo = 0, fiber_hi = 0, k_lo = 0, k_hi = 0;
  long cell = 0;
  cpu::ScratchVector<double> stamps;
  cpu::ScratchVector<kernels::SpotFootprint> footprints;
  cpu::ScratchVector<int> status;
  bool active = false;
};

void fill_spot_table(const PatchBatch& batch, int first, int last, int threads, SpotTable& t) {
  const PsfModel& model = *batch.psf;
  const kernels::PsfView psf = model.view();
  const Plan& plan = *batch.plan;
  t.fiber_lo = t.k_lo = 1 << 30;
  t.fiber_hi = t.k_hi = -(1 << 30);
  for (int i = first; i < last; ++i) {
    const Patch& p = plan.patches[batch.first + i];
    t.fiber_lo = std::min(t.fiber_lo, p.fiber_lo);
    t.fiber_hi = std::max(t.fiber_hi, p.fiber_hi);
    t.k_lo = std::min(t.k_lo, p.lambda_offset);
    t.k_hi = std::max(t.k_hi, p.lambda_offset + p.nwave);
  }
  const int nk = t.k_hi - t.k_lo;
  const int count = (t.fiber_hi - t.fiber_lo) * nk;
  const int nx_max = kernels::spot_nx_max(psf);
  t.cell = static_cast<long>(nx_max) * kernels::spot_ny_max(psf);
  t.stamps.resize(static_cast<std::size_t>(count) * t.cell);
  t.footprints.resize(static_cast<std::size_t>(count));
  t.status.resize(static_cast<std::size_t>(count));
  std::vector<int> fibers(static_cast<std::size_t>(count));
  std::vector<double> waves(static_cast<std::size_t>(count));
  for (int s = 0; s < count; ++s) {
    fibers[s] = t.fiber_lo + s / nk;
    waves[s] = plan.lambda[t.k_lo + s % nk];
  }
  const kernels::SpotBatchFunctor functor{psf,
                                          fibers.data(),
                                          waves.data(),
                                          kernels::spot_rule_gpu_specter,
                                          t.stamps.data(),
                                          t.footprints.data(),
                                          t.status.data()};
  cpu::launch(count, kernels::spot_scratch_size(psf), threads, functor);
  t.active = true;
}

// Spots of every unknown, their stamp corners and their cuts by the window.
bool evaluate_patch_spots(const PatchBatch& batch, const Patch& p, const SpotTable& table, Workspace& ws,
                          PatchResult& result) {
  const kernels::PsfView psf = batch.psf->view();
  const int nx_max = kernels::spot_nx_max(psf);
  const long cell = static_cast<long>(nx_max) * kernels::spot_ny_max(psf);
  const int nq = p.unknowns();
  const bool specter = batch.settings.compat == Compat::specter;
  const int rule = specter ? kernels::spot_rule_specter : kernels::spot_rule_gpu_specter;
  const kernels::Rect window{p.x0, p.x1, p.y0, p.y1};
  ws.stamps.resize(static_cast<std::size_t>(cell) * nq);
  ws.corner.resize(2 * static_cast<std::size_t>(nq));
  ws.cut.resize(static_cast<std::size_t>(nq));
  ws.scratch.resize(static_cast<std::size_t>(kernels::spot_scratch_size(psf)));
  for (int q = 0; q < nq; ++q) {
    const int fiber = p.fiber_lo + q / p.nwave;
    const double wave = batch.plan->patch_waves[p.wave_offset + q % p.nwave];
    kernels::SpotFootprint fp{};
    int status;
    if (table.active) {
      const std::size_t at = static_cast<std::size_t>(fiber - table.fiber_lo) * (table.k_hi - table.k_lo) +
                             (p.lambda_offset + q % p.nwave - table.k_lo);
      std::copy_n(table.stamps.data() + at * table.cell, table.cell, ws.stamps.data() + cell * q);
      fp = table.footprints[at];
      status = table.status[at];
    } else {
      status = kernels::evaluate_spot(psf, fiber, wave, rule, ws.stamps.data() + cell * q, nx_max,
                                      ws.scratch.data(), &fp);
    }
    if (status < 0) {
      result.error = "fibre " + std::to_string(fiber) + " at " + std::to_string(wave) +
                     " A: the PSF gives a non-finite or all-zero spot";
      return false;
    }
    ws.corner[2 * q] = fp.x0;
    ws.corner[2 * q + 1] = fp.y0;
    if (status == kernels::spot_empty) {
      ws.cut[q] = kernels::Rect{0, 0, 0, 0};
    } else if (specter) {
      const kernels::SpotCut c = kernels::cut_spot(fp, rule, p.x0, p.x1, p.y0, p.y1);
      ws.cut[q] = c.nx > 0
                      ? kernels::Rect{fp.x0 + c.i0, fp.x0 + c.i0 + c.nx, fp.y0 + c.j0, fp.y0 + c.j0 + c.ny}
                      : kernels::Rect{0, 0, 0, 0};
    } else {
      ws.cut[q] = kernels::rect_intersect(kernels::Rect{fp.x0, fp.x0 + fp.nx, fp.y0, fp.y0 + fp.ny}, window);
    }
  }
  return true;
}

// Cholesky solve of (H + prior) x = b with the given ridge; false when H is not
// numerically positive definite or x is not finite. H stays in ws.h (for a retry).
bool factor_and_solve(PatchContext& c, Workspace& ws, double regularize, bool all_masked) {
  const int nq = c.nq, kd = c.kd, lda = c.stride;
  ws.factor = ws.h;  // the lower triangle of H, column-major with leading dimension lda
  ws.x = ws.rhs;
  double* a = ws.factor.data();
  auto diag = [&](int q) -> double& { return a[static_cast<std::size_t>(q) * lda + q]; };
  if (c.specter && all_masked) {
    // specter: a patch without any weighted pixel solves 1e-8·I x = 0 (spec §4.6).
    std::fill(ws.factor.begin(), ws.factor.end(), 0.0);
    for (int q = 0; q < nq; ++q) diag(q) = 1e-8;
    std::fill(ws.x.begin(), ws.x.end(), 0.0);
  } else {
    double max_fw = 0.0;
    for (int q = 0; q < nq; ++q) max_fw = std::max(max_fw, ws.fw[q]);
    const double m = 1e-4 * max_fw;
    for (int q = 0; q < nq; ++q) {
      const double alpha = ws.fw[q] < m ? m - ws.fw[q] : regularize;
      // gpu_specter adds 1e-15 to every diagonal element; specter does not.
      diag(q) = c.specter ? diag(q) + alpha * alpha : diag(q) + (alpha * alpha + 1e-15);
    }
  }
  if (c.batch.settings.decorrelate_fibers) ws.h_copy = ws.factor;
  // 1-norm of the symmetric matrix (its lower band holds every nonzero) for the
  // condition estimate reported with the patch.
  ws.s.assign(static_cast<std::size_t>(nq), 0.0);
  for (int j = 0; j < nq; ++j) {
    const int end = std::min(nq, j + kd + 1);
    for (int i = j; i < end; ++i) {
      const double v = std::fabs(a[static_cast<std::size_t>(j) * lda + i]);
      ws.s[j] += v;
      if (i != j) ws.s[i] += v;
    }
  }
  const double anorm = *std::max_element(ws.s.begin(), ws.s.end());
  if (cpu::band_cholesky(a, nq, lda, kd, ws.band_work) != 0) return false;
  // The condition estimate of kernels/ (DPOCON's steps in a fixed order, the device's
  // code), with the band substitution that gives envelope_solve's bits.
  ws.rows.resize(static_cast<std::size_t>(nq) * (kd + 1));
  cpu::band_factor_rows(a, nq, lda, kd, ws.rows.data());
  const double* rows = ws.rows.data();
  auto solve = [&](double* b) { cpu::band_cholesky_solve(a, nq, lda, kd, rows, b); };
  ws.work.resize(2 * static_cast<std::size_t>(nq));
  kernels::TeamShared shared{};
  c.rcond = kernels::envelope_rcond_with(kernels::SerialTeam{}, solve, nq, anorm, ws.work.data(),
                                         ws.work.data() + nq, &shared);
  solve(ws.x.data());
  for (int q = 0; q < nq; ++q)
    if (!std::isfinite(ws.x[q])) return false;
  return true;
}

// Q = U·diag(g)·Uᵀ for a symmetric n×n matrix in `a` (overwritten by U), recomposed
// in the device's order (kernels::eigen_recompose).
bool symmetric_function(Workspace& ws, double* a, int n, double* q_out, bool specter, bool inverse_sqrt) {
  ws.mu.resize(static_cast<std::size_t>(n));
  // Our Householder + QL for every order, the decorrelate mode's whole patches
  // included: dsyevd is faster there (n ≈ 370-520) but its bits follow the BLAS kernel
  // the CPU selects.
  if (cpu::symmetric_eigen(a, n, n, ws.mu.data(), ws.eigen) != 0) return false;
  const double mu_max = ws.mu[n - 1];
  ws.factors.resize(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    ws.factors[k] = inverse_sqrt ? kernels::inverse_sqrt_factor(ws.mu[k], mu_max, specter)
                                 : kernels::sqrt_factor(ws.mu[k], mu_max, specter);
  }
  ws.scaled.resize(static_cast<std::size_t>(n) * n);
  cpu::eigen_recompose_columns(a, n, ws.factors.data(), n, q_out, n, ws.scaled.data());
  return true;
}

// Resolution, ivar and convolved flux of every unknown (spec §4.7 / gpu_specter §9).
// R is kept per fibre block, [nf][nw][nw] column-major, in ws.r_full.
bool decorrelate(PatchContext& c, Workspace& ws) {
  const int nq = c.nq, nw = c.nw, nf = c.nf;
  ws.flux.assign(static_cast<std::size_t>(nq), 0.0);
  ws.ivar.assign(static_cast<std::size_t>(nq), 0.0);
  ws.r_full.assign(static_cast<std::size_t>(nf) * nw * nw, 0.0);
  if (c.batch.settings.decorrelate_fibers) {
    // Q = iCov^(1/2), the whole patch at once; rows normalised to R; only each
    // fibre's own block of R is stored, but the flux uses all of R.
    cpu::ScratchVector<double>& q_full = ws.q_full;
    q_full.resize(static_cast<std::size_t>(nq) * nq);
    if (!symmetric_function(ws, ws.h_copy.data(), nq, q_full.data(), c.specter, false)) return false;
    for (int r = 0; r < nq; ++r) {
      const int b = r / nw;
      kernels::resolution_row(q_full.data(), nq, r, nq, ws.x.data(), b * nw, (b + 1) * nw,
                              ws.r_full.data() + static_cast<std::size_t>(b) * nw * nw + (r - b * nw), nw,
                              &ws.flux[r], &ws.ivar[r]);
    }
    return true;
  }
  // Signal decorrelation of the core fibres: their covariance blocks C_bb, inside the
  // band of C = iCov⁻¹ that the selected inverse computes from the last row up to the
  // first core row, then C_bb^(-1/2) per fibre. Padding fibres are never stored, so
  // never decorrelated.
  const int first_core = (c.patch.core_lo - c.patch.fiber_lo) * nw;
  cpu::band_selected_inverse(ws.factor.data(), nq, c.stride, c.kd, first_core, ws.cov, ws.band_work);
  const long cw = cpu::band_inverse_width(c.kd);
  ws.block.resize(static_cast<std::size_t>(nw) * nw);
  ws.q_block.resize(static_cast<std::size_t>(nw) * nw);
  for (int b = c.patch.core_lo - c.patch.fiber_lo; b < c.patch.core_hi - c.patch.fiber_lo; ++b) {
    const int off = b * nw;
    for (int col = 0; col < nw; ++col) {  // C(off+row, off+col), row ≥ col: row off+col of C
      const double* from = ws.cov.data() + (off + col - first_core) * cw + c.kd + cpu::inverse_band_pad;
      std::copy(from, from + (nw - col), ws.block.data() + static_cast<std::size_t>(col) * nw + col);
    }
    if (!symmetric_function(ws, ws.block.data(), nw, ws.q_block.data(), c.specter, true)) return false;
    for (int row = 0; row < nw; ++row) {
      kernels::resolution_row(ws.q_block.data(), nw, row, nw, ws.x.data() + off, 0, nw,
                              ws.r_full.data() + static_cast<std::size_t>(b) * nw * nw + row, nw,
                              &ws.flux[off + row], &ws.ivar[off + row]);
    }
  }
  for (int q = 0; q < nq; ++q)
    if (!std::isfinite(ws.flux[q]) || !std::isfinite(ws.ivar[q])) return false;
  return true;
}

// Per-pixel lists of the unknowns whose cut covers the pixel, in increasing q.
void build_pixel_lists(const PatchContext& c, Workspace& ws) {
  const Patch& p = c.patch;
  const int ncols = p.x1 - p.x0;
  const int npix = p.npixels();
  ws.pix_start.assign(static_cast<std::size_t>(npix) + 1, 0);
  for (int q = 0; q < c.nq; ++q) {
    const kernels::Rect& r = ws.cut[q];
    for (int y = r.y0; y < r.y1; ++y)
      for (int x = r.x0; x < r.x1; ++x) ws.pix_start[(y - p.y0) * ncols + (x - p.x0) + 1]++;
  }
  for (int i = 0; i < npix; ++i) ws.pix_start[i + 1] += ws.pix_start[i];
  ws.pix_list.resize(static_cast<std::size_t>(ws.pix_start[npix]));
  ws.pix_fill.assign(ws.pix_start.begin(), ws.pix_start.end() - 1);
  cpu::ScratchVector<int>& fill = ws.pix_fill;
  for (int q = 0; q < c.nq; ++q) {
    const kernels::Rect& r = ws.cut[q];
    for (int y = r.y0; y < r.y1; ++y)
      for (int x = r.x0; x < r.x1; ++x) ws.pix_list[fill[(y - p.y0) * ncols + (x - p.x0)]++] = q;
  }
}

// The band of iCov from the pixel lists (two unknowns couple only where both cover a
// pixel; a list is in increasing q, so its first and last entries are the widest
// pair), widened to hold every fibre's diagonal block, and the storage stride: a
// packed band, or the dense matrix that the decorrelate-fibers mode diagonalises.
void choose_band(PatchContext& c, const Workspace& ws) {
  int kd = c.nw - 1;
  for (std::size_t i = 0; i + 1 < ws.pix_start.size(); ++i) {
    const int begin = ws.pix_start[i], end = ws.pix_start[i + 1];
    if (end - begin > 1) kd = std::max(kd, ws.pix_list[end - 1] - ws.pix_list[begin]);
  }
  c.kd = std::min(c.nq - 1, kd);
  const bool dense = c.batch.settings.decorrelate_fibers || c.kd + cpu::band_padding >= c.nq;
  c.stride = dense ? c.nq : c.kd + cpu::band_padding;
}

bool is_core_unknown(const PatchContext& c, int q) {
  const int f = c.patch.fiber_lo + q / c.nw;
  const int j = q % c.nw;
  return f >= c.patch.core_lo && f < c.patch.core_hi && j >= c.patch.core_offset &&
         j < c.patch.core_offset + c.patch.ncore;
}

// chi2pix, pixmask_fraction and the model image (spec §4.9, gpu_specter §10).
void patch_products(PatchContext& c, Workspace& ws, PatchResult& result, bool failed) {
  const Patch& p = c.patch;
  const SolveSettings& s = c.batch.settings;
  const int ncols = p.x1 - p.x0;
  const int npix = p.npixels();
  const double* image = c.batch.image->pixels.data();
  const double* ivar = c.batch.image->ivar.data();
  const long stride = c.batch.image->ncols;
  ws.pix_model.assign(static_cast<std::size_t>(npix), 0.0);
  ws.pix_chi2.assign(static_cast<std::size_t>(npix), 0.0);
  ws.pix_tiv.assign(static_cast<std::size_t>(npix), 0);
  for (int y = p.y0; y < p.y1; ++y) {
    for (int x = p.x0; x < p.x1; ++x) {
      const int i = (y - p.y0) * ncols + (x - p.x0);
      const int* list = ws.pix_list.data() + ws.pix_start[i];
      bool model_bad = false;
      const double model = kernels::model_pixel(
          c.specter,
          kernels::pixel_combination(c.view, list, ws.pix_start[i + 1] - ws.pix_start[i], x, y, ws.x.data()),
          &model_bad);
      ws.pix_model[i] = model;
      const long at = static_cast<long>(y) * stride + x;
      const kernels::PixelChi chi =
          kernels::pixel_chi(image[at], model_bad ? 0.0 : ivar[at], model, s.psferr);
      ws.pix_chi2[i] = chi.chi2;
      ws.pix_tiv[i] = chi.tiv_positive;
    }
  }
  const int ncore_fibers = p.core_hi - p.core_lo;
  for (int cf = 0; cf < ncore_fibers; ++cf) {
    const int b = p.core_lo + cf - p.fiber_lo;
    for (int jj = 0; jj < p.nkeep; ++jj) {
      const int q = b * c.nw + p.core_offset + jj;
      const auto pixel = [&](int x, int y) { return static_cast<long>((y - p.y0) * ncols + (x - p.x0)); };
      const std::size_t out = static_cast<std::size_t>(cf) * p.nkeep + jj;
      result.chi2pix[out] = kernels::output_chi2pix(c.view, q, pixel, ws.pix_chi2.data(), ws.pix_tiv.data());
      result.pmf[out] = kernels::output_pixmask_fraction(c.specter, ws.good[q], ws.masked[q]);
    }
  }
  if (!s.model || failed) return;
  result.model.assign(static_cast<std::size_t>(npix), 0.0);
  if (c.specter) {
    // A·x̂ over the whole patch, written by assignment.
    result.model.assign(ws.pix_model.begin(), ws.pix_model.end());
    result.model_valid = true;
    return;
  }
  bool any_nonzero = false, all_finite = true;
  for (int y = p.y0; y < p.y1; ++y) {
    for (int x = p.x0; x < p.x1; ++x) {
      const int i = (y - p.y0) * ncols + (x - p.x0);
      double sum = 0.0;
      for (int k = ws.pix_start[i]; k < ws.pix_start[i + 1]; ++k) {
        const int q = ws.pix_list[k];
        if (is_core_unknown(c, q)) sum = sum + kernels::spot_value(c.view, q, x, y) * ws.flux[q];
      }
      result.model[i] = sum;
      any_nonzero = any_nonzero || sum != 0.0;
      all_finite = all_finite && std::isfinite(sum);
    }
  }
  result.model_valid = any_nonzero && all_finite;  // gpu_specter skips such patches
}

void store_outputs(PatchContext& c, Workspace& ws, PatchResult& result, bool failed, bool all_masked) {
  const Patch& p = c.patch;
  const int ndiag = c.batch.settings.ndiag;
  const int nd = 2 * ndiag + 1;
  const int ncore_fibers = p.core_hi - p.core_lo;
  const std::size_t n = static_cast<std::size_t>(ncore_fibers) * p.nkeep;
  result.flux.assign(n, 0.0);
  result.ivar.assign(n, 0.0);
  result.chi2pix.assign(n, 0.0);
  result.pmf.assign(n, 0.0);
  result.resolution.assign(n * nd, 0.0);
  for (int cf = 0; cf < ncore_fibers; ++cf) {
    const int b = p.core_lo + cf - p.fiber_lo;
    for (int jj = 0; jj < p.nkeep; ++jj) {
      const int j = p.core_offset + jj;
      const int q = b * c.nw + j;
      const std::size_t out = static_cast<std::size_t>(cf) * p.nkeep + jj;
      double* band = result.resolution.data() + (static_cast<std::size_t>(cf) * nd) * p.nkeep + jj;
      if (failed) {  // R = I, everything else 0
        for (int d = 0; d < nd; ++d)
          band[static_cast<std::size_t>(d) * p.nkeep] = kernels::failed_band_value(d, ndiag);
        continue;
      }
      result.flux[out] = ws.flux[q];
      result.ivar[out] = kernels::output_ivar(c.specter, all_masked, ws.fw[q], ws.ivar[q]);
      for (int d = 0; d < nd; ++d) {
        const int row = j + d - ndiag;
        band[static_cast<std::size_t>(d) * p.nkeep] =
            ws.r_full[(static_cast<std::size_t>(b) * c.nw + j) * c.nw + row];
      }
    }
  }
}

void solve_one(const PatchBatch& batch, int index, const SpotTable& table, Workspace& ws, PatchResult& result,
               StageClock& clock) {
  const Patch& p = batch.plan->patches[batch.first + index];
  const kernels::PsfView psf = batch.psf->view();
  auto t0 = Clock::now();
  if (!evaluate_patch_spots(batch, p, table, ws, result)) return;
  clock.spots += seconds_since(t0);
  PatchContext c{batch, p, {}, p.unknowns(), p.nwave, p.nfibers(), batch.settings.compat == Compat::specter};
  const int nx_max = kernels::spot_nx_max(psf);
  c.view = kernels::PatchView{c.nq,
                              ws.cut.data(),
                              ws.corner.data(),
                              ws.stamps.data(),
                              nx_max,
                              static_cast<long>(nx_max) * kernels::spot_ny_max(psf),
                              batch.image->pixels.data(),
                              batch.image->ivar.data(),
                              batch.image->ncols};
  clock.flops_spots += 4.0e3 * c.nq;

  t0 = Clock::now();
  build_pixel_lists(c, ws);
  choose_band(c, ws);
  ws.h.assign(static_cast<std::size_t>(c.nq) * (c.stride + 1), 0.0);
  ws.fw.resize(c.nq);
  ws.rhs.resize(c.nq);
  ws.good.resize(c.nq);
  ws.masked.resize(c.nq);
  // H pixel by pixel over the window (bitwise equal to kernels::NormalRowFunctor, which
  // the CUDA backend runs; tests/test_normal_equations.cpp checks it).
  {
    const Patch& p = c.patch;
    const int ncols = p.x1 - p.x0;
    ws.values.resize(static_cast<std::size_t>(c.nq));
    for (int y = p.y0; y < p.y1; ++y) {
      for (int x = p.x0; x < p.x1; ++x) {
        const int i = (y - p.y0) * ncols + (x - p.x0);
        const int count = ws.pix_start[i + 1] - ws.pix_start[i];
        if (count > 0) {
          kernels::normal_pixel_accumulate(c.view, ws.pix_list.data() + ws.pix_start[i], count, x, y,
                                           ws.values.data(), ws.h.data(), c.stride);
        }
      }
    }
  }
  const kernels::ColumnSumsFunctor sums{c.view, ws.fw.data(), ws.rhs.data(), ws.good.data(),
                                        ws.masked.data()};
  for (int q = 0; q < c.nq; ++q) sums(q);
  double max_fw = 0.0;
  for (int q = 0; q < c.nq; ++q) max_fw = std::max(max_fw, ws.fw[q]);
  const bool all_masked = !(max_fw > 0.0);
  clock.normal_equations += seconds_since(t0);
  // Work of the normal equations: 3 flops per pixel pair (w·a, ·a, +) in H and 5 per
  // stamp pixel for the column sums, from the pixel lists' lengths k_p.
  double overlap = 0.0;
  for (std::size_t i = 0; i + 1 < ws.pix_start.size(); ++i) {
    const double k = ws.pix_start[i + 1] - ws.pix_start[i];
    overlap += 1.5 * k * (k + 1.0) + 5.0 * k;
  }
  clock.flops_normal += overlap;

  t0 = Clock::now();
  bool ok = factor_and_solve(c, ws, batch.settings.regularize, all_masked);
  if (!ok) {
    // One deterministic retry of this patch alone with a small ridge (docs/compatibility.md).
    result.status = PatchResult::retried;
    ok = factor_and_solve(c, ws, batch.settings.regularize + 1e-4, all_masked);
  }
  clock.solve += seconds_since(t0);
  const double n = c.nq;
  clock.flops_solve += cpu::band_cholesky_flops(c.nq, c.kd) + 4.0 * n * (c.kd + 1.0);

  t0 = Clock::now();
  result.rcond = c.rcond;
  if (ok) ok = decorrelate(c, ws);
  clock.resolution += seconds_since(t0);
  {
    // The selected inverse up to the first core row and one eigenproblem per core
    // fibre; the whole patch's in decorrelate mode.
    if (batch.settings.decorrelate_fibers) {
      clock.flops_resolution += kernels::symmetric_eigen_flops(c.nq);
    } else {
      const int first_core = (p.core_lo - p.fiber_lo) * c.nw;
      clock.flops_resolution += cpu::band_selected_inverse_flops(c.nq, c.kd, first_core) +
                                (p.core_hi - p.core_lo) * kernels::symmetric_eigen_flops(c.nw);
    }
  }
  if (!ok) result.status = PatchResult::failed;
  const bool failed = result.status == PatchResult::failed;

  t0 = Clock::now();
  store_outputs(c, ws, result, failed, all_masked);
  if (!failed) patch_products(c, ws, result, failed);
  clock.products += seconds_since(t0);
}

}  // namespace

void cpu_solve_patches(const PatchBatch& batch, int threads, StageClock& clock) {
  (void)cpu::active_isa();  // a bad LIBEXTRACT_ISA is reported here, not inside the threads
  std::vector<PatchResult>& results = *batch.results;
  results.assign(static_cast<std::size_t>(batch.count), PatchResult{});
#if defined(_OPENMP)
  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#else
  const int nthreads = 1;
  (void)threads;
#endif
  std::vector<StageClock> clocks(static_cast<std::size_t>(nthreads));
  // Runs of consecutive patches of one bundle (gpu_specter: one shared spot table each).
  const bool share_spots = batch.settings.compat == Compat::gpu_specter;
  SpotTable table;
  for (int first = 0; first < batch.count;) {
    int last = first + 1;
    const int bundle = batch.plan->patches[batch.first + first].bundle;
    while (last < batch.count && batch.plan->patches[batch.first + last].bundle == bundle) ++last;
    if (!share_spots) last = batch.count;
    if (share_spots) {
      const auto t0 = Clock::now();
      fill_spot_table(batch, first, last, nthreads, table);
      clock.spots += seconds_since(t0) * nthreads;
    }
#if defined(_OPENMP)
#pragma omp parallel num_threads(nthreads)
#endif
    {
#if defined(_OPENMP)
      const int me = omp_get_thread_num();
#else
      const int me = 0;
#endif
      Workspace ws;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 1)
#endif
      for (int i = first; i < last; ++i) solve_one(batch, i, table, ws, results[i], clocks[me]);
    }
    first = last;
  }
  for (const StageClock& c : clocks) {
    clock.spots += c.spots;
    clock.normal_equations += c.normal_equations;
    clock.solve += c.solve;
    clock.resolution += c.resolution;
    clock.products += c.products;
    clock.flops_spots += c.flops_spots;
    clock.flops_normal += c.flops_normal;
    clock.flops_solve += c.flops_solve;
    clock.flops_resolution += c.flops_resolution;
  }
  clock.loops += 1;
}

}  // namespace detail
}  // namespace libextract
