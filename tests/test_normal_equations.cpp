// labels: unit
// The normal equations of a patch: the two loop orders in libextract/kernels/
// projection.hpp (one output row per thread, as the CUDA backend runs it, and pixel
// by pixel, as the CPU runs it) must give bitwise the same H; both must match a dense
// AᵀWA computed naively to rounding; fluxweight and the data term likewise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/test_data.hpp"
#include "kernels/projection.hpp"
#include "kernels/spot.hpp"
#include "libextract/libextract.hpp"
#include "psf_model.hpp"

namespace {

using namespace libextract::kernels;

struct SyntheticPatch {
  libextract::Psf psf;
  std::vector<double> stamps;
  std::vector<int> corner;
  std::vector<Rect> cut;
  std::vector<double> image, ivar;
  int ncols = 0, nrows = 0;
  Rect window{};
  PatchView view{};
};

SyntheticPatch make_patch(unsigned seed) {
  libextract::SyntheticPsfOptions o;
  o.nspec = 25;
  o.seed = seed;
  const std::string path = libextract_test::scratch_dir() + "/normal-psf-" + std::to_string(seed) + ".fits";
  libextract::write_synthetic_psf(path, o);
  SyntheticPatch p{libextract::Psf::load(path)};
  const PsfView psf = p.psf.model().view();
  const int nx_max = spot_nx_max(psf), ny_max = spot_ny_max(psf);
  const int nf = 4, nw = 30;
  const int nq = nf * nw;
  p.stamps.assign(static_cast<std::size_t>(nq) * nx_max * ny_max, 0.0);
  p.corner.resize(2 * nq);
  p.cut.resize(nq);
  std::vector<double> scratch(spot_scratch_size(psf));
  std::vector<SpotFootprint> fp(nq);
  int x0 = 1 << 30, x1 = -(1 << 30), y0 = 1 << 30, y1 = -(1 << 30);
  for (int q = 0; q < nq; ++q) {
    const int fiber = 3 + q / nw;
    const double wave = 6500.0 + 0.8 * (q % nw);
    EXPECT_EQ(evaluate_spot(psf, fiber, wave, spot_rule_gpu_specter, p.stamps.data() + q * nx_max * ny_max,
                            nx_max, scratch.data(), &fp[q]),
              spot_ok);
    p.corner[2 * q] = fp[q].x0;
    p.corner[2 * q + 1] = fp[q].y0;
    x0 = std::min(x0, fp[q].x0), x1 = std::max(x1, fp[q].x0 + fp[q].nx);
    y0 = std::min(y0, fp[q].y0), y1 = std::max(y1, fp[q].y0 + fp[q].ny);
  }
  // Trim the window by 3 rows on each side, so some stamps are cut as in a real patch.
  p.window = Rect{x0, x1, y0 + 3, y1 - 3};
  for (int q = 0; q < nq; ++q)
    p.cut[q] = rect_intersect(Rect{fp[q].x0, fp[q].x0 + fp[q].nx, fp[q].y0, fp[q].y0 + fp[q].ny}, p.window);
  p.ncols = x1 + 5;
  p.nrows = y1 + 5;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> value(-50.0, 5000.0), weight(1e-4, 1e-2), u(0, 1);
  p.image.resize(static_cast<std::size_t>(p.ncols) * p.nrows);
  p.ivar.resize(p.image.size());
  for (std::size_t i = 0; i < p.image.size(); ++i) {
    p.image[i] = value(rng);
    const double r = u(rng);
    p.ivar[i] = r < 0.05 ? 0.0 : (r < 0.06 ? -weight(rng) : weight(rng));  // masked and negative pixels too
  }
  p.view = PatchView{nq,
                     p.cut.data(),
                     p.corner.data(),
                     p.stamps.data(),
                     nx_max,
                     static_cast<long>(nx_max) * ny_max,
                     p.image.data(),
                     p.ivar.data(),
                     p.ncols};
  return p;
}

TEST(NormalEquations, PixelOrderEqualsRowOrderBitwise) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const SyntheticPatch p = make_patch(seed);
    const int nq = p.view.nq;
    std::vector<double> by_row(static_cast<std::size_t>(nq) * nq, 0.0), by_pixel(by_row.size(), 0.0);
    const NormalRowFunctor rows{p.view, by_row.data()};
    for (int q = 0; q < nq; ++q) rows(q);
    std::vector<int> list;
    std::vector<double> values(nq);
    for (int y = p.window.y0; y < p.window.y1; ++y) {
      for (int x = p.window.x0; x < p.window.x1; ++x) {
        list.clear();
        for (int q = 0; q < nq; ++q) {
          const Rect& r = p.cut[q];
          if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) list.push_back(q);
        }
        if (!list.empty())
          normal_pixel_accumulate(p.view, list.data(), static_cast<int>(list.size()), x, y, values.data(),
                                  by_pixel.data(), p.view.nq);
      }
    }
    long nonzero = 0;
    for (int q1 = 0; q1 < nq; ++q1) {
      for (int q2 = q1; q2 < nq; ++q2) {
        const std::size_t at = static_cast<std::size_t>(q1) * nq + q2;
        ASSERT_EQ(std::memcmp(&by_row[at], &by_pixel[at], sizeof(double)), 0) << q1 << "," << q2;
        nonzero += by_row[at] != 0.0;
      }
    }
    EXPECT_GT(nonzero, nq * 5);  // a real band of couplings, not an empty matrix
  }
}

