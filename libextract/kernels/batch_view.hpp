// The batched pipeline's data: one chunk of patches as flat arrays (structure of
// arrays; libextract/src/batch_layout.hpp builds it on the host), the per-patch
// descriptors and states, the settings, and the indexing from a flat element to its
// patch. The stage functors over it are batch_pipeline.hpp.
//
// Layout, one set per chunk of patches: patches[P] describe each patch and give its
// offsets into
//   per-unknown arrays  [U = Σ nq]            (spots, cuts, fluxweight, b, x, flux, ...)
//   per-matrix arrays   [Σ nq²]               (h = AᵀWA, factor = L and the selected inverse)
//   per-block arrays    [Σ 2·nf·nwave²]       (C_bb → R of each fibre, eigenvectors)
//   per-pixel arrays    [Σ window pixels]     (model, χ², tiv)
//   per-output arrays   [Σ core fibres·nkeep] (flux, ivar, chi2pix, pmf, resolution band)
#pragma once

#include "kernels/hd.hpp"
#include "kernels/projection.hpp"
#include "kernels/psf_view.hpp"
#include "kernels/spot.hpp"

namespace libextract {
namespace kernels {

// Values of PatchState::status; the same numbers as detail::PatchResult::Status.
enum PatchStatusCode : int { patch_ok = 0, patch_retried = 1, patch_failed = 2 };

// One patch of a chunk: its geometry (from the plan) and its offsets into the arrays.
struct PatchDesc {
  int nq, nw, nf;                 // unknowns, bins per fibre, fibres
  int fiber_lo;                   // absolute index of the first (padded) fibre
  int x0, x1, y0, y1;             // pixel window [x0, x1) × [y0, y1)
  int core_b0, ncore_fibers;      // first core fibre relative to fiber_lo, count
  int core_offset, ncore, nkeep;  // core bins: first, solved, stored
  int first_problem;              // index of the patch's first eigen problem (core fibre
                                  // blocks; the patch itself with decorrelate_fibers)
  long long unknown_off;          // into per-unknown arrays
  long long matrix_off;           // into per-matrix arrays (nq² each)
  long long block_off;            // into per-block arrays (2·nf·nw² each)
  long long rot_off;              // into the eigensolver workspace
  long long pixel_off;            // into per-pixel arrays
  long long output_off;           // into per-output arrays (resolution: × (2·ndiag+1))
};

// What the device reports per patch (downloaded with the outputs).
struct PatchState {
  double rcond;         // LAPACK-style reciprocal 1-norm condition estimate of iCov
  double flops_normal;  // work of the normal equations (the CPU backend's count)
  double envelope;      // Σ_i (i − first_i) and Σ_i (i − first_i)²: the envelope
  double envelope2;     // algorithms' work, for the flop estimates
  int status;           // PatchStatusCode
  int bad_unknown;      // first unknown whose spot failed (the patch is then an error), or -1
  int all_masked;       // no weighted pixel under any spot
  int solve_ok;         // the Cholesky solve (after at most one retry) succeeded
};

struct BatchSettings {
  int specter;       // Compat::specter rules (else gpu_specter)
  int decorrelate;   // decorrelate_fibers: full iCov^(1/2)
  int model;         // build the model image
  int ndiag;         // resolution half-width
  int eigen_sweeps;  // QL sweeps per order before the eigensolver gives up (the patch fails)
  double regularize;
  double psferr;
};

// Every array of one chunk. Pointers are device pointers on the GPU, host pointers
// in the CPU execution.
struct BatchView {
  const PatchDesc* patches;
  int npatches;
  BatchSettings settings;
  // inputs
  PsfView psf;
  int rule;             // SpotRule
  int nx_max;           // stamp row stride
  long cell;            // doubles per stamp cell
  const int* fibers;    // [U]
  const double* waves;  // [U]
  const double* image;
  const double* ivar;
  long image_stride;
  // per unknown [U]
  double* stamps;  // [U][cell]
  SpotFootprint* footprints;
  int* spot_status;
  Rect* cuts;
  int* corners;  // [U][2]
  double *fluxweight, *rhs, *weight_good, *weight_masked;
  double* x;          // deconvolved flux x̂
  double* flux_q;     // R·x̂
  double* ivar_q;     // s²
  double* mu;         // eigenvalues
  double* icov_diag;  // diagonal of iCov with its prior (last attempt)
  double* cdiag;      // diagonal of iCov⁻¹
  double *work_a, *work_b;
  double* overlap;  // per row q1: the normal equations' flop count
  int *env_first, *env_last;
  // per matrix / block
  double* h;       // iCov (lower, column-major = NormalRowFunctor's upper, row-major)
  double* factor;  // Cholesky factor; selected inverse in its strict upper triangle
  double* blocks;  // per patch: R [nf][nw][nw] (column c of fibre b at (b·nw + c)·nw), then V
  double* rot;     // eigensolver workspace (symmetric_eigen_workspace per problem)
  // per pixel
  double *pix_model, *pix_chi2;
  int* pix_tiv;
  // per patch / per output (the download)
  PatchState* states;
  double *out_flux, *out_ivar, *out_chi2pix, *out_pmf, *out_resolution, *out_model;
};

// ---------------------------------------------------------------- helpers

// Largest p with key(patches[p]) <= index (patches sorted by every key).
template <class Key>
LIBEXTRACT_HD int find_patch(const PatchDesc* patches, int count, long long index, Key key) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (key(patches[mid]) <= index) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}
struct KeyUnknown {
  LIBEXTRACT_HD long long operator()(const PatchDesc& d) const { return d.unknown_off; }
};
struct KeyPixel {
  LIBEXTRACT_HD long long operator()(const PatchDesc& d) const { return d.pixel_off; }
};
struct KeyOutput {
  LIBEXTRACT_HD long long operator()(const PatchDesc& d) const { return d.output_off; }
};
struct KeyProblem {
  LIBEXTRACT_HD long long operator()(const PatchDesc& d) const { return d.first_problem; }
};

LIBEXTRACT_HD PatchView patch_view(const BatchView& v, const PatchDesc& d) {
  PatchView pv;
  pv.nq = d.nq;
  pv.cut = v.cuts + d.unknown_off;
  pv.corner = v.corners + 2 * d.unknown_off;
  pv.stamps = v.stamps + v.cell * d.unknown_off;
  pv.stride = v.nx_max;
  pv.cell = v.cell;
  pv.image = v.image;
  pv.ivar = v.ivar;
  pv.image_stride = v.image_stride;
  return pv;
}

LIBEXTRACT_HD bool rect_contains(const Rect& r, int x, int y) {
  return x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
}

LIBEXTRACT_HD bool is_core_unknown(const PatchDesc& d, int q) {
  const int b = q / d.nw, j = q % d.nw;
  return b >= d.core_b0 && b < d.core_b0 + d.ncore_fibers && j >= d.core_offset &&
         j < d.core_offset + d.ncore;
}

}  // namespace kernels
}  // namespace libextract
