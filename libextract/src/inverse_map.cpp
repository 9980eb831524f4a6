// The inverse trace λ(f, y) exactly as specter builds it (extraction-spec §2.2): not a
// root solve, but a Legendre series in y of degree ntrace+1 fitted by least squares
// to 1000 samples of the y trace. Its values enter integer decisions (valid ranges,
// patch padding), so the construction follows the reference step by step.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/legendre.hpp"
#include "kernels/psf_view.hpp"
#include "libextract/errors.hpp"
#include "psf_model.hpp"

namespace libextract {
namespace detail {

namespace {

constexpr int inverse_samples = 1000;

// Least squares min |A c − b| for a tall, full-rank A (rows × cols, column-major)
// by Householder QR, carried out in long double: in double the fitted wavelengths
// were off by up to 1.4e-9 A at the fibre ends, while specter's LAPACK lstsq lies
// within 3e-10 A of the exact least-squares answer (WRANGE of the spot tables).
using Real = long double;
std::vector<Real> least_squares(std::vector<Real>& a, std::vector<Real>& b, int rows, int cols) {
  for (int k = 0; k < cols; ++k) {
    Real* col = a.data() + static_cast<std::size_t>(k) * rows;
    Real norm = 0.0L;
    for (int i = k; i < rows; ++i) norm += col[i] * col[i];
    norm = std::sqrt(norm);
    if (norm == 0.0L) throw Error(ErrorCode::numerical_error, "inverse trace fit: singular design matrix");
    const Real alpha = col[k] > 0 ? -norm : norm;
    col[k] -= alpha;
    Real vnorm2 = 0.0L;
    for (int i = k; i < rows; ++i) vnorm2 += col[i] * col[i];
    for (int j = k + 1; j < cols; ++j) {
      Real* cj = a.data() + static_cast<std::size_t>(j) * rows;
      Real dot = 0.0L;
      for (int i = k; i < rows; ++i) dot += col[i] * cj[i];
      const Real f = 2.0L * dot / vnorm2;
      for (int i = k; i < rows; ++i) cj[i] -= f * col[i];
    }
    Real dot = 0.0L;
    for (int i = k; i < rows; ++i) dot += col[i] * b[i];
    const Real f = 2.0L * dot / vnorm2;
    for (int i = k; i < rows; ++i) b[i] -= f * col[i];
    col[k] = alpha;  // R's diagonal
  }
  std::vector<Real> c(static_cast<std::size_t>(cols));
  for (int k = cols - 1; k >= 0; --k) {
    Real s = b[k];
    for (int j = k + 1; j < cols; ++j) s -= a[static_cast<std::size_t>(j) * rows + k] * c[j];
    c[k] = s / a[static_cast<std::size_t>(k) * rows + k];
  }
  return c;
}

// NumPy's legfit: Legendre Vandermonde with columns scaled to unit norm, solved in
// the least-squares sense, then unscaled.
std::vector<double> legendre_fit(const std::vector<double>& x, const std::vector<double>& y, int deg) {
  const int rows = static_cast<int>(x.size());
  const int cols = deg + 1;
  std::vector<Real> a(static_cast<std::size_t>(rows) * cols);
  for (int i = 0; i < rows; ++i) {
    Real v_prev = 1.0L, v = x[i];
    a[i] = 1.0L;
    if (cols > 1) a[static_cast<std::size_t>(rows) + i] = v;
    for (int k = 2; k < cols; ++k) {
      const Real next = (v * x[i] * (2.0L * k - 1.0L) - v_prev * (k - 1.0L)) / k;
      v_prev = v;
      v = next;
      a[static_cast<std::size_t>(k) * rows + i] = v;
    }
  }
  std::vector<Real> scale(static_cast<std::size_t>(cols));
  for (int k = 0; k < cols; ++k) {
    Real s = 0.0L;
    for (int i = 0; i < rows; ++i)
      s += a[static_cast<std::size_t>(k) * rows + i] * a[static_cast<std::size_t>(k) * rows + i];
    scale[k] = std::sqrt(s);
    for (int i = 0; i < rows; ++i) a[static_cast<std::size_t>(k) * rows + i] /= scale[k];
  }
  std::vector<Real> b(y.begin(), y.end());
  const std::vector<Real> c = least_squares(a, b, rows, cols);
  std::vector<double> out(static_cast<std::size_t>(cols));
  for (int k = 0; k < cols; ++k) out[k] = static_cast<double>(c[k] / scale[k]);
  return out;
}

}  // namespace

double inverse_wavelength(const PsfModel& model, int fiber, double y) {
  const double u = (y - model.inv_ylo) * (2.0 / (model.inv_yhi - model.inv_ylo)) - 1.0;
  return kernels::legendre_series(model.inv_coeff.data() + static_cast<std::size_t>(fiber) * model.inv_ncoef,
                                  model.inv_ncoef, u);
}

namespace {
void fit_inverse_map(PsfModel& model);
}  // namespace

void build_inverse_map(PsfModel& model) {
  try {
    fit_inverse_map(model);
  } catch (const Error& e) {
    throw Error(e.code(), model.path + ", " + e.what());  // name the PSF whose traces cannot be inverted
  }
}

namespace {
void fit_inverse_map(PsfModel& model) {
  const kernels::PsfView view = model.view();
  const double w0 = model.trace_y_wmin;
  const double w1 = model.trace_y_wmax;
  double ylo = INFINITY, yhi = -INFINITY;
  for (int f = 0; f < model.nspec; ++f) {
    for (double w : {w0, w1}) {
      const double y = kernels::trace_y_at(view, f, w);
      ylo = std::min(ylo, y);
      yhi = std::max(yhi, y);
    }
  }
  if (!(yhi > ylo)) {
    throw Error(ErrorCode::format_error, "HDU YTRACE: the y trace does not vary with wavelength");
  }
  model.inv_ylo = ylo;
  model.inv_yhi = yhi;
  model.inv_ncoef = model.trace_ncoef + 3;  // degree ncoef + 2 (10 coefficients for DESI, 11 for the v2 file)

  // numpy.linspace(w0, w1, 1000): start + i*step, the last sample exactly w1.
  std::vector<double> waves(inverse_samples);
  const double step = (w1 - w0) / (inverse_samples - 1);
  for (int i = 0; i < inverse_samples; ++i) waves[i] = i * step + w0;
  waves.back() = w1;

  model.inv_coeff.assign(static_cast<std::size_t>(model.nspec) * model.inv_ncoef, 0.0);
  std::vector<double> u(inverse_samples);
  for (int f = 0; f < model.nspec; ++f) {
    for (int i = 0; i < inverse_samples; ++i) {
      u[i] = (kernels::trace_y_at(view, f, waves[i]) - ylo) * (2.0 / (yhi - ylo)) - 1.0;
    }
    const auto c = legendre_fit(u, waves, model.inv_ncoef - 1);
    std::copy(c.begin(), c.end(), model.inv_coeff.begin() + static_cast<std::size_t>(f) * model.inv_ncoef);
  }

  model.fiber_wmin.resize(model.nspec);
  model.fiber_wmax.resize(model.nspec);
  for (int f = 0; f < model.nspec; ++f) {
    model.fiber_wmin[f] = inverse_wavelength(model, f, -0.5);
    model.fiber_wmax[f] = inverse_wavelength(model, f, model.npix_y - 0.5);
  }
  model.wmin = *std::min_element(model.fiber_wmin.begin(), model.fiber_wmin.end());
  model.wmax = *std::max_element(model.fiber_wmax.begin(), model.fiber_wmax.end());
  model.wmin_all = *std::max_element(model.fiber_wmin.begin(), model.fiber_wmin.end());
  model.wmax_all = *std::min_element(model.fiber_wmax.begin(), model.fiber_wmax.end());
}
}  // namespace

}  // namespace detail
}  // namespace libextract
