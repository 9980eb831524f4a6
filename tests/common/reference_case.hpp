// Reading the shared reference extractions (../shared/data/case-*) and comparing a
// frame with them in DESI's units, for the engine's reference tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/tolerances.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace libextract_test {

struct ReferenceFrame {
  int nspec = 0, nwave = 0, ndiag = 0;
  std::vector<double> wave, flux, ivar, resolution, chi2pix, pmf, model;
  int model_x0 = 0, model_x1 = 0, model_y0 = 0, model_y1 = 0;
};

inline ReferenceFrame read_reference(const std::string& path) {
  using libextract::detail::FitsFile;
  FitsFile f = FitsFile::open_read(path);
  ReferenceFrame r;
  f.move_to("FLUX");
  const auto shape = f.image_shape();
  r.nspec = static_cast<int>(shape[0]);
  r.nwave = static_cast<int>(shape[1]);
  r.flux = f.read_image_double();
  f.move_to("IVAR");
  r.ivar = f.read_image_double();
  f.move_to("WAVELENGTH");
  r.wave = f.read_image_double();
  f.move_to("RESOLUTION");
  r.ndiag = static_cast<int>((f.image_shape()[1] - 1) / 2);
  r.resolution = f.read_image_double();
  f.move_to("CHI2PIX");
  r.chi2pix = f.read_image_double();
  f.move_to("PIXMASK_FRACTION");
  r.pmf = f.read_image_double();
  if (f.try_move_to("MODEL")) {
    r.model = f.read_image_double();
    r.model_x0 = static_cast<int>(f.require_key_int("XMIN"));
    r.model_x1 = static_cast<int>(f.require_key_int("XMAX"));
    r.model_y0 = static_cast<int>(f.require_key_int("YMIN"));
    r.model_y1 = static_cast<int>(f.require_key_int("YMAX"));
  }
  return r;
}

struct Truth {
  std::vector<double> wave, flux;  // lattice [nsim], [nspec][nsim]
  int nsim = 0;
};

inline Truth read_truth(const std::string& path) {
  using libextract::detail::FitsFile;
  FitsFile f = FitsFile::open_read(path);
  Truth t;
  f.move_to("WAVELENGTH");
  t.wave = f.read_image_double();
  t.nsim = static_cast<int>(t.wave.size());
  f.move_to("FLUX");
  t.flux = f.read_image_double();
  return t;
}

// Pull against the truth as the data README defines it: (FLUX − R·truth)·√IVAR over
// bins with IVAR > 0 and PIXMASK_FRACTION < 0.5, skipping the first and last ndiag
// bins, with R·truth from the frame's own resolution band.
struct PullStats {
  double mean = 0, std = 0, max_abs = 0;
  long count = 0;
};

inline PullStats truth_pull(const std::vector<double>& wave, const std::vector<double>& flux,
                            const std::vector<double>& ivar, const std::vector<double>& resolution,
                            const std::vector<double>& pmf, int nspec, int ndiag, const Truth& truth) {
  const int nwave = static_cast<int>(wave.size());
  const double dw = wave[1] - wave[0];
  const int offset = static_cast<int>(std::lround((wave[0] - truth.wave[0]) / dw));
  const int nd = 2 * ndiag + 1;
  double sum = 0, sum2 = 0, max_abs = 0;
  long count = 0;
  for (int s = 0; s < nspec; ++s) {
    for (int i = ndiag; i < nwave - ndiag; ++i) {
      const std::size_t at = static_cast<std::size_t>(s) * nwave + i;
      if (!(ivar[at] > 0) || !(pmf[at] < 0.5)) continue;
      double conv = 0;
      for (int d = 0; d < nd; ++d) {
        const int j = i - d + ndiag;  // column j holds R[j + d − ndiag][j]
        conv += resolution[(static_cast<std::size_t>(s) * nd + d) * nwave + j] *
                truth.flux[static_cast<std::size_t>(s) * truth.nsim + j + offset];
      }
      const double pull = (flux[at] - conv) * std::sqrt(ivar[at]);
      sum += pull;
      sum2 += pull * pull;
      max_abs = std::max(max_abs, std::fabs(pull));
      ++count;
    }
  }
  PullStats p;
  p.count = count;
  p.mean = sum / count;
  p.std = std::sqrt(sum2 / count - p.mean * p.mean);
  p.max_abs = max_abs;
  return p;
}

