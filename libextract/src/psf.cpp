#include "libextract/psf.hpp"

#include <cmath>
#include <string>

#include "kernels/psf_view.hpp"
#include "libextract/errors.hpp"
#include "out_of_memory.hpp"
#include "psf_model.hpp"

namespace libextract {

Psf Psf::load(const std::string& path) {
  return detail::naming_allocation_failure("reading PSF " + path, [&] {
    auto model = std::make_shared<detail::PsfModel>(detail::read_psf_file(path));
    detail::build_inverse_map(*model);
    return Psf(std::move(model));
  });
}

Psf::Psf(std::shared_ptr<const detail::PsfModel> model) : model_(std::move(model)) {}
Psf::Psf(Psf&&) noexcept = default;
Psf& Psf::operator=(Psf&&) noexcept = default;
Psf::Psf(const Psf&) = default;
Psf& Psf::operator=(const Psf&) = default;
Psf::~Psf() = default;

namespace {
void check_fiber(const detail::PsfModel& m, int fiber) {
  if (fiber < 0 || fiber >= m.nspec) {
    throw Error(ErrorCode::invalid_argument, "fiber " + std::to_string(fiber) + " is outside 0.." +
                                                 std::to_string(m.nspec - 1) + " of PSF " + m.path);
  }
}
void check_finite(const detail::PsfModel& m, double value, const char* what) {
  if (!std::isfinite(value)) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " is not finite (PSF " + m.path + ")");
  }
}
}  // namespace

const std::string& Psf::path() const {
  return model_->path;
}
int Psf::format_version() const {
  return model_->format_version;
}
int Psf::nspec() const {
  return model_->nspec;
}
int Psf::npix_x() const {
  return model_->npix_x;
}
int Psf::npix_y() const {
  return model_->npix_y;
}
int Psf::hsize_x() const {
  return model_->hsize_x;
}
int Psf::hsize_y() const {
  return model_->hsize_y;
}
int Psf::ghdeg_x() const {
  return model_->ghdeg_x;
}
int Psf::ghdeg_y() const {
  return model_->ghdeg_y;
}
int Psf::legendre_ncoef() const {
  return model_->ncoef;
}
int Psf::trace_ncoef() const {
  return model_->trace_ncoef;
}
double Psf::psferr() const {
  return model_->psferr;
}
bool Psf::psferr_in_file() const {
  return model_->psferr_in_file;
}
double Psf::wavemin() const {
  return model_->wavemin;
}
double Psf::wavemax() const {
  return model_->wavemax;
}
double Psf::trace_wavemin() const {
  return model_->trace_y_wmin;
}
double Psf::trace_wavemax() const {
  return model_->trace_y_wmax;
}
double Psf::wmin() const {
  return model_->wmin;
}
double Psf::wmax() const {
  return model_->wmax;
}
double Psf::wmin_all() const {
  return model_->wmin_all;
}
double Psf::wmax_all() const {
  return model_->wmax_all;
}

double Psf::x(int fiber, double wavelength) const {
  check_fiber(*model_, fiber);
  check_finite(*model_, wavelength, "wavelength");
  return kernels::trace_x_at(model_->view(), fiber, wavelength);
}

double Psf::y(int fiber, double wavelength) const {
  check_fiber(*model_, fiber);
  check_finite(*model_, wavelength, "wavelength");
  return kernels::trace_y_at(model_->view(), fiber, wavelength);
}

double Psf::wavelength(int fiber, double y) const {
  check_fiber(*model_, fiber);
  check_finite(*model_, y, "y");
  return detail::inverse_wavelength(*model_, fiber, y);
}

double Psf::wavemin_fiber(int fiber) const {
  check_fiber(*model_, fiber);
  return model_->fiber_wmin[fiber];
}

double Psf::wavemax_fiber(int fiber) const {
  check_fiber(*model_, fiber);
  return model_->fiber_wmax[fiber];
}

double Psf::angstroms_per_pixel(int fiber, double wavelength) const {
  check_fiber(*model_, fiber);
  check_finite(*model_, wavelength, "wavelength");
  // specter: gradient of λ(y) over the CCD rows, interpolated at λ (numpy.interp clamps).
  const int n = model_->npix_y;
  std::vector<double> ww(n), g(n);
  for (int y = 0; y < n; ++y) ww[y] = detail::inverse_wavelength(*model_, fiber, y);
  if (n == 1) return 0.0;
  g[0] = ww[1] - ww[0];
  g[n - 1] = ww[n - 1] - ww[n - 2];
  for (int i = 1; i < n - 1; ++i) g[i] = (ww[i + 1] - ww[i - 1]) / 2.0;
  if (wavelength <= ww[0]) return g[0];
  if (wavelength >= ww[n - 1]) return g[n - 1];
  int j = 0;
  while (j + 1 < n && ww[j + 1] <= wavelength) ++j;
  const double slope = (g[j + 1] - g[j]) / (ww[j + 1] - ww[j]);
  return slope * (wavelength - ww[j]) + g[j];
}

double Psf::wdisp(int fiber, double wavelength) const {
  return angstroms_per_pixel(fiber, wavelength) * param("GHSIGY", fiber, wavelength);
}

double Psf::param(const std::string& name, int fiber, double wavelength) const {
  check_fiber(*model_, fiber);
  check_finite(*model_, wavelength, "wavelength");
  const int index = model_->param_index(name);
  if (index < 0) {
    throw Error(ErrorCode::invalid_argument, "parameter " + name + " is not in PSF " + model_->path);
  }
  const double t = kernels::legendre_reduced(wavelength, model_->wavemin, model_->wavemax);
  const double* c =
      model_->params.data() + (static_cast<std::size_t>(index) * model_->nspec + fiber) * model_->ncoef;
  return kernels::legendre_vandermonde(c, model_->ncoef, t);
}

std::vector<std::string> Psf::param_names() const {
  return model_->param_names;
}

}  // namespace libextract
