// Public batched spot evaluation: validates requests, runs the spot kernel on the
// chosen backend, then cuts each stamp to its window (pure index arithmetic, the
// same for every backend).
#include "libextract/spots.hpp"

#include <cmath>
#include <string>

#include "backend_seam.hpp"
#include "libextract/errors.hpp"

namespace libextract {

Compat parse_compat(const std::string& text, const std::string& option) {
  if (text == "gpu_specter") return Compat::gpu_specter;
  if (text == "specter") return Compat::specter;
  throw Error(ErrorCode::invalid_argument, option + ": '" + text + "' is not one of gpu_specter, specter");
}

const char* to_string(Compat compat) noexcept {
  return compat == Compat::specter ? "specter" : "gpu_specter";
}

SpotBatch evaluate_spots(const Psf& psf, const std::vector<SpotRequest>& requests, Compat compat,
                         const Backend& backend) {
  const detail::PsfModel& model = psf.model();
  const kernels::PsfView view = model.view();
  const int n = static_cast<int>(requests.size());
  std::vector<int> fibers(n);
  std::vector<double> waves(n);
  for (int s = 0; s < n; ++s) {
    const SpotRequest& r = requests[s];
    if (r.fiber < 0 || r.fiber >= model.nspec) {
      throw Error(ErrorCode::invalid_argument, "spot request " + std::to_string(s) + ": fiber " +
                                                   std::to_string(r.fiber) + " is outside 0.." +
                                                   std::to_string(model.nspec - 1) + " of PSF " + model.path);
    }
    if (!std::isfinite(r.wavelength)) {
      throw Error(ErrorCode::invalid_argument,
                  "spot request " + std::to_string(s) + ": wavelength is not finite");
    }
    if (r.has_window && (r.window.xmax < r.window.xmin || r.window.ymax < r.window.ymin)) {
      throw Error(ErrorCode::invalid_argument,
                  "spot request " + std::to_string(s) + ": window has max < min");
    }
    fibers[s] = r.fiber;
    waves[s] = r.wavelength;
  }

  SpotBatch batch;
  batch.nx_max = kernels::spot_nx_max(view);
  batch.ny_max = kernels::spot_ny_max(view);
  const std::size_t cell = static_cast<std::size_t>(batch.nx_max) * batch.ny_max;
  std::vector<double> full(cell * n);
  std::vector<kernels::SpotFootprint> footprints(n);
  std::vector<int> status(n);
  detail::SpotJob job;
  job.fibers = fibers.data();
  job.waves = waves.data();
  job.count = n;
  job.rule = compat == Compat::specter ? kernels::spot_rule_specter : kernels::spot_rule_gpu_specter;
  job.stamps = full.data();
  job.footprints = footprints.data();
  job.status = status.data();
  if (resolve_backend(backend) == BackendKind::cuda) {
    detail::cuda_evaluate_spots(model, job, backend.device);
  } else {
    detail::cpu_evaluate_spots(model, job, backend.threads);
  }

  batch.x.resize(n);
  batch.y.resize(n);
  batch.xlo.assign(n, -1);
  batch.ylo.assign(n, -1);
  batch.nx.assign(n, 0);
  batch.ny.assign(n, 0);
  batch.values.assign(cell * n, 0.0);
  for (int s = 0; s < n; ++s) {
    batch.x[s] = footprints[s].x;
    batch.y[s] = footprints[s].y;
    if (status[s] < 0) {
      throw Error(ErrorCode::numerical_error, "spot of fiber " + std::to_string(fibers[s]) + " at " +
                                                  std::to_string(waves[s]) + " A: PSF " + model.path +
                                                  " gives a non-finite or all-zero stamp");
    }
    if (status[s] != kernels::spot_ok) continue;
    const SpotRequest& r = requests[s];
    int xmin = 0, xmax = model.npix_x, ymin = 0, ymax = model.npix_y;
    if (r.has_window) {
      xmin = r.window.xmin, xmax = r.window.xmax, ymin = r.window.ymin, ymax = r.window.ymax;
    } else if (job.rule == kernels::spot_rule_gpu_specter) {
      // gpu_specter never cuts a stamp at the CCD edge.
      xmin = ymin = -(1 << 30);
      xmax = ymax = 1 << 30;
    }
    const kernels::SpotCut cut = kernels::cut_spot(footprints[s], job.rule, xmin, xmax, ymin, ymax);
    if (cut.nx <= 0 || cut.ny <= 0) continue;
    batch.xlo[s] = footprints[s].x0 + cut.i0;
    batch.ylo[s] = footprints[s].y0 + cut.j0;
    batch.nx[s] = cut.nx;
    batch.ny[s] = cut.ny;
    const double* src = full.data() + cell * s;
    double* dst = batch.values.data() + cell * s;
    for (int j = 0; j < cut.ny; ++j) {
      for (int i = 0; i < cut.nx; ++i)
        dst[j * batch.nx_max + i] = src[(cut.j0 + j) * batch.nx_max + cut.i0 + i];
    }
  }
  return batch;
}

}  // namespace libextract