TEST(NormalEquations, MatchDenseProduct) {
  const SyntheticPatch p = make_patch(4);
  const int nq = p.view.nq;
  const int ncols = p.window.x1 - p.window.x0;
  const int npix = ncols * (p.window.y1 - p.window.y0);
  // Dense A (naive) and AᵀWA, Aᵀ W d.
  std::vector<double> a(static_cast<std::size_t>(npix) * nq, 0.0);
  for (int q = 0; q < nq; ++q) {
    const Rect& r = p.cut[q];
    for (int y = r.y0; y < r.y1; ++y)
      for (int x = r.x0; x < r.x1; ++x)
        a[static_cast<std::size_t>((y - p.window.y0) * ncols + (x - p.window.x0)) * nq + q] =
            spot_value(p.view, q, x, y);
  }
  std::vector<double> h(static_cast<std::size_t>(nq) * nq, 0.0), fw(nq), rhs(nq), good(nq), masked(nq);
  const NormalRowFunctor rows{p.view, h.data()};
  const ColumnSumsFunctor sums{p.view, fw.data(), rhs.data(), good.data(), masked.data()};
  for (int q = 0; q < nq; ++q) rows(q), sums(q);
  double worst = 0.0;
  for (int q1 = 0; q1 < nq; ++q1) {
    double dense_fw = 0, dense_rhs = 0, scale = 0;
    for (int i = 0; i < npix; ++i) {
      const int y = p.window.y0 + i / ncols, x = p.window.x0 + i % ncols;
      const double w = p.ivar[static_cast<std::size_t>(y) * p.ncols + x];
      dense_fw += w * a[static_cast<std::size_t>(i) * nq + q1];
      dense_rhs +=
          w * a[static_cast<std::size_t>(i) * nq + q1] * p.image[static_cast<std::size_t>(y) * p.ncols + x];
      scale += std::fabs(w) * a[static_cast<std::size_t>(i) * nq + q1];
    }
    EXPECT_NEAR(fw[q1], dense_fw, 1e-13 * scale);
    EXPECT_NEAR(rhs[q1], dense_rhs, 1e-12 * scale * 5000.0);
    for (int q2 = q1; q2 < nq; ++q2) {
      double dense = 0, mag = 0;
      for (int i = 0; i < npix; ++i) {
        const int y = p.window.y0 + i / ncols, x = p.window.x0 + i % ncols;
        const double w = p.ivar[static_cast<std::size_t>(y) * p.ncols + x];
        const double t =
            w * a[static_cast<std::size_t>(i) * nq + q1] * a[static_cast<std::size_t>(i) * nq + q2];
        dense += t;
        mag += std::fabs(t);
      }
      if (mag > 0)
        worst = std::max(worst, std::fabs(h[static_cast<std::size_t>(q1) * nq + q2] - dense) / mag);
      else
        EXPECT_EQ(h[static_cast<std::size_t>(q1) * nq + q2], 0.0);
    }
  }
  EXPECT_LT(worst, 1e-14);  // summation-order rounding only
}

}  // namespace
