// The patch solve of a whole batch of patches as stage functors over the flat arrays
// of batch_view.hpp: what the CUDA backend launches (cuda/backend_cuda.cu) and what
// cpu_fallback/batch_pipeline_cpu.hpp launches on the CPU. The math is the CPU
// backend's (cpu_fallback/patch_solver_cpu.cpp) step for step, with the same team
// kernels (envelope_cholesky.hpp, symmetric_eigen.hpp) and output rules
// (patch_outputs.hpp), so the bits are the same.
//
// Stage functors and their elements (launch shapes in docs/gpu.md):
//   spots            SpotBatchFunctor      one thread per unknown (spot_batch.hpp)
//   cuts             CutFunctor            one thread per unknown
//   normal equations NormalEquationsFunctor one thread per unknown (row q1 of iCov, Σ's)
//   solve            PatchSolveFunctor     one team per patch
//   resolution       EigenFunctor          one team per core fibre block (per patch
//                                          with decorrelate_fibers)
//   pixels           PixelFunctor          one thread per window pixel
//   outputs          OutputFunctor         one thread per stored (fibre, bin)
#pragma once

#include <cmath>

#include "kernels/batch_view.hpp"
#include "kernels/envelope_cholesky.hpp"
#include "kernels/hd.hpp"
#include "kernels/patch_outputs.hpp"
#include "kernels/projection.hpp"
#include "kernels/spot.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace kernels {

// Σ_q A_pq·coef_q over the unknowns whose cut covers (x, y), q increasing (core
// unknowns only when core_only): the same terms in the same order as
// pixel_combination over the pixel's list, without building the list.
LIBEXTRACT_HD double pixel_combination_scan(const PatchView& v, const PatchDesc& d, int x, int y,
                                            const double* coef, bool core_only) {
  double sum = 0.0;
  for (int q = 0; q < v.nq; ++q) {
    if (!rect_contains(v.cut[q], x, y)) continue;
    if (core_only && !is_core_unknown(d, q)) continue;
    sum = sum + spot_value(v, q, x, y) * coef[q];
  }
  return sum;
}

// ---------------------------------------------------------------- elementwise stages

// Stamp corner and the cut of each unknown's stamp by its patch window.
struct CutFunctor {
  BatchView v;
  LIBEXTRACT_HD void operator()(int u, double*) const {
    const int p = find_patch(v.patches, v.npatches, u, KeyUnknown{});
    const PatchDesc& d = v.patches[p];
    const SpotFootprint fp = v.footprints[u];
    v.corners[2 * u] = fp.x0;
    v.corners[2 * u + 1] = fp.y0;
    Rect cut{0, 0, 0, 0};
    if (v.spot_status[u] == spot_empty) {
      cut = Rect{0, 0, 0, 0};
    } else if (v.rule == spot_rule_specter) {
      const SpotCut c = cut_spot(fp, v.rule, d.x0, d.x1, d.y0, d.y1);
      if (c.nx > 0) cut = Rect{fp.x0 + c.i0, fp.x0 + c.i0 + c.nx, fp.y0 + c.j0, fp.y0 + c.j0 + c.ny};
    } else {
      cut = rect_intersect(Rect{fp.x0, fp.x0 + fp.nx, fp.y0, fp.y0 + fp.ny}, Rect{d.x0, d.x1, d.y0, d.y1});
    }
    v.cuts[u] = cut;
  }
};

