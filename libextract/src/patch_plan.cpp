#include "patch_plan.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/psf_view.hpp"
#include "kernels/spot.hpp"
#include "libextract/errors.hpp"
#include "psf_model.hpp"

namespace libextract {
namespace detail {

namespace {

[[noreturn]] void bad_option(const std::string& option, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, option + ": " + what);
}

// Python's round() on a float: round half to even.
int round_half_even(double v) {
  return static_cast<int>(std::nearbyint(v));
}

void validate_common(const Psf& psf, const ExtractOptions& o, int rows, int cols) {
  if (rows != psf.npix_y() || cols != psf.npix_x()) {
    throw Error(ErrorCode::invalid_argument, "image is " + std::to_string(rows) + " x " +
                                                 std::to_string(cols) + " pixels but PSF " + psf.path() +
                                                 " describes a " + std::to_string(psf.npix_y()) + " x " +
                                                 std::to_string(psf.npix_x()) + " CCD");
  }
  validate_extract_options(o, OptionSpelling::cli, &psf);
}

// The output grid as values: every form of the request (a triple from -w, Python's
// tuple or string, or nothing) becomes numpy.arange(wmin, wmax + dw/2, dw) first, and
// from then on only the values count (docs/compatibility.md, D10), so an array equal
// to that grid gives the same frame bit for bit.
std::vector<double> output_grid(const Psf& psf, const ExtractOptions& o) {
  std::vector<double> wave;
  if (!o.wavelengths.empty()) {
    wave = o.wavelengths;
    if (wave.size() < 2) bad_option("wavelengths", "needs at least 2 bins");
    const double d0 = wave[1] - wave[0];
    for (std::size_t i = 1; i < wave.size(); ++i) {
      const double d = wave[i] - wave[i - 1];
      // numpy.allclose(d0, diff) with rtol 1e-5, atol 1e-8, as the reference codes test.
      if (!std::isfinite(d) || !(std::fabs(d - d0) <= 1e-8 + 1e-5 * std::fabs(d0)) || !(d0 > 0)) {
        bad_option("wavelengths", "the grid is not linear and increasing (bin " + std::to_string(i) + ")");
      }
    }
    return wave;
  }
  WavelengthGrid grid;
  if (o.grid) {
    grid = *o.grid;
  } else if (o.compat == Compat::specter) {
    // desispec's specter path: every fibre's common range, whole Angstroms, dw 0.7.
    grid.wmin = std::ceil(psf.wmin_all());
    grid.wmax = std::floor(psf.wmax_all());
    grid.dw = 0.7;
  } else {
    grid.wmin = psf.wavemin();
    grid.wmax = psf.wavemax();
    grid.dw = 0.8;
  }
  wave = make_wavelength_grid(grid);  // validates the grid, naming -w/--wavelength
  if (wave.size() < 2) bad_option("-w/--wavelength", "the grid has fewer than 2 bins");
  return wave;
}

// desispec's coverage check: the grid may start at most 5 A below where the last
// requested fibre enters the CCD and end at most 5 A above where the first leaves it.
void check_grid_on_ccd(const Psf& psf, const std::vector<double>& wave, int specmin, int nspec) {
  double enter = -std::numeric_limits<double>::infinity();
  double leave = std::numeric_limits<double>::infinity();
  for (int f = specmin; f < specmin + nspec; ++f) {
    enter = std::max(enter, psf.wavemin_fiber(f));
    leave = std::min(leave, psf.wavemax_fiber(f));
  }
  if (wave.front() < enter - 5.0 || wave.back() > leave + 5.0) {
    bad_option("-w/--wavelength", "the grid " + std::to_string(wave.front()) + ".." +
                                      std::to_string(wave.back()) + " A leaves the CCD: fibres " +
                                      std::to_string(specmin) + ".." + std::to_string(specmin + nspec - 1) +
                                      " of PSF " + psf.path() + " cover " + std::to_string(enter) + ".." +
                                      std::to_string(leave) + " A");
  }
}

void finish(Plan& plan) {
  for (const Patch& p : plan.patches) {
    plan.max_unknowns = std::max(plan.max_unknowns, p.unknowns());
    plan.max_pixels = std::max(plan.max_pixels, p.npixels());
    plan.max_nwave = std::max(plan.max_nwave, p.nwave);
  }
}

// ---------------------------------------------------------------- gpu_specter rules

void plan_gpu_specter(const Psf& psf, const ExtractOptions& o, Plan& plan) {
  const PsfModel& model = psf.model();
  const kernels::PsfView view = model.view();
  const int n = static_cast<int>(plan.wave.size());
  const double dw = plan.wave[1] - plan.wave[0];  // the grid's own step δ, as specter's rules use
  const int W = o.nwavestep;
  const int B = o.bundlesize;
  const int nsp = B / o.nsubbundles;  // divides B: validate_extract_options checked it
  const int wp = o.wavepad + static_cast<int>(static_cast<double>(o.wavepad) * o.wavepad_frac);
  plan.ndiag = psf.hsize_y();
  if (wp < plan.ndiag) {
    bad_option(option_name("wavepad", OptionSpelling::cli), "effective padding " + std::to_string(wp) +
                                                                " bins is below the resolution half-width " +
                                                                std::to_string(plan.ndiag));
  }

  // The padded grid Λ (gpu_specter-spec §4.3): wp bins below, the grid, wp + W above,
  // the padding on the grid's step δ (gpu_specter pads on the requested dw; D10).
  const double wmin = plan.wave[0];
  std::vector<double> lambda;
  lambda.reserve(static_cast<std::size_t>(wp) * 2 + n + W);
  for (int k = 0; k < wp; ++k) lambda.push_back(((k * dw) - (((wp - 1) * dw) + dw)) + wmin);
  lambda.insert(lambda.end(), plan.wave.begin(), plan.wave.end());
  for (int k = 0; k < wp + W; ++k) lambda.push_back(plan.wave[n - 1] + (1 + k) * dw);
  const int nlambda = static_cast<int>(lambda.size());
  plan.lambda = lambda;

  const int hx = psf.hsize_x(), hy = psf.hsize_y();
  const int nx = 2 * hx + 1, ny = 2 * hy + 1;
  const int nwt = W + 2 * wp;
  const double keep_low = 1.0 - o.pixpad_frac;
  const int last = plan.specmin + plan.nspec;
  int bundle_index = 0;
  for (int b0 = plan.specmin; b0 < last; b0 += B, ++bundle_index) {
    const int bsize = std::min(B, last - b0);
    // Stamp corners of every bundle fibre on Λ (floor rule, gpu_specter-spec §3).
    std::vector<long long> xc(static_cast<std::size_t>(bsize) * nlambda), yc(xc.size());
    for (int i = 0; i < bsize; ++i) {
      for (int k = 0; k < nlambda; ++k) {
        const double x = kernels::trace_x_at(view, b0 + i, lambda[k]);
        const double y = kernels::trace_y_at(view, b0 + i, lambda[k]);
        xc[static_cast<std::size_t>(i) * nlambda + k] = kernels::floor_to_int((x - hx) + 0.5);
        yc[static_cast<std::size_t>(i) * nlambda + k] = kernels::floor_to_int((y - hy) + 0.5);
      }
    }
    for (int s = 0; s < bsize; s += nsp) {
      const int core_hi = std::min(s + nsp, bsize);
      const int lo = s > 0 ? s - 1 : s;
      const int hi = core_hi < bsize ? core_hi + 1 : core_hi;
      for (int k0 = 0; k0 < n; k0 += W) {
        Patch p;
        p.bundle = bundle_index;
        p.fiber_lo = b0 + lo;
        p.fiber_hi = b0 + hi;
        p.core_lo = b0 + s;
        p.core_hi = b0 + core_hi;
        p.nwave = nwt;
        p.core_offset = wp;
        p.ncore = W;
        p.nkeep = std::min(W, n - k0);
        p.out_col = k0;
        long long ypmin = LLONG_MAX, ypmax = LLONG_MIN, xmin = LLONG_MAX, xmax = LLONG_MIN;
        long long ycmin = LLONG_MAX, ycmax = LLONG_MIN;
        for (int i = lo; i < hi; ++i) {
          for (int j = 0; j < nwt; ++j) {
            const std::size_t at = static_cast<std::size_t>(i) * nlambda + k0 + j;
            ypmin = std::min(ypmin, yc[at]);
            ypmax = std::max(ypmax, yc[at] + ny);
            xmin = std::min(xmin, xc[at]);
            xmax = std::max(xmax, xc[at] + nx);
            if (j >= wp && j < wp + W) {
              ycmin = std::min(ycmin, yc[at]);
              ycmax = std::max(ycmax, yc[at] + ny);
            }
          }
        }
        // Trim the padding rows (§6.2): fl(1 − p) and the rounded sum are part of the rule.
        const long long dlo = ycmin - ypmin;
        const long long dhi = ypmax - ycmax;
        const long long tlo = static_cast<long long>(static_cast<double>(dlo) * keep_low);
        const long long thi = static_cast<long long>(static_cast<double>(ycmax - ypmin) +
                                                     static_cast<double>(dhi) * o.pixpad_frac);
        // libextract clips a window at the CCD edge instead of zeroing the patch
        // (docs/compatibility.md).
        p.y0 = static_cast<int>(std::max<long long>(ypmin + tlo, 0));
        p.y1 = static_cast<int>(std::min<long long>(ypmin + thi, psf.npix_y()));
        p.x0 = static_cast<int>(std::max<long long>(xmin, 0));
        p.x1 = static_cast<int>(std::min<long long>(xmax, psf.npix_x()));
        if (p.y1 < p.y0) p.y1 = p.y0;
        if (p.x1 < p.x0) p.x1 = p.x0;
        p.wave_offset = static_cast<long long>(plan.patch_waves.size());
        p.lambda_offset = k0;
        plan.patch_waves.insert(plan.patch_waves.end(), lambda.begin() + k0, lambda.begin() + k0 + nwt);
        plan.patches.push_back(p);
      }
    }
  }
}

// ---------------------------------------------------------------- specter rules

// specter evaluates the traces with its own recurrence (kernels::spot_trace_x/y with
// the specter rule); the geometry must see the same centres as its spots.
double specter_x(const kernels::PsfView& view, int fiber, double wave) {
  return kernels::spot_trace_x(view, fiber, wave, kernels::spot_rule_specter);
}
double specter_y(const kernels::PsfView& view, int fiber, double wave) {
  return kernels::spot_trace_y(view, fiber, wave, kernels::spot_rule_specter);
}

// specter's xypix slices on a window: the cut stamp [x0,x1) × [y0,y1) in absolute
// pixels, and the slice starts/stops it reports when empty.
struct Slices {
  int x0, x1, y0, y1;
  bool empty;
};

Slices specter_xypix(const PsfModel& model, int fiber, double wave, int xmin, int xmax, int ymin, int ymax) {
  const kernels::PsfView view = model.view();
  if (wave < model.fiber_wmin[fiber]) return {xmin, xmin, ymin, ymin, true};
  if (wave > model.fiber_wmax[fiber]) return {xmin, xmin, ymax, ymax, true};
  const double x = specter_x(view, fiber, wave);
  const double y = specter_y(view, fiber, wave);
  kernels::SpotFootprint fp{};
  fp.x0 =
      static_cast<int>((x - model.hsize_x) + 0.5);  // NOLINT(bugprone-incorrect-roundings): specter truncates
  fp.y0 = static_cast<int>((y - model.hsize_y) + 0.5);  // NOLINT(bugprone-incorrect-roundings)
  fp.nx = static_cast<int>((x + model.hsize_x) + 1.5) - fp.x0;
  fp.ny = static_cast<int>((y + model.hsize_y) + 1.5) - fp.y0;
  const kernels::SpotCut cut = kernels::cut_spot(fp, kernels::spot_rule_specter, xmin, xmax, ymin, ymax);
  if (cut.nx <= 0 || cut.ny <= 0) return {xmin, xmin, ymin, ymin, true};
  return {fp.x0 + cut.i0, fp.x0 + cut.i0 + cut.nx, fp.y0 + cut.j0, fp.y0 + cut.j0 + cut.ny, false};
}

// Unclipped stamp end in x (specter's _xypix).
int specter_stamp_xend(const PsfModel& model, int fiber, double wave) {
  const double x = specter_x(model.view(), fiber, wave);
  return static_cast<int>((x + model.hsize_x) + 1.5);
}

struct XyRange {
  int x0, x1, y0, y1;
};

// psf.xyrange((speclo, spechi), (wlo, whi)) of extraction-spec §4.4, before padding.
XyRange specter_xyrange(const Psf& psf, int speclo, int spechi, double wlo, double whi) {
  const PsfModel& model = psf.model();
  const kernels::PsfView view = model.view();
  const int npx = model.npix_x, npy = model.npix_y;
  const double wmn = std::max(wlo, model.wmin);
  const double wmx = std::min(whi, model.wmax);
  int f1 = speclo, f2 = speclo;
  double ymn = INFINITY, ymx = -INFINITY;
  for (int f = speclo; f < spechi; ++f) {
    const double ya = specter_y(view, f, wmn);
    const double yb = specter_y(view, f, wmx);
    if (ya < ymn) ymn = ya, f1 = f;
    if (yb > ymx) ymx = yb, f2 = f;
  }
  XyRange r{};
  r.y0 = specter_xypix(model, f1, wmn, 0, npx, 0, npy).y0;
  r.y1 = specter_xypix(model, f2, wmx, 0, npx, 0, npy).y1;

  // Wavelengths of the integer rows of one fibre, restricted to [wmn, wmx], plus both ends.
  auto samples = [&](int fiber) {
    std::vector<double> w(static_cast<std::size_t>(npy));
    for (int y = 0; y < npy; ++y) w[y] = inverse_wavelength(model, fiber, y);
    std::vector<double> kept;
    const bool cut_low = w.front() < wmn;
    const bool cut_high = wmx < w.back();
    for (double v : w) {
      if (cut_low && !(v >= wmn)) continue;
      if (cut_high && !(v <= wmx)) continue;
      kept.push_back(v);
    }
    kept.push_back(wmn);
    kept.push_back(wmx);
    return kept;
  };
  {
    const auto w = samples(speclo);
    double best = INFINITY, best_w = 0;
    bool any = false;
    for (double v : w) {
      const double y = specter_y(view, speclo, v);
      if (!(0.0 <= y - 0.5 && y < npy - 0.5)) continue;
      const double x = specter_x(view, speclo, v);
      if (!any || x < best) best = x, best_w = v;
      any = true;
    }
    if (!any) {
      throw Error(ErrorCode::invalid_argument, "-w/--wavelength: fibre " + std::to_string(speclo) +
                                                   " has no trace on the CCD between " + std::to_string(wlo) +
                                                   " and " + std::to_string(whi) + " A");
    }
    r.x0 = best < 0 ? 0 : specter_xypix(model, speclo, best_w, 0, npx, 0, npy).x0;
  }
  {
    const int fiber = spechi - 1;
    const auto w = samples(fiber);
    double best = -INFINITY, best_w = 0;
    bool any = false;
    for (double v : w) {
      const double y = specter_y(view, fiber, v);
      if (!(-0.5 <= y && y < npy - 0.5)) continue;
      const double x = specter_x(view, fiber, v);
      if (!any || x > best) best = x, best_w = v;
      any = true;
    }
    if (!any) {
      throw Error(ErrorCode::invalid_argument, "-w/--wavelength: fibre " + std::to_string(fiber) +
                                                   " has no trace on the CCD between " + std::to_string(wlo) +
                                                   " and " + std::to_string(whi) + " A");
    }
    r.x1 = best > npx ? npx : specter_stamp_xend(model, fiber, best_w);
  }
  return r;
}

void plan_specter(const Psf& psf, const ExtractOptions& o, Plan& plan) {
  const PsfModel& model = psf.model();
  const std::vector<double>& wave = plan.wave;
  const int n = static_cast<int>(wave.size());
  const double dw = wave[1] - wave[0];
  const int W = o.nwavestep;

  // ndiag from the line width (§4.2), capped by the stamp of fibre 0 at mid range.
  int ndiag = 0;
  const int fibers[] = {plan.specmin, plan.specmin + plan.nspec / 2, plan.specmin + plan.nspec - 1};
  const double waves[] = {model.wmin, 0.5 * (model.wmin + model.wmax), model.wmax};
  for (int f : fibers)
    for (double w : waves) ndiag = std::max(ndiag, round_half_even(9.0 * psf.wdisp(f, w) / dw));
  const Slices spot =
      specter_xypix(model, 0, 0.5 * (model.wmin_all + model.wmax_all), 0, model.npix_x, 0, model.npix_y);
  const int sy = spot.y1 - spot.y0;
  const int sx = spot.x1 - spot.x0;
  ndiag = std::min({ndiag, sy / 2, sx / 2});
  plan.ndiag = ndiag;
  const int pad_rows = round_half_even(o.pixpad_frac * sy);
  const int wave_rows = static_cast<int>(o.wavepad_frac * sy);

  const int last = plan.specmin + plan.nspec;
  int bundle_index = 0;
  for (int b0 = plan.specmin; b0 < last; b0 += o.bundlesize, ++bundle_index) {
    const int b1 = std::min(b0 + o.bundlesize, last);
    const int nsub = std::min(b1 - b0, o.nsubbundles);
    for (const SubBundle& sb : split_bundle(b1 - b0, nsub)) {
      const int speclo = b0 + sb.ext_lo, spechi = b0 + sb.ext_hi;
      for (int iwave = 0; iwave < n; iwave += W) {
        const int ncore = std::min(W, n - iwave);
        const double wlo = wave[iwave];
        const double whi = wave[iwave + ncore - 1];
        XyRange r = specter_xyrange(psf, speclo, spechi, wlo, whi);
        r.y0 = std::max(r.y0 - pad_rows, 0);
        r.y1 = std::min(r.y1 + pad_rows, model.npix_y);
        const double lam_lo = inverse_wavelength(model, speclo, r.y0 - wave_rows);
        const double lam_hi = inverse_wavelength(model, speclo, r.y1 + wave_rows);
        const int nlo = std::max(static_cast<int>((wlo - lam_lo) / dw) - 1, ndiag);
        const int nhi = std::max(static_cast<int>((lam_hi - whi) / dw) - 1, ndiag);
        const std::vector<double> ww = numpy_arange(wlo - nlo * dw, whi + (nhi + 0.5) * dw, dw);
        if (static_cast<int>(ww.size()) != nlo + ncore + nhi) {
          throw Error(ErrorCode::internal_error, "specter patch grid has " + std::to_string(ww.size()) +
                                                     " bins, expected " + std::to_string(nlo + ncore + nhi));
        }
        Patch p;
        p.bundle = bundle_index;
        p.fiber_lo = speclo;
        p.fiber_hi = spechi;
        p.core_lo = b0 + sb.core_lo;
        p.core_hi = b0 + sb.core_hi;
        p.nwave = static_cast<int>(ww.size());
        p.core_offset = nlo;
        p.ncore = ncore;
        p.nkeep = ncore;
        p.out_col = iwave;
        // specter's right edge can pass the CCD (quirk Q3); the image is clipped there.
        p.x0 = std::max(r.x0, 0);
        p.x1 = std::min(r.x1, model.npix_x);
        p.y0 = r.y0;
        p.y1 = r.y1;
        p.wave_offset = static_cast<long long>(plan.patch_waves.size());
        plan.patch_waves.insert(plan.patch_waves.end(), ww.begin(), ww.end());
        plan.patches.push_back(p);
      }
    }
  }
}

}  // namespace

std::vector<double> numpy_arange(double start, double stop, double step) {
  const double count = std::ceil((stop - start) / step);
  if (!(count > 0)) return {};
  const auto n = static_cast<std::size_t>(count);
  std::vector<double> v(n);
  const double delta = (start + step) - start;
  v[0] = start;
  if (n > 1) v[1] = start + step;
  for (std::size_t i = 2; i < n; ++i) v[i] = start + static_cast<double>(i) * delta;
  return v;
}

std::vector<SubBundle> split_bundle(int nfibers, int nsub) {
  if (nsub < 1 || nsub > nfibers) {
    throw Error(ErrorCode::invalid_argument, "--nsubbundles: " + std::to_string(nsub) + " subbundles for " +
                                                 std::to_string(nfibers) + " fibres");
  }
  std::vector<int> sizes(static_cast<std::size_t>(nsub), nfibers / nsub);
  for (int i = 0; i < nfibers % nsub; ++i) sizes[i] += 1;
  // One left-to-right pass swapping a larger left size with its right neighbour.
  for (int i = 0; i + 1 < nsub; ++i) {
    if (sizes[i] > sizes[i + 1]) std::swap(sizes[i], sizes[i + 1]);
  }
  std::vector<SubBundle> parts;
  int start = 0;
  for (int size : sizes) {
    SubBundle s;
    s.core_lo = start;
    s.core_hi = start + size;
    s.ext_lo = start > 0 ? start - 1 : start;
    s.ext_hi = s.core_hi < nfibers ? s.core_hi + 1 : s.core_hi;
    parts.push_back(s);
    start += size;
  }
  return parts;
}

Plan make_plan(const Psf& psf, const ExtractOptions& o, int image_rows, int image_cols) {
  Plan plan;
  plan.compat = o.compat;
  plan.specmin = o.specmin;
  plan.nspec = o.nspec == -1 ? psf.nspec() - o.specmin : o.nspec;  // only -1 means "to the last"
  validate_common(psf, o, image_rows, image_cols);
  plan.psferr = o.psferr ? *o.psferr : psf.psferr();
  plan.wave = output_grid(psf, o);
  // Ranges against the data: a patch longer than the grid only costs memory.
  const int longest = std::max(static_cast<int>(std::min<std::size_t>(plan.wave.size(), INT_MAX)), 50);
  if (o.nwavestep > longest)
    bad_option(option_name("nwavestep", OptionSpelling::cli),
               std::to_string(o.nwavestep) + " exceeds max(the grid's " + std::to_string(plan.wave.size()) +
                   " wavelengths, 50)");
  if (o.wavepad > longest)
    bad_option(option_name("wavepad", OptionSpelling::cli),
               std::to_string(o.wavepad) + " exceeds max(the grid's " + std::to_string(plan.wave.size()) +
                   " wavelengths, 50)");
  check_grid_on_ccd(psf, plan.wave, plan.specmin, plan.nspec);
  if (o.compat == Compat::specter) {
    plan_specter(psf, o, plan);
  } else {
    plan_gpu_specter(psf, o, plan);
  }
  finish(plan);
  return plan;
}

}  // namespace detail
}  // namespace libextract
