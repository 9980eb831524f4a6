// labels: unit
// The engine's patch solve (libextract::extract_frame on the CPU backend) against the
// dense, naive oracle of tests/reference/naive_patch.hpp, patch by patch: small
// synthetic frames (simulate_image with noise, bad pixels and cosmics), both compat
// modes, both decorrelation modes, several PSFs, seeds and decompositions, including
// windows clipped at the CCD's bottom edge and a short last wavelength patch. Every
// patch of make_plan (the same plan the engine runs) is solved by the oracle and its
// core bins are compared with the frame, after applying the frame's unit conversion
// (flux / g, ivar · g², g = numpy.gradient(wave)) to the oracle:
//   κ ≤ 1e6 (κ = 1/rcond from ExtractReport::patch_diagnostics):
//       flux, ivar, chi2pix ≤ 1e-10 relative; resolution band ≤ 1e-12 absolute;
//   κ > 1e6: flux in pull units ≤ 1e-5 σ (two backward-stable computations agree to
//       ~κ·ε only), ivar (relative) and the band (absolute) within 4·κ·ε. The factor:
//       the oracle's covariance V·diag(1/e)·Vᵀ (the specs' algorithm) is itself only
//       accurate to ~κ·ε — against a long-double evaluation of the same patch its ivar
//       was off by up to 1.2·κ·ε at κ ≈ 1e9, while the engine's Cholesky inverse
//       (docs/compatibility.md D4) was within 7e-11 — so the two may differ by a few κ·ε;
//   pixmask_fraction ≤ 1e-14 absolute everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "common/tolerances.hpp"
#include "libextract/libextract.hpp"
#include "patch_plan.hpp"
#include "reference/naive_patch.hpp"

