// Everything a loaded PSF holds: the coefficient tables as read, the kernel-ordered
// shape table and the derived inverse trace. Host-only; the backends see it through
// kernels::PsfView.
#pragma once

#include <string>
#include <vector>

#include "kernels/psf_view.hpp"

namespace libextract {
namespace detail {

struct PsfModel {
  std::string path;
  int format_version = 3;
  int nspec = 0;
  int npix_x = 0, npix_y = 0;
  int hsize_x = 0, hsize_y = 0;
  int ghdeg_x = 0, ghdeg_y = 0;
  double psferr = 0.01;
  bool psferr_in_file = false;

  // Traces: [nspec][trace_ncoef] with their own Legendre domains.
  int trace_ncoef = 0;
  std::vector<double> trace_x, trace_y;
  double trace_x_wmin = 0, trace_x_wmax = 0, trace_y_wmin = 0, trace_y_wmax = 0;

  // Every table row as read: names and [nparam][nspec][ncoef] on [wavemin, wavemax].
  int ncoef = 0;
  double wavemin = 0, wavemax = 0;
  std::vector<std::string> param_names;
  std::vector<double> params;

  // The rows the spot kernel uses, in kernels::ShapeRow order.
  std::vector<double> shape;

  // Inverse trace λ(f, y): Legendre in u = (y − inv_ylo)·(2/(inv_yhi − inv_ylo)) − 1.
  double inv_ylo = 0, inv_yhi = 0;
  int inv_ncoef = 0;
  std::vector<double> inv_coeff;  // [nspec][inv_ncoef]
  std::vector<double> fiber_wmin, fiber_wmax;
  double wmin = 0, wmax = 0, wmin_all = 0, wmax_all = 0;

  kernels::PsfView view() const;
  int param_index(const std::string& name) const;  // -1 if absent
};

// Reads a PSF file into a model (without the derived inverse map).
PsfModel read_psf_file(const std::string& path);
// Fits the inverse trace and fills the per-fibre valid ranges (extraction-spec §2.2).
void build_inverse_map(PsfModel& model);
// λ(f, y) from the fitted inverse trace.
double inverse_wavelength(const PsfModel& model, int fiber, double y);

}  // namespace detail
}  // namespace libextract
