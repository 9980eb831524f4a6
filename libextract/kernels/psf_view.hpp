// The PSF as the kernels see it: raw pointers into coefficient tables that live on
// the host (CPU backend) or were copied to the device (CUDA backend).
#pragma once

#include "kernels/hd.hpp"
#include "kernels/legendre.hpp"

namespace libextract {
namespace kernels {

// Rows of `shape`, in this order, then GH-a-b at shape_gh_first + a*(ghdeg_y+1) + b.
enum ShapeRow : int {
  shape_sigma_x = 0,
  shape_sigma_y = 1,
  shape_tail_amp = 2,
  shape_tail_core = 3,
  shape_tail_xscale = 4,
  shape_tail_yscale = 5,
  shape_tail_index = 6,
  shape_gh_first = 7,
};

struct PsfView {
  int nspec;
  int hsize_x, hsize_y;
  int ghdeg_x, ghdeg_y;
  // Traces x(λ), y(λ): [nspec][trace_ncoef], each with its own domain.
  const double* trace_x;
  const double* trace_y;
  int trace_ncoef;
  double trace_x_wmin, trace_x_wmax;
  double trace_y_wmin, trace_y_wmax;
  // Shape parameters: [shape_rows][nspec][ncoef] on the domain [wmin, wmax].
  const double* shape;
  int ncoef;
  double wmin, wmax;
  // Valid wavelength range of each fibre (specter's empty-stamp rule): [nspec].
  const double* fiber_wmin;
  const double* fiber_wmax;
};

LIBEXTRACT_HD int shape_rows(const PsfView& psf) {
  return shape_gh_first + (psf.ghdeg_x + 1) * (psf.ghdeg_y + 1);
}

LIBEXTRACT_HD double trace_x_at(const PsfView& psf, int fiber, double wave) {
  const double t = legendre_reduced(wave, psf.trace_x_wmin, psf.trace_x_wmax);
  return legendre_series(psf.trace_x + fiber * psf.trace_ncoef, psf.trace_ncoef, t);
}

LIBEXTRACT_HD double trace_y_at(const PsfView& psf, int fiber, double wave) {
  const double t = legendre_reduced(wave, psf.trace_y_wmin, psf.trace_y_wmax);
  return legendre_series(psf.trace_y + fiber * psf.trace_ncoef, psf.trace_ncoef, t);
}

// Every shape row at (fiber, λ) into out[shape_rows(psf)].
LIBEXTRACT_HD void shape_params_at(const PsfView& psf, int fiber, double wave, double* out) {
  const double t = legendre_reduced(wave, psf.wmin, psf.wmax);
  const int rows = shape_rows(psf);
  for (int r = 0; r < rows; ++r) {
    const double* c = psf.shape + (static_cast<long>(r) * psf.nspec + fiber) * psf.ncoef;
    out[r] = legendre_vandermonde(c, psf.ncoef, t);
  }
}

}  // namespace kernels
}  // namespace libextract
