// Host side of the batched device pipeline, in plain C++ (no CUDA): the layout of one
// chunk of patches in a single arena (inputs, then outputs, then workspace), packing
// the inputs, binding the arena to a kernels::BatchView, and unpacking the downloaded
// outputs into PatchResults exactly as the CPU backend fills them. Shared by the CUDA
// backend (cuda/backend_cuda.cu, arena on the device) and by the CPU execution of the
// same pipeline (cpu_fallback/batch_pipeline_cpu.hpp, arena on the host) that the tests run.
//
// A chunk is self-contained: its inputs carry the PSF tables (~1 MB) and the image and
// ivar over the bounding rectangle of its patch windows (a bundle's patches cover
// about 1/20 of the CCD, so a frame's chunks upload about one image in total). Nothing
// stays on the device between batches that a changed image could make stale.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/batch_pipeline.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/spot.hpp"
#include "backend_seam.hpp"

namespace libextract {
namespace detail {
namespace batch {

constexpr std::size_t arena_alignment = 256;

struct Region {
  std::size_t offset = 0, bytes = 0;
};

// One chunk: patches [first, first + count) of a batch (batch-relative indices).
struct ChunkLayout {
  int first = 0, count = 0;
  long long unknowns = 0, pixels = 0, outputs = 0, matrix = 0, blocks = 0, rot = 0;
  int problems = 0;  // eigen problems (core fibre blocks, or patches with decorrelate_fibers)
  int max_nw = 0, max_nq = 0;
  int nd = 0;  // 2·ndiag + 1
  int nx_max = 0;
  long cell = 0;
  // inputs (uploaded), from offset 0
  Region patches, fibers, waves;
  Region psf_trace_x, psf_trace_y, psf_shape, psf_wmin, psf_wmax;
  Region image_box, ivar_box;  // [box_y1 - box_y0][box_x1 - box_x0]
  int box_x0 = 0, box_x1 = 0, box_y0 = 0, box_y1 = 0;
  // outputs (downloaded), from output_offset
  Region states, out_flux, out_ivar, out_chi2pix, out_pmf, out_resolution, out_model;
  // workspace
  Region stamps, footprints, spot_status, cuts, corners;
  Region fluxweight, rhs, weight_good, weight_masked, x, flux_q, ivar_q, mu, icov_diag, cdiag, work_a, work_b,
      overlap;
  Region env_first, env_last, h, factor, block_r, rot_r, pix_model, pix_chi2, pix_tiv;
  std::size_t input_bytes = 0, output_offset = 0, output_bytes = 0, total_bytes = 0;
};

inline kernels::BatchSettings settings_of(const PatchBatch& batch) {
  kernels::BatchSettings s{};
  s.specter = batch.settings.compat == Compat::specter ? 1 : 0;
  s.decorrelate = batch.settings.decorrelate_fibers ? 1 : 0;
  s.model = batch.settings.model ? 1 : 0;
  s.ndiag = batch.settings.ndiag;
  s.eigen_sweeps = kernels::ql_sweeps_per_order;
  s.regularize = batch.settings.regularize;
  s.psferr = batch.settings.psferr;
  return s;
}

inline int spot_rule_of(const PatchBatch& batch) {
  return batch.settings.compat == Compat::specter ? kernels::spot_rule_specter
                                                  : kernels::spot_rule_gpu_specter;
}

namespace layout_detail {
struct Cursor {
  std::size_t at = 0;
  template <class T>
  Region take(long long count) {
    Region r;
    r.offset = at;
    r.bytes = static_cast<std::size_t>(count) * sizeof(T);
    at += (r.bytes + arena_alignment - 1) / arena_alignment * arena_alignment;
    return r;
  }
};
}  // namespace layout_detail

inline ChunkLayout plan_chunk(const PatchBatch& batch, int first, int count) {
  ChunkLayout l;
  l.first = first;
  l.count = count;
  const kernels::PsfView psf = batch.psf->view();
  l.nx_max = kernels::spot_nx_max(psf);
  l.cell = static_cast<long>(l.nx_max) * kernels::spot_ny_max(psf);
  l.nd = 2 * batch.settings.ndiag + 1;
  const bool full = batch.settings.decorrelate_fibers;
  for (int i = 0; i < count; ++i) {
    const Patch& p = batch.plan->patches[batch.first + first + i];
    const long long nq = p.unknowns();
    l.unknowns += nq;
    l.pixels += p.npixels();
    l.outputs += static_cast<long long>(p.core_hi - p.core_lo) * p.nkeep;
    l.matrix += nq * nq;
    l.blocks += 2LL * p.nfibers() * p.nwave * p.nwave;
    const int ncore = p.core_hi - p.core_lo;
    l.rot += full ? kernels::symmetric_eigen_workspace(p.unknowns())
                  : static_cast<long long>(ncore) * kernels::symmetric_eigen_workspace(p.nwave);
    l.problems += full ? 1 : ncore;
    l.max_nw = std::max(l.max_nw, p.nwave);
    l.max_nq = std::max(l.max_nq, p.unknowns());
  }
  bool any = false;  // the rectangle every functor reads the image in: the windows' union
  for (int i = 0; i < count; ++i) {
    const Patch& p = batch.plan->patches[batch.first + first + i];
    if (p.x1 <= p.x0 || p.y1 <= p.y0) continue;
    if (!any) {
      l.box_x0 = p.x0;
      l.box_x1 = p.x1;
      l.box_y0 = p.y0;
      l.box_y1 = p.y1;
      any = true;
    }
    l.box_x0 = std::min(l.box_x0, p.x0);
    l.box_x1 = std::max(l.box_x1, p.x1);
    l.box_y0 = std::min(l.box_y0, p.y0);
    l.box_y1 = std::max(l.box_y1, p.y1);
  }
  const long long box = static_cast<long long>(l.box_x1 - l.box_x0) * (l.box_y1 - l.box_y0);
  const PsfModel& m = *batch.psf;
  using layout_detail::Cursor;
  Cursor c;
  l.patches = c.take<kernels::PatchDesc>(count);
  l.fibers = c.take<int>(l.unknowns);
  l.waves = c.take<double>(l.unknowns);
  l.psf_trace_x = c.take<double>(static_cast<long long>(m.trace_x.size()));
  l.psf_trace_y = c.take<double>(static_cast<long long>(m.trace_y.size()));
  l.psf_shape = c.take<double>(static_cast<long long>(m.shape.size()));
  l.psf_wmin = c.take<double>(static_cast<long long>(m.fiber_wmin.size()));
  l.psf_wmax = c.take<double>(static_cast<long long>(m.fiber_wmax.size()));
  l.image_box = c.take<double>(box);
  l.ivar_box = c.take<double>(box);
  l.input_bytes = c.at;
  l.output_offset = c.at;
  l.states = c.take<kernels::PatchState>(count);
  l.out_flux = c.take<double>(l.outputs);
  l.out_ivar = c.take<double>(l.outputs);
  l.out_chi2pix = c.take<double>(l.outputs);
  l.out_pmf = c.take<double>(l.outputs);
  l.out_resolution = c.take<double>(l.outputs * l.nd);
  l.out_model = c.take<double>(batch.settings.model ? l.pixels : 0);
  l.output_bytes = c.at - l.output_offset;
  const long long u = l.unknowns;
  l.stamps = c.take<double>(u * l.cell);
  l.footprints = c.take<kernels::SpotFootprint>(u);
  l.spot_status = c.take<int>(u);
  l.cuts = c.take<kernels::Rect>(u);
  l.corners = c.take<int>(2 * u);
  l.fluxweight = c.take<double>(u);
  l.rhs = c.take<double>(u);
  l.weight_good = c.take<double>(u);
  l.weight_masked = c.take<double>(u);
  l.x = c.take<double>(u);
  l.flux_q = c.take<double>(u);
  l.ivar_q = c.take<double>(u);
  l.mu = c.take<double>(u);
  l.icov_diag = c.take<double>(u);
  l.cdiag = c.take<double>(u);
  l.work_a = c.take<double>(u);
  l.work_b = c.take<double>(u);
  l.overlap = c.take<double>(u);
  l.env_first = c.take<int>(u);
  l.env_last = c.take<int>(u);
  l.h = c.take<double>(l.matrix);
  l.factor = c.take<double>(l.matrix);
  l.block_r = c.take<double>(l.blocks);
  l.rot_r = c.take<double>(l.rot);
  l.pix_model = c.take<double>(l.pixels);
  l.pix_chi2 = c.take<double>(l.pixels);
  l.pix_tiv = c.take<int>(l.pixels);
  l.total_bytes = c.at;
  return l;
}

// Writes the input region (l.input_bytes from the arena's start) into `base`.
inline void pack_inputs(const PatchBatch& batch, const ChunkLayout& l, void* base) {
  unsigned char* bytes = static_cast<unsigned char*>(base);
  auto* descs = reinterpret_cast<kernels::PatchDesc*>(bytes + l.patches.offset);
  auto* fibers = reinterpret_cast<int*>(bytes + l.fibers.offset);
  auto* waves = reinterpret_cast<double*>(bytes + l.waves.offset);
  const bool full = batch.settings.decorrelate_fibers;
  long long uo = 0, mo = 0, bo = 0, ro = 0, po = 0, oo = 0;
  int problem = 0;
  for (int i = 0; i < l.count; ++i) {
    const Patch& p = batch.plan->patches[batch.first + l.first + i];
    kernels::PatchDesc d{};
    d.nq = p.unknowns();
    d.nw = p.nwave;
    d.nf = p.nfibers();
    d.fiber_lo = p.fiber_lo;
    d.x0 = p.x0;
    d.x1 = p.x1;
    d.y0 = p.y0;
    d.y1 = p.y1;
    d.core_b0 = p.core_lo - p.fiber_lo;
    d.ncore_fibers = p.core_hi - p.core_lo;
    d.core_offset = p.core_offset;
    d.ncore = p.ncore;
    d.nkeep = p.nkeep;
    d.first_problem = problem;
    d.unknown_off = uo;
    d.matrix_off = mo;
    d.block_off = bo;
    d.rot_off = ro;
    d.pixel_off = po;
    d.output_off = oo;
    descs[i] = d;
    for (int q = 0; q < d.nq; ++q) {
      fibers[uo + q] = p.fiber_lo + q / p.nwave;
      waves[uo + q] = batch.plan->patch_waves[p.wave_offset + q % p.nwave];
    }
    uo += d.nq;
    mo += static_cast<long long>(d.nq) * d.nq;
    bo += 2LL * d.nf * d.nw * d.nw;
    ro += full ? kernels::symmetric_eigen_workspace(d.nq)
               : static_cast<long long>(d.ncore_fibers) * kernels::symmetric_eigen_workspace(d.nw);
    po += p.npixels();
    oo += static_cast<long long>(d.ncore_fibers) * d.nkeep;
    problem += full ? 1 : d.ncore_fibers;
  }
  const PsfModel& m = *batch.psf;
  auto copy = [bytes](const Region& r, const std::vector<double>& v) {
    if (!v.empty()) std::memcpy(bytes + r.offset, v.data(), v.size() * sizeof(double));
  };
  copy(l.psf_trace_x, m.trace_x);
  copy(l.psf_trace_y, m.trace_y);
  copy(l.psf_shape, m.shape);
  copy(l.psf_wmin, m.fiber_wmin);
  copy(l.psf_wmax, m.fiber_wmax);
  const int w = l.box_x1 - l.box_x0;
  auto* image = reinterpret_cast<double*>(bytes + l.image_box.offset);
  auto* ivar = reinterpret_cast<double*>(bytes + l.ivar_box.offset);
  for (int y = l.box_y0; y < l.box_y1; ++y) {
    const std::size_t from = static_cast<std::size_t>(y) * batch.image->ncols + l.box_x0;
    const std::size_t to = static_cast<std::size_t>(y - l.box_y0) * w;
    std::memcpy(image + to, batch.image->pixels.data() + from, w * sizeof(double));
    std::memcpy(ivar + to, batch.image->ivar.data() + from, w * sizeof(double));
  }
}

// The BatchView of an arena at `base` (device or host memory; only addresses are
// computed here). The image is seen through its rectangle: image[y·stride + x] for
// absolute pixels (x, y), stride the rectangle's width, as the shared functors index it.
inline kernels::BatchView bind(const PatchBatch& batch, const ChunkLayout& l, void* base) {
  unsigned char* b = static_cast<unsigned char*>(base);
  auto at = [b](const Region& r) { return static_cast<void*>(b + r.offset); };
  kernels::BatchView v{};
  v.patches = static_cast<const kernels::PatchDesc*>(at(l.patches));
  v.npatches = l.count;
  v.settings = settings_of(batch);
  kernels::PsfView psf = batch.psf->view();
  psf.trace_x = static_cast<const double*>(at(l.psf_trace_x));
  psf.trace_y = static_cast<const double*>(at(l.psf_trace_y));
  psf.shape = static_cast<const double*>(at(l.psf_shape));
  psf.fiber_wmin = static_cast<const double*>(at(l.psf_wmin));
  psf.fiber_wmax = static_cast<const double*>(at(l.psf_wmax));
  v.psf = psf;
  v.rule = spot_rule_of(batch);
  v.nx_max = l.nx_max;
  v.cell = l.cell;
  v.fibers = static_cast<const int*>(at(l.fibers));
  v.waves = static_cast<const double*>(at(l.waves));
  // The rectangle's first pixel (box_x0, box_y0) is at offset box_y0·w + box_x0 of the
  // view; the functors only read pixels inside the rectangle.
  const long w = l.box_x1 - l.box_x0;
  const std::ptrdiff_t origin = static_cast<std::ptrdiff_t>(l.box_y0) * w + l.box_x0;
  v.image = reinterpret_cast<const double*>(b + l.image_box.offset) - origin;
  v.ivar = reinterpret_cast<const double*>(b + l.ivar_box.offset) - origin;
  v.image_stride = w;
  v.stamps = static_cast<double*>(at(l.stamps));
  v.footprints = static_cast<kernels::SpotFootprint*>(at(l.footprints));
  v.spot_status = static_cast<int*>(at(l.spot_status));
  v.cuts = static_cast<kernels::Rect*>(at(l.cuts));
  v.corners = static_cast<int*>(at(l.corners));
  v.fluxweight = static_cast<double*>(at(l.fluxweight));
  v.rhs = static_cast<double*>(at(l.rhs));
  v.weight_good = static_cast<double*>(at(l.weight_good));
  v.weight_masked = static_cast<double*>(at(l.weight_masked));
  v.x = static_cast<double*>(at(l.x));
  v.flux_q = static_cast<double*>(at(l.flux_q));
  v.ivar_q = static_cast<double*>(at(l.ivar_q));
  v.mu = static_cast<double*>(at(l.mu));
  v.icov_diag = static_cast<double*>(at(l.icov_diag));
  v.cdiag = static_cast<double*>(at(l.cdiag));
  v.work_a = static_cast<double*>(at(l.work_a));
  v.work_b = static_cast<double*>(at(l.work_b));
  v.overlap = static_cast<double*>(at(l.overlap));
  v.env_first = static_cast<int*>(at(l.env_first));
  v.env_last = static_cast<int*>(at(l.env_last));
  v.h = static_cast<double*>(at(l.h));
  v.factor = static_cast<double*>(at(l.factor));
  v.blocks = static_cast<double*>(at(l.block_r));
  v.rot = static_cast<double*>(at(l.rot_r));
  v.pix_model = static_cast<double*>(at(l.pix_model));
  v.pix_chi2 = static_cast<double*>(at(l.pix_chi2));
  v.pix_tiv = static_cast<int*>(at(l.pix_tiv));
  v.states = static_cast<kernels::PatchState*>(at(l.states));
  v.out_flux = static_cast<double*>(at(l.out_flux));
  v.out_ivar = static_cast<double*>(at(l.out_ivar));
  v.out_chi2pix = static_cast<double*>(at(l.out_chi2pix));
  v.out_pmf = static_cast<double*>(at(l.out_pmf));
  v.out_resolution = static_cast<double*>(at(l.out_resolution));
  v.out_model = static_cast<double*>(at(l.out_model));
  return v;
}

// Fills results[l.first .. l.first + l.count) from the output region, which starts at
// `outputs` (a host copy of the l.output_bytes at l.output_offset), as the CPU
// backend would; adds the chunk's flop estimates (the CPU backend's formulas) to clock.
inline void unpack_outputs(const PatchBatch& batch, const ChunkLayout& l, const void* outputs,
                           std::vector<PatchResult>& results, StageClock& clock) {
  const unsigned char* bytes = static_cast<const unsigned char*>(outputs);
  auto at = [&](const Region& r) { return bytes + (r.offset - l.output_offset); };
  const auto* states = reinterpret_cast<const kernels::PatchState*>(at(l.states));
  const auto* flux = reinterpret_cast<const double*>(at(l.out_flux));
  const auto* ivar = reinterpret_cast<const double*>(at(l.out_ivar));
  const auto* chi2 = reinterpret_cast<const double*>(at(l.out_chi2pix));
  const auto* pmf = reinterpret_cast<const double*>(at(l.out_pmf));
  const auto* res = reinterpret_cast<const double*>(at(l.out_resolution));
  const auto* model = reinterpret_cast<const double*>(at(l.out_model));
  const bool specter = batch.settings.compat == Compat::specter;
  long long oo = 0, po = 0;
  for (int i = 0; i < l.count; ++i) {
    const Patch& p = batch.plan->patches[batch.first + l.first + i];
    const kernels::PatchState& st = states[i];
    PatchResult& r = results[static_cast<std::size_t>(l.first + i)];
    r = PatchResult{};
    const std::size_t n = static_cast<std::size_t>(p.core_hi - p.core_lo) * p.nkeep;
    const std::size_t npix = static_cast<std::size_t>(p.npixels());
    if (st.bad_unknown >= 0) {
      const int q = st.bad_unknown;
      const int fiber = p.fiber_lo + q / p.nwave;
      const double wave = batch.plan->patch_waves[p.wave_offset + q % p.nwave];
      r.error = "fibre " + std::to_string(fiber) + " at " + std::to_string(wave) +
                " A: the PSF gives a non-finite or all-zero spot";
    } else {
      r.status = st.status;
      r.rcond = st.rcond;
      r.flux.assign(flux + oo, flux + oo + n);
      r.ivar.assign(ivar + oo, ivar + oo + n);
      r.chi2pix.assign(chi2 + oo, chi2 + oo + n);
      r.pmf.assign(pmf + oo, pmf + oo + n);
      r.resolution.assign(res + oo * l.nd, res + (oo + static_cast<long long>(n)) * l.nd);
      if (batch.settings.model && st.status != PatchResult::failed) {
        r.model.assign(model + po, model + po + npix);
        if (specter) {
          r.model_valid = true;
        } else {
          bool any_nonzero = false, all_finite = true;
          for (double m : r.model) {
            any_nonzero = any_nonzero || m != 0.0;
            all_finite = all_finite && std::isfinite(m);
          }
          r.model_valid = any_nonzero && all_finite;  // gpu_specter skips such patches
        }
      }
      // Work of the algorithms this pipeline runs: envelope Cholesky (Σ w²), selected
      // inverse (2·Σ w²), about 11 envelope solves for the solution and the condition
      // estimate (4·Σ w each); the eigenproblems as kernels::symmetric_eigen_flops.
      const double nq = p.unknowns();
      clock.flops_spots += 4.0e3 * nq;
      clock.flops_normal += st.flops_normal;
      clock.flops_solve +=
          (batch.settings.decorrelate_fibers ? 1.0 : 3.0) * st.envelope2 + 44.0 * st.envelope;
      const int n_eig = batch.settings.decorrelate_fibers ? p.unknowns() : p.nwave;
      const double problems =
          batch.settings.decorrelate_fibers ? 1.0 : static_cast<double>(p.core_hi - p.core_lo);
      clock.flops_resolution += problems * kernels::symmetric_eigen_flops(n_eig);
    }
    oo += static_cast<long long>(n);
    po += static_cast<long long>(npix);
  }
}

// Per-stage launch counts of one chunk (the same on every backend that runs the
// functors): spots 2 (spots, cuts), normal equations 1, solve 1, resolution 1,
// products 2 (pixels, outputs).
constexpr int launches_spots = 2, launches_normal = 1, launches_solve = 1, launches_resolution = 1,
              launches_products = 2;

// Chunks a batch is split into (one per stream in flight).
inline int chunk_count(int patches, int slots) {
  return patches < slots ? (patches > 0 ? patches : 1) : slots;
}

inline std::vector<ChunkLayout> plan_chunks(const PatchBatch& batch, int slots) {
  std::vector<ChunkLayout> chunks;
  const int n = chunk_count(batch.count, slots);
  int first = 0;
  for (int c = 0; c < n; ++c) {
    const int count = batch.count / n + (c < batch.count % n ? 1 : 0);
    chunks.push_back(plan_chunk(batch, first, count));
    first += count;
  }
  return chunks;
}

// The stages in launch order; a run may stop after any of them (tests' tier-0 hook).
enum Stage : int {
  stage_spots = 1,
  stage_normal = 2,
  stage_solve = 3,
  stage_resolution = 4,
  stage_products = 5
};

// One chunk's arena after a run (doubles, so that every region is 8-byte aligned).
struct ChunkDump {
  ChunkLayout layout;
  std::vector<double> arena;
  const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(arena.data()); }
  template <class T>
  const T* at(const Region& r) const {
    return reinterpret_cast<const T*>(bytes() + r.offset);
  }
};

}  // namespace batch
}  // namespace detail
}  // namespace libextract