// max |a − b| / |b| over entries where b != 0 (and |a − b| where b == 0).
inline double max_relative(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    worst = std::max(worst, b[i] != 0 ? d / std::fabs(b[i]) : d);
  }
  return worst;
}

inline double max_absolute(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// A frame against a reference extraction with the bins' condition numbers κ (1/rcond of
// the patch that stored each bin): 1e-10 is the agreement of well-posed patches
// (κ ≤ 1e6); beyond, both codes' rounding is amplified by κ (extraction-spec §7.3), so
// those bins are compared in pull units and ivar/R within the first-order bound κ·ε,
// which this checks bin by bin.
struct FrameAgreement {
  double flux = 0, ivar = 0, chi2pix = 0, resolution = 0, pmf = 0, pull_ill = 0;
  long ill_bins = 0;
};

inline FrameAgreement compare_with_reference(const libextract::Frame& frame,
                                             const libextract::ExtractReport& report,
                                             const ReferenceFrame& ref) {
  std::vector<double> kappa(frame.flux.size(), 0.0);
  for (const auto& d : report.patch_diagnostics)
    for (int s = d.core_fiber_lo; s < d.core_fiber_hi; ++s)
      for (int k = d.wave_lo; k < d.wave_hi; ++k)
        kappa[static_cast<std::size_t>(s) * frame.nwave + k] = 1.0 / d.rcond;
  const int nd = 2 * frame.ndiag + 1;
  FrameAgreement a;
  for (std::size_t i = 0; i < frame.flux.size(); ++i) {
    const double flux_rel = std::fabs(frame.flux[i] - ref.flux[i]) / std::fabs(ref.flux[i]);
    const double ivar_rel = std::fabs(frame.ivar[i] - ref.ivar[i]) / std::fabs(ref.ivar[i]);
    double r_abs = 0;
    const std::size_t s = i / frame.nwave, k = i % frame.nwave;
    for (int d = 0; d < nd; ++d) {
      const std::size_t at = (s * nd + d) * frame.nwave + k;
      r_abs = std::max(r_abs, std::fabs(frame.resolution[at] - ref.resolution[at]));
    }
    a.chi2pix = std::max(a.chi2pix, std::fabs(frame.chi2pix[i] - ref.chi2pix[i]) / std::fabs(ref.chi2pix[i]));
    a.pmf = std::max(a.pmf, std::fabs(frame.pixmask_fraction[i] - ref.pmf[i]));
    if (kappa[i] <= tolerance::ill_conditioned) {
      a.flux = std::max(a.flux, flux_rel);
      a.ivar = std::max(a.ivar, ivar_rel);
      a.resolution = std::max(a.resolution, r_abs);
    } else {
      ++a.ill_bins;
      const double pull =
          std::fabs(frame.flux[i] - ref.flux[i]) * std::sqrt(1.0 / (1.0 / frame.ivar[i] + 1.0 / ref.ivar[i]));
      a.pull_ill = std::max(a.pull_ill, pull);
      const double bound = tolerance::kappa_bound(kappa[i]);
      EXPECT_LE(ivar_rel, bound) << "bin " << i << " kappa " << kappa[i];
      EXPECT_LE(r_abs, bound) << "bin " << i << " kappa " << kappa[i];
    }
  }
  return a;
}

// The tolerances both backends meet against the references.
inline void expect_reference_tolerances(const FrameAgreement& a) {
  EXPECT_LE(a.flux, tolerance::flux_relative);
  EXPECT_LE(a.ivar, tolerance::flux_relative);
  EXPECT_LE(a.chi2pix, tolerance::flux_relative);
  EXPECT_LE(a.resolution, tolerance::resolution_absolute);
  EXPECT_LE(a.pmf, tolerance::pixmask_absolute);
  EXPECT_LE(a.pull_ill, tolerance::pull_ill);
}

}  // namespace libextract_test