// Row q1 of iCov (upper, row-major) and the column sums of unknown q1: the shared
// NormalRowFunctor and ColumnSumsFunctor on the patch's view.
struct NormalEquationsFunctor {
  BatchView v;
  LIBEXTRACT_HD void operator()(int u, double*) const {
    const int p = find_patch(v.patches, v.npatches, u, KeyUnknown{});
    const PatchDesc& d = v.patches[p];
    const PatchView pv = patch_view(v, d);
    const int q1 = static_cast<int>(u - d.unknown_off);
    const NormalRowFunctor rows{pv, v.h + d.matrix_off};
    rows(q1);
    // 3 flops per overlapping pixel pair, 5 per stamp pixel (the CPU backend's count).
    const Rect a = pv.cut[q1];
    double work = 5.0 * (a.x1 - a.x0) * (a.y1 - a.y0 > 0 ? a.y1 - a.y0 : 0);
    for (int q2 = q1; q2 < pv.nq; ++q2) {
      const Rect o = rect_intersect(a, pv.cut[q2]);
      if (!rect_empty(o)) work = work + 3.0 * (o.x1 - o.x0) * (o.y1 - o.y0);
    }
    v.overlap[u] = work;
    const long long o = d.unknown_off;
    const ColumnSumsFunctor sums{pv, v.fluxweight + o, v.rhs + o, v.weight_good + o, v.weight_masked + o};
    sums(q1);
  }
};

// Model, χ² and tiv of one window pixel (extraction-spec §4.9), and the model image.
struct PixelFunctor {
  BatchView v;
  LIBEXTRACT_HD void operator()(int g, double*) const {
    const int p = find_patch(v.patches, v.npatches, g, KeyPixel{});
    const PatchDesc& d = v.patches[p];
    const PatchState& st = v.states[p];
    if (st.bad_unknown >= 0 || st.status == patch_failed) return;
    const bool specter = v.settings.specter != 0;
    const int ncols = d.x1 - d.x0;
    const int i = static_cast<int>(g - d.pixel_off);
    const int x = d.x0 + i % ncols, y = d.y0 + i / ncols;
    const PatchView pv = patch_view(v, d);
    bool model_bad = false;
    const double model =
        model_pixel(specter, pixel_combination_scan(pv, d, x, y, v.x + d.unknown_off, false), &model_bad);
    v.pix_model[g] = model;
    const long at = static_cast<long>(y) * v.image_stride + x;
    const PixelChi chi = pixel_chi(v.image[at], model_bad ? 0.0 : v.ivar[at], model, v.settings.psferr);
    v.pix_chi2[g] = chi.chi2;
    v.pix_tiv[g] = chi.tiv_positive ? 1 : 0;
    if (v.settings.model) {
      // specter: A·x̂ over the patch; gpu_specter: the core unknowns' convolved flux.
      v.out_model[g] = specter ? model : pixel_combination_scan(pv, d, x, y, v.flux_q + d.unknown_off, true);
    }
  }
};

// One stored (core fibre, bin): flux, ivar, resolution band, chi2pix, pmf.
struct OutputFunctor {
  BatchView v;
  LIBEXTRACT_HD void operator()(int g, double*) const {
    const int p = find_patch(v.patches, v.npatches, g, KeyOutput{});
    const PatchDesc& d = v.patches[p];
    const PatchState& st = v.states[p];
    if (st.bad_unknown >= 0) return;
    const bool specter = v.settings.specter != 0;
    const int ndiag = v.settings.ndiag;
    const int nd = 2 * ndiag + 1;
    const int local = static_cast<int>(g - d.output_off);
    const int cf = local / d.nkeep, jj = local % d.nkeep;
    const int b = d.core_b0 + cf;
    const int j = d.core_offset + jj;
    const int q = b * d.nw + j;
    double* band = v.out_resolution + d.output_off * nd + static_cast<long>(cf) * nd * d.nkeep + jj;
    if (st.status == patch_failed) {  // R = I, everything else 0
      for (int k = 0; k < nd; ++k) band[static_cast<long>(k) * d.nkeep] = failed_band_value(k, ndiag);
      v.out_flux[g] = 0.0;
      v.out_ivar[g] = 0.0;
      v.out_chi2pix[g] = 0.0;
      v.out_pmf[g] = 0.0;
      return;
    }
    const long long uo = d.unknown_off;
    v.out_flux[g] = v.flux_q[uo + q];
    v.out_ivar[g] = output_ivar(specter, st.all_masked != 0, v.fluxweight[uo + q], v.ivar_q[uo + q]);
    const double* r = v.blocks + d.block_off;
    for (int k = 0; k < nd; ++k) {
      const int row = j + k - ndiag;
      band[static_cast<long>(k) * d.nkeep] = r[(static_cast<long>(b) * d.nw + j) * d.nw + row];
    }
    const PatchView pv = patch_view(v, d);
    const int ncols = d.x1 - d.x0;
    const auto pixel = [&](int x, int y) {
      return static_cast<long>(d.pixel_off + static_cast<long>(y - d.y0) * ncols + (x - d.x0));
    };
    v.out_chi2pix[g] = output_chi2pix(pv, q, pixel, v.pix_chi2, v.pix_tiv);
    v.out_pmf[g] = output_pixmask_fraction(specter, v.weight_good[uo + q], v.weight_masked[uo + q]);
  }
};