namespace {

using libextract::Compat;
namespace tolerance = libextract_test::tolerance;
using libextract::Psf;
using libextract_reference::NaivePatchInput;
using libextract_reference::NaivePatchResult;
using libextract_reference::PlacementRule;

constexpr double kEps = 2.220446049250313e-16;

// Small synthetic cameras: 12 fibres on a 144 x 1024 CCD whose wavelength range is cut
// down with the rows, so the sampling (~1.7 rows per 0.8 A bin) stays DESI-like.
const Psf& small_psf(int which) {
  static std::unique_ptr<Psf> psfs[2];
  if (!psfs[which]) {
    libextract::SyntheticPsfOptions so;
    so.seed = which == 0 ? 3 : 11;
    so.nspec = 12;
    so.npix_x = 144;
    so.npix_y = 1024;
    so.wavemin = 6000.0;
    so.wavemax = 6570.0;
    if (which == 1) {  // a second shape: narrower stamps, lower Hermite degree
      so.hsize_x = 7;
      so.hsize_y = 4;
      so.ghdeg = 4;
    }
    const std::string path =
        libextract_test::scratch_dir() + "/patch-oracle-psf" + std::to_string(which) + ".fits";
    libextract::write_synthetic_psf(path, so);
    psfs[which] = std::make_unique<Psf>(Psf::load(path));
  }
  return *psfs[which];
}

struct Scenario {
  const char* name;
  Compat compat;
  bool decorrelate;
  int psf;
  std::uint64_t seed;
  double start;  // grid start (A); < 0: 1 A above the fibres' common lower limit
  int nbins;
  int specmin, nspec, bundlesize, nsubbundles, nwavestep, wavepad;
  int badpix, cosmics;
  double regularize;
  double psferr;  // < 0: the PSF's default
  int mask_rows;  // > 0: ivar = 0 on this many CCD rows (all columns) around the grid's middle
};

struct Maxima {
  double flux = 0, ivar = 0, chi2 = 0, res = 0, pmf = 0;         // κ ≤ 1e6
  double pull_ill = 0, ivar_ill = 0, res_ill = 0, chi2_ill = 0;  // κ > 1e6 (ivar/res as a multiple of κ·ε)
  double kappa_max = 0;
  long bins = 0, ill_bins = 0;
  int patches = 0, ill_patches = 0, retried = 0, all_masked = 0;
  long unweighted_bins = 0;  // stored bins with |fw| <= 1e-8 (specter zeroes their ivar)
  void merge(const Maxima& o) {
    flux = std::max(flux, o.flux), ivar = std::max(ivar, o.ivar), chi2 = std::max(chi2, o.chi2);
    res = std::max(res, o.res), pmf = std::max(pmf, o.pmf), pull_ill = std::max(pull_ill, o.pull_ill);
    ivar_ill = std::max(ivar_ill, o.ivar_ill), res_ill = std::max(res_ill, o.res_ill);
    chi2_ill = std::max(chi2_ill, o.chi2_ill), kappa_max = std::max(kappa_max, o.kappa_max);
    bins += o.bins, ill_bins += o.ill_bins, patches += o.patches, ill_patches += o.ill_patches;
    retried += o.retried, all_masked += o.all_masked, unweighted_bins += o.unweighted_bins;
  }
};

double relative(double a, double b) {
  if (a == b) return 0.0;  // both 0 (zeroed ivar, chi2pix of an unweighted bin)
  return std::fabs(a - b) / std::fabs(b);
}

// numpy.gradient of the output grid, as the frame's unit conversion uses it.
std::vector<double> gradient(const std::vector<double>& wave) {
  const std::size_t n = wave.size();
  std::vector<double> g(n);
  g[0] = wave[1] - wave[0];
  g[n - 1] = wave[n - 1] - wave[n - 2];
  for (std::size_t i = 1; i + 1 < n; ++i) g[i] = (wave[i + 1] - wave[i - 1]) / 2.0;
  return g;
}

Maxima run_scenario(const Scenario& sc) {
  const Psf& psf = small_psf(sc.psf);
  double start = sc.start;
  if (start < 0) {
    double lo = psf.wavemin_fiber(sc.specmin);
    for (int f = sc.specmin; f < sc.specmin + sc.nspec; ++f) lo = std::max(lo, psf.wavemin_fiber(f));
    start = std::ceil(lo) + 1.0;
  }
  const libextract::WavelengthGrid grid{start, start + 0.8 * (sc.nbins - 1), 0.8};

  libextract::SimulationOptions so;
  so.grid = grid;
  so.specmin = sc.specmin;
  so.nspec = sc.nspec;
  so.seed = sc.seed;
  so.badpix = sc.badpix;
  so.cosmics = sc.cosmics;
  libextract::SimulationResult sim = libextract::simulate_image(psf, so);
  libextract::Image& image = sim.image;
  if (sc.mask_rows > 0) {
    // A masked band across every fibre: bins whose stamps it covers get fw = 0 (the
    // prior alone determines them); a wide band masks whole patch windows.
    const int yc = static_cast<int>(psf.y(sc.specmin + sc.nspec / 2, grid.wmin + 0.4 * (sc.nbins - 1)));
    for (int y = std::max(0, yc - sc.mask_rows / 2); y < std::min(image.nrows, yc + (sc.mask_rows + 1) / 2);
         ++y)
      for (int x = 0; x < image.ncols; ++x) image.ivar[static_cast<std::size_t>(y) * image.ncols + x] = 0.0;
  }

  libextract::ExtractOptions o;
  o.grid = grid;
  o.specmin = sc.specmin;
  o.nspec = sc.nspec;
  o.bundlesize = sc.bundlesize;
  o.nsubbundles = sc.nsubbundles;
  o.nwavestep = sc.nwavestep;
  o.wavepad = sc.wavepad;
  o.regularize = sc.regularize;
  if (sc.psferr >= 0) o.psferr = sc.psferr;
  o.compat = sc.compat;
  o.decorrelate_fibers = sc.decorrelate;
  o.backend.kind = libextract::BackendKind::cpu;
  libextract::ExtractReport report;
  const libextract::Frame frame = libextract::extract_frame(image, psf, o, &report);
  const libextract::detail::Plan plan = libextract::detail::make_plan(psf, o, image.nrows, image.ncols);
  EXPECT_EQ(plan.patches.size(), report.patch_diagnostics.size()) << sc.name;
  EXPECT_EQ(report.failed_patches, 0) << sc.name;

  const std::vector<double> g = gradient(frame.wave);
  const int nd = 2 * frame.ndiag + 1;
  const double psferr = o.psferr.value_or(psf.psferr());
  Maxima mx;
  for (std::size_t ip = 0; ip < plan.patches.size() && ip < report.patch_diagnostics.size(); ++ip) {
    const libextract::detail::Patch& p = plan.patches[ip];
    const libextract::PatchDiagnostics& diag = report.patch_diagnostics[ip];
    EXPECT_EQ(diag.core_fiber_lo, p.core_lo - sc.specmin);
    EXPECT_EQ(diag.wave_lo, p.out_col);
    NaivePatchInput in;
    in.psf = &psf;
    in.image = &image;
    in.rule = sc.compat == Compat::specter ? PlacementRule::specter : PlacementRule::gpu_specter;
    in.fiber_lo = p.fiber_lo;
    in.fiber_hi = p.fiber_hi;
    in.waves.assign(plan.patch_waves.begin() + p.wave_offset,
                    plan.patch_waves.begin() + p.wave_offset + p.nwave);
    in.x0 = p.x0, in.x1 = p.x1, in.y0 = p.y0, in.y1 = p.y1;
    // A retried patch was solved with regularize + 1e-4 (docs/compatibility.md D5).
    in.regularize = sc.regularize + (diag.status == 1 ? 1e-4 : 0.0);
    in.psferr = psferr;
    in.decorrelate = sc.decorrelate;
    const NaivePatchResult r = libextract_reference::naive_patch(in);

    const double kappa = 1.0 / diag.rcond;
    const bool ill = !(kappa <= tolerance::ill_conditioned);
    mx.patches += 1;
    mx.ill_patches += ill;
    mx.retried += diag.status == 1;
    bool patch_all_masked = true;
    for (int y = p.y0; y < p.y1 && patch_all_masked; ++y)
      for (int x = p.x0; x < p.x1 && patch_all_masked; ++x)
        patch_all_masked = image.ivar[static_cast<std::size_t>(y) * image.ncols + x] == 0.0;
    mx.all_masked += patch_all_masked;
    EXPECT_EQ(r.all_masked, patch_all_masked && sc.compat == Compat::specter) << sc.name << " patch " << ip;
    mx.kappa_max = std::max(mx.kappa_max, kappa);
    for (int f = p.core_lo; f < p.core_hi; ++f) {
      const int b = f - p.fiber_lo;
      const int row = f - sc.specmin;
      for (int jj = 0; jj < p.nkeep; ++jj) {
        const int j = p.core_offset + jj;
        const int q = b * p.nwave + j;
        const int col = p.out_col + jj;
        const std::size_t at = static_cast<std::size_t>(row) * frame.nwave + col;
        mx.unweighted_bins += std::fabs(r.fw[q]) <= 1e-8;
        const double of = r.flux[q] / g[col];
        const double oi = r.ivar[q] * (g[col] * g[col]);
        const double df = relative(frame.flux[at], of);
        const double di = relative(frame.ivar[at], oi);
        const double dc = relative(frame.chi2pix[at], r.chi2pix[q]);
        double dr = 0.0;
        for (int dd = 0; dd < nd; ++dd) {
          const double oracle = r.r(b * p.nwave + j + dd - frame.ndiag, q);
          const double engine =
              frame.resolution[(static_cast<std::size_t>(row) * nd + dd) * frame.nwave + col];
          dr = std::max(dr, std::fabs(engine - oracle));
        }
        const double dp = std::fabs(frame.pixmask_fraction[at] - r.pmf[q]);
        mx.pmf = std::max(mx.pmf, dp);
        EXPECT_LE(dp, tolerance::pixmask_absolute)
            << sc.name << " patch " << ip << " fibre " << f << " col " << col;
        if (!ill) {
          ++mx.bins;
          mx.flux = std::max(mx.flux, df), mx.ivar = std::max(mx.ivar, di);
          mx.chi2 = std::max(mx.chi2, dc), mx.res = std::max(mx.res, dr);
          EXPECT_LE(df, tolerance::flux_relative)
              << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa " << kappa;
          EXPECT_LE(di, tolerance::flux_relative)
              << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa " << kappa;
          EXPECT_LE(dc, tolerance::flux_relative)
              << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa " << kappa;
          EXPECT_LE(dr, tolerance::resolution_absolute)
              << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa " << kappa;
        } else {
          ++mx.ill_bins;
          const double ie = frame.ivar[at];
          const double sigma_inv = (ie > 0 && oi > 0) ? std::sqrt(1.0 / (1.0 / ie + 1.0 / oi)) : 0.0;
          const double pull = std::fabs(frame.flux[at] - of) * sigma_inv;
          const double bound = tolerance::kappa_bound(kappa, 4.0);
          mx.pull_ill = std::max(mx.pull_ill, pull);
          mx.ivar_ill = std::max(mx.ivar_ill, di / (kappa * kEps));
          mx.res_ill = std::max(mx.res_ill, dr / (kappa * kEps));
          mx.chi2_ill = std::max(mx.chi2_ill, dc);
          EXPECT_LE(pull, tolerance::pull_ill)
              << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa " << kappa;
          EXPECT_LE(di, bound) << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa "
                               << kappa;
          EXPECT_LE(dr, bound) << sc.name << " patch " << ip << " fibre " << f << " col " << col << " kappa "
                               << kappa;
        }
      }
    }
  }
  std::printf(
      "%-34s %3d patches (%2d with kappa > 1e6, max kappa %.2e, %d retried, %d all masked, %ld bins with "
      "fw ~ 0): flux %.2e ivar %.2e chi2pix %.2e "
      "R %.2e pmf %.2e | kappa > 1e6: pull %.2e, ivar %.2f and R %.2f of kappa*eps, chi2pix %.2e\n",
      sc.name, mx.patches, mx.ill_patches, mx.kappa_max, mx.retried, mx.all_masked, mx.unweighted_bins,
      mx.flux, mx.ivar, mx.chi2, mx.res, mx.pmf, mx.pull_ill, mx.ivar_ill, mx.res_ill, mx.chi2_ill);
  return mx;
}

const Scenario kScenarios[] = {
    // name                              compat               decorr psf seed  start  bins smin nsp  B  N  W
    // wp bad cos reg    psferr mask
    {"gpu_specter/block", Compat::gpu_specter, false, 0, 1, 6250.0, 40, 0, 8, 4, 2, 10, 5, 40, 3, 0.0, -1, 0},
    {"gpu_specter/decorrelate", Compat::gpu_specter, true, 0, 2, 6250.0, 40, 0, 8, 4, 2, 10, 5, 40, 3, 0.0,
     -1, 0},
    {"specter/block", Compat::specter, false, 0, 3, 6250.0, 40, 0, 8, 4, 2, 10, 5, 40, 3, 0.0, -1, 0},
    {"specter/decorrelate", Compat::specter, true, 0, 4, 6250.0, 40, 0, 8, 4, 2, 10, 5, 40, 3, 0.0, -1, 0},
    {"gpu_specter/block/bottom-edge", Compat::gpu_specter, false, 1, 5, -1.0, 30, 2, 6, 3, 3, 10, 4, 30, 2,
     1e-3, 0.02, 0},
    {"specter/block/bottom-edge", Compat::specter, false, 1, 6, -1.0, 30, 2, 6, 3, 3, 10, 4, 30, 2, 1e-3,
     0.02, 0},
    {"gpu_specter/decorrelate/short", Compat::gpu_specter, true, 1, 7, 6300.0, 37, 2, 9, 3, 3, 12, 4, 40, 3,
     0.0, -1, 0},
    {"specter/block/masked-band", Compat::specter, false, 0, 9, 6250.0, 40, 0, 8, 4, 2, 10, 5, 10, 1, 0.0, -1,
     20},
    {"gpu_specter/block/masked-band", Compat::gpu_specter, false, 0, 10, 6250.0, 40, 0, 8, 4, 2, 10, 5, 10, 1,
     0.0, -1, 20},
    {"specter/decorrelate/masked-window", Compat::specter, true, 0, 11, 6250.0, 60, 0, 8, 4, 2, 10, 5, 10, 1,
     0.0, -1, 70},
    {"gpu_specter/block/masked-window", Compat::gpu_specter, false, 0, 12, 6250.0, 60, 0, 8, 4, 2, 10, 5, 10,
     1, 0.0, -1, 70},
    {"specter/decorrelate/uneven", Compat::specter, true, 1, 8, 6300.0, 37, 1, 10, 5, 2, 12, 4, 40, 3, 0.0,
     -1, 0},
};

TEST(PatchOracle, EngineMatchesNaiveDensePatchSolve) {
  const auto t0 = std::chrono::steady_clock::now();
  Maxima all;
  for (const Scenario& sc : kScenarios) all.merge(run_scenario(sc));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "all: %d patches (%d with kappa > 1e6, max kappa %.2e; %d all masked, %ld bins with fw ~ 0), %ld + %ld "
      "stored bins: flux %.2e ivar %.2e "
      "chi2pix %.2e R %.2e pmf %.2e | kappa > 1e6: pull %.2e, ivar %.2f and R %.2f of kappa*eps; %.1f s\n",
      all.patches, all.ill_patches, all.kappa_max, all.all_masked, all.unweighted_bins, all.bins,
      all.ill_bins, all.flux, all.ivar, all.chi2, all.res, all.pmf, all.pull_ill, all.ivar_ill, all.res_ill,
      seconds);
  EXPECT_GE(all.patches, 20);
  EXPECT_GE(all.bins, 1);
}

}  // namespace