// ---------------------------------------------------------------- team stages

// One patch: bad-spot check, envelope, prior, Cholesky (one retry with regularize +
// 1e-4, docs/compatibility.md), condition estimate, solve, then the selected inverse
// (per-fibre mode) or the symmetric iCov for the eigendecomposition (decorrelate_fibers).
struct PatchSolveFunctor {
  BatchView v;
  template <class Team>
  LIBEXTRACT_HD void operator()(const Team& t, int p, TeamShared* sh, double*, long) const {
    const PatchDesc& d = v.patches[p];
    const int n = d.nq;
    const long long uo = d.unknown_off;
    const int me = t.rank(), nt = t.size();
    const bool specter = v.settings.specter != 0;
    PatchState* st = v.states + p;
    const double* fw = v.fluxweight + uo;
    if (me == 0) {
      int bad = -1;
      for (int q = 0; q < n; ++q) {
        if (v.spot_status[uo + q] < 0) {
          bad = q;
          break;
        }
      }
      double max_fw = 0.0, work = 0.0;
      for (int q = 0; q < n; ++q) {
        max_fw = max_fw < fw[q] ? fw[q] : max_fw;  // std::max
        work = work + v.overlap[uo + q];
      }
      st->rcond = 0.0;
      st->flops_normal = work;
      st->envelope = 0.0;
      st->envelope2 = 0.0;
      st->status = patch_ok;
      st->bad_unknown = bad;
      st->all_masked = !(max_fw > 0.0) ? 1 : 0;
      st->solve_ok = 0;
      sh->d[1] = max_fw;
      sh->i[3] = bad;
    }
    t.sync();
    const int bad = sh->i[3];
    const double max_fw = sh->d[1];
    t.sync();
    if (bad >= 0) return;  // the driver reports the spot as an error

    const bool identity = specter && !(max_fw > 0.0);  // specter: 1e-8·I x = 0 (spec §4.6)
    double* h = v.h + d.matrix_off;
    double* f = v.factor + d.matrix_off;
    int* first = v.env_first + uo;
    int* last = v.env_last + uo;
    double* x = v.x + uo;
    envelope_rows(t, h, n, n, d.nw, first);
    envelope_columns(t, first, n, last);
    if (me == 0) {
      double e1 = 0.0, e2 = 0.0;
      for (int i = 0; i < n; ++i) {
        const double w = static_cast<double>(i - first[i]);
        e1 = e1 + w;
        e2 = e2 + w * w;
      }
      st->envelope = e1;
      st->envelope2 = e2;
    }

    const double m = 1e-4 * max_fw;
    int status = patch_ok;
    bool ok = false;
    double rcond = 0.0;
    for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
      const double ridge = attempt == 0 ? v.settings.regularize : v.settings.regularize + 1e-4;
      if (attempt == 1) status = patch_retried;
      for (int j = me; j < n; j += nt) {  // factor = iCov + prior, column j
        double* fj = f + static_cast<long>(j) * n;
        const double* hj = h + static_cast<long>(j) * n;
        for (int i = j + 1; i <= last[j]; ++i) {
          if (first[i] <= j) fj[i] = identity ? 0.0 : hj[i];
        }
        double dj;
        if (identity) {
          dj = 1e-8;
        } else {
          const double alpha = fw[j] < m ? m - fw[j] : ridge;
          // gpu_specter adds 1e-15 to every diagonal element; specter does not.
          dj = specter ? hj[j] + alpha * alpha : hj[j] + (alpha * alpha + 1e-15);
        }
        fj[j] = dj;
        v.icov_diag[uo + j] = dj;
        x[j] = identity ? 0.0 : v.rhs[uo + j];
      }
      t.sync();
      // 1-norm of the symmetric matrix, column sums in the CPU backend's order.
      double* colsum = v.work_a + uo;
      for (int k = me; k < n; k += nt) {
        double s = 0.0;
        for (int j = first[k]; j < k; ++j) s = s + fabs(f[static_cast<long>(j) * n + k]);
        for (int i = k; i <= last[k]; ++i) {
          if (first[i] <= k) s = s + fabs(f[static_cast<long>(k) * n + i]);
        }
        colsum[k] = s;
      }
      t.sync();
      if (me == 0) {
        double best = colsum[0];
        for (int k = 1; k < n; ++k)
          if (best < colsum[k]) best = colsum[k];
        sh->d[2] = best;
      }
      t.sync();
      const double anorm = sh->d[2];
      t.sync();
      const int info = envelope_cholesky(t, f, n, n, first, last, sh);
      if (info == 0) {
        rcond = envelope_rcond(t, f, n, n, first, last, anorm, v.work_a + uo, v.work_b + uo, sh);
        envelope_solve(t, f, n, n, first, last, x);
        if (me == 0) {
          int finite = 1;
          for (int q = 0; q < n; ++q) {
            if (!is_finite_value(x[q])) {
              finite = 0;
              break;
            }
          }
          sh->i[4] = finite;
        }
        t.sync();
        ok = sh->i[4] != 0;
        t.sync();
      }
    }
    if (!ok) status = patch_failed;
    if (ok) {
      if (v.settings.decorrelate) {
        // The symmetric iCov with its prior (both triangles) for the eigensolver.
        for (int e = me; e < n * n; e += nt) {  // 32-bit indices: no 64-bit divide on the device
          const int j = e / n, i = e - j * n;
          if (i == j) {
            h[e] = v.icov_diag[uo + j];
          } else if (identity) {
            h[e] = 0.0;
          } else if (i < j) {
            h[e] = h[static_cast<long>(i) * n + j];
          }
        }
        t.sync();
      } else {
        envelope_selected_inverse(t, f, n, n, first, last, v.cdiag + uo);
      }
    }
    if (me == 0) {
      st->rcond = rcond;
      st->status = status;
      st->solve_ok = ok ? 1 : 0;
    }
    t.sync();
  }
};

// The eigendecomposition stage. Per-fibre mode: problem = one core fibre block,
// C_bb^(-1/2) = U·g(μ)·Uᵀ, R = its rows normalised, flux = R·x̂, ivar = s².
// decorrelate_fibers: problem = one patch, Q = iCov^(1/2), R = rows of Q normalised
// (each fibre's block kept), flux from the whole row. `fast`, when it holds at least
// eigen_fast_doubles(nw) doubles, is team-visible scratch (CUDA shared memory) where
// the per-fibre problem runs instead of in the block arrays.
LIBEXTRACT_HD long eigen_fast_doubles(int nw) {
  return 2L * nw * nw + symmetric_eigen_workspace(nw);
}

struct EigenFunctor {
  BatchView v;
  template <class Team>
  LIBEXTRACT_HD void operator()(const Team& t, int e, TeamShared* sh, double* fast, long fast_doubles) const {
    const bool full = v.settings.decorrelate != 0;
    const int p = full ? e : find_patch(v.patches, v.npatches, e, KeyProblem{});
    const PatchDesc& d = v.patches[p];
    const PatchState& st = v.states[p];
    if (st.bad_unknown >= 0 || !st.solve_ok) return;
    const int me = t.rank(), nt = t.size();
    const bool specter = v.settings.specter != 0;
    const long long uo = d.unknown_off;
    const int nw = d.nw;
    double* rblocks = v.blocks + d.block_off;
    if (!full) {
      // Only the core fibres are decorrelated (padding fibres are never stored); a
      // non-finite result there fails the patch.
      const int cb = e - d.first_problem;
      const int b = d.core_b0 + cb;
      const int o = b * nw;
      const long nn = static_cast<long>(nw) * nw;
      double *a, *vec, *work;
      if (fast != nullptr && fast_doubles >= eigen_fast_doubles(nw)) {
        a = fast;
        vec = fast + nn;
        work = fast + 2 * nn;
      } else {
        a = rblocks + b * nn;
        vec = rblocks + (d.nf + b) * nn;
        work = v.rot + d.rot_off + static_cast<long>(cb) * symmetric_eigen_workspace(nw);
      }
      const double* f = v.factor + d.matrix_off;
      const double* cdiag = v.cdiag + uo;
      for (int k = me; k < nw * nw; k += nt) {  // 32-bit indices: no 64-bit divide on the device
        const int c = k / nw, r = k - c * nw;
        if (r >= c) a[k] = selected_inverse_at(f, d.nq, cdiag, o + r, o + c);
      }
      t.sync();
      double* mu = v.mu + uo + o;
      const int info = symmetric_eigen(t, a, nw, nw, mu, vec, nw, work, sh, v.settings.eigen_sweeps);
      if (info != 0) {
        if (me == 0) t.raise_flag(&v.states[p].status, patch_failed);
        t.sync();
        return;
      }
      double* g = work;  // the eigenvalue factors (the workspace is free again)
      for (int k = me; k < nw; k += nt) g[k] = inverse_sqrt_factor(mu[k], mu[nw - 1], specter);
      t.sync();
      eigen_recompose(t, a, nw, g, nw, vec, nw);  // Q = C_bb^(-1/2) into vec
      const double* xb = v.x + uo + o;
      for (int r = me; r < nw; r += nt) {
        double* fl = v.flux_q + uo + o + r;
        double* iv = v.ivar_q + uo + o + r;
        resolution_row(vec, nw, r, nw, xb, 0, nw, rblocks + static_cast<long>(b) * nw * nw + r, nw, fl, iv);
        // Several rows (and the patch's other fibre blocks) may fail it at once.
        if (!is_finite_value(*fl) || !is_finite_value(*iv)) t.raise_flag(&v.states[p].status, patch_failed);
      }
      t.sync();
      return;
    }
    // decorrelate_fibers: the whole patch.
    const int n = d.nq;
    double* a = v.h + d.matrix_off;         // symmetric iCov + prior (PatchSolveFunctor)
    double* vec = v.factor + d.matrix_off;  // the factor is no longer needed
    double* work = v.rot + d.rot_off;
    double* mu = v.mu + uo;
    const int info = symmetric_eigen(t, a, n, n, mu, vec, n, work, sh, v.settings.eigen_sweeps);
    if (info != 0) {
      if (me == 0) t.raise_flag(&v.states[p].status, patch_failed);
      t.sync();
      return;
    }
    double* g = work;
    for (int k = me; k < n; k += nt) g[k] = sqrt_factor(mu[k], mu[n - 1], specter);
    t.sync();
    eigen_recompose(t, a, n, g, n, vec, n);  // Q = iCov^(1/2) into vec
    const double* xq = v.x + uo;
    for (int r = me; r < n; r += nt) {
      const int b = r / nw;
      resolution_row(vec, n, r, n, xq, b * nw, (b + 1) * nw,
                     rblocks + static_cast<long>(b) * nw * nw + (r - b * nw), nw, v.flux_q + uo + r,
                     v.ivar_q + uo + r);
    }
    t.sync();
  }
};

}  // namespace kernels
}  // namespace libextract
