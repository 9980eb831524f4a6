// labels: unit
// The batched pipeline the CUDA backend runs, launched on the CPU (cpu_fallback/batch_pipeline_cpu.hpp):
// the same layout and the same kernels/ functors the device launches, so every line of
// its math runs here, where no GPU exists. Checked against
//  * LAPACK, for the team kernels of envelope_cholesky.hpp (factor, solve, selected
//    inverse, DPOCON's estimate, the failing column);
//  * the shared functors called the CPU backend's way, bitwise, for the tier-0 arrays
//    (spots, cuts, iCov, b, fluxweight, pixmask weights);
//  * the CPU backend (cpu_solve_patches, LAPACK), with the tier-1 tolerances, on a
//    synthetic case and on the shared reference cases, in both compat modes, with and
//    without decorrelate_fibers, including retried/failed patches and spot errors;
//  * itself, bitwise, across chunkings, batch splits and team sizes.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/gpu_pipeline_cases.hpp"
#include "common/thread_team.hpp"
#include "cpu_fallback/batch_pipeline_cpu.hpp"
#include "kernels/envelope_cholesky.hpp"
#include "kernels/projection.hpp"
#include "kernels/spot.hpp"

namespace {

using namespace libextract_test;
namespace kernels = libextract::kernels;
namespace detail = libextract::detail;
namespace batch = libextract::detail::batch;
namespace tolerance = libextract_test::tolerance;
using kernels::SerialTeam;
using kernels::TeamShared;

// ---- LAPACK, found at run time in the process (the tests link it: tests/CMakeLists.txt).
using potrf_t = void (*)(const char*, const int*, double*, const int*, int*, std::size_t);
using potrs_t = void (*)(const char*, const int*, const int*, const double*, const int*, double*, const int*,
                         int*, std::size_t);
using pocon_t = void (*)(const char*, const int*, const double*, const int*, const double*, double*, double*,
                         int*, int*, std::size_t);
template <class F>
F lapack(const char* name) {
  (void)libextract::cuda_compiled();  // keeps libextract loaded
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
#define REQUIRE_LAPACK()                                            \
  do {                                                              \
    if (!lapack<potrf_t>("dpotrf_") || !lapack<pocon_t>("dpocon_")) \
      GTEST_SKIP() << "LAPACK not found in the process";            \
  } while (0)

// ---- an iCov-like matrix: GᵀG + δI with G coupling unknown (f, w) to "pixels" of its
// own fibre and the next one, 5 bins deep; some unknowns without any pixel (masked),
// and one fibre that couples to nothing.
std::vector<double> icov_like(int nf, int nw, double delta, std::uint64_t seed) {
  const int n = nf * nw;
  std::uint64_t s = seed;
  auto uniform = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) * 0x1.0p-53;
  };
  const int np = (nf + 1) * (nw + 5);
  std::vector<double> g(static_cast<std::size_t>(np) * n, 0.0);  // column-major np × n
  for (int f = 0; f < nf; ++f) {
    if (f == 2) continue;  // an isolated fibre
    for (int w = 0; w < nw; ++w) {
      const int q = f * nw + w;
      if (w % 17 == 5) continue;  // a masked unknown
      for (int fp = f; fp <= f + 1; ++fp)
        for (int d = 0; d < 5; ++d)
          g[static_cast<std::size_t>(q) * np + fp * (nw + 5) + w + d] = uniform() + 0.1;
    }
  }
  std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i) {
      double sum = 0;
      for (int p = 0; p < np; ++p)
        sum += g[static_cast<std::size_t>(i) * np + p] * g[static_cast<std::size_t>(j) * np + p];
      a[static_cast<std::size_t>(j) * n + i] = sum + (i == j ? delta : 0.0);
    }
  return a;  // lower triangle (column-major) set; the upper is 0
}

struct EnvelopeRun {
  std::vector<double> a, x, cdiag;
  std::vector<int> first, last;
  int info = 0;
  double rcond = 0;
};

template <class Runner>
EnvelopeRun run_envelope(const std::vector<double>& matrix, int n, int group, double anorm,
                         const std::vector<double>& rhs, const Runner& runner) {
  EnvelopeRun e;
  e.a = matrix;
  e.x = rhs;
  e.cdiag.assign(static_cast<std::size_t>(n), 0.0);
  e.first.assign(static_cast<std::size_t>(n), 0);
  e.last.assign(static_cast<std::size_t>(n), 0);
  std::vector<double> w1(static_cast<std::size_t>(n)), w2(static_cast<std::size_t>(n));
  TeamShared sh{};
  runner([&](const auto& t) {
    kernels::envelope_rows(t, e.a.data(), n, n, group, e.first.data());
    kernels::envelope_columns(t, e.first.data(), n, e.last.data());
    const int info = kernels::envelope_cholesky(t, e.a.data(), n, n, e.first.data(), e.last.data(), &sh);
    if (t.rank() == 0) e.info = info;
    if (info != 0) return;
    const double rc = kernels::envelope_rcond(t, e.a.data(), n, n, e.first.data(), e.last.data(), anorm,
                                              w1.data(), w2.data(), &sh);
    if (t.rank() == 0) e.rcond = rc;
    kernels::envelope_solve(t, e.a.data(), n, n, e.first.data(), e.last.data(), e.x.data());
    kernels::envelope_selected_inverse(t, e.a.data(), n, n, e.first.data(), e.last.data(), e.cdiag.data());
  });
  return e;
}

double one_norm_symmetric(const std::vector<double>& a, int n) {
  double best = 0;
  for (int k = 0; k < n; ++k) {
    double s = 0;
    for (int j = 0; j < n; ++j)
      s += std::fabs(a[static_cast<std::size_t>(std::min(j, k)) * n + std::max(j, k)]);
    best = std::max(best, s);
  }
  return best;
}

TEST(EnvelopeCholesky, MatchesLapackFactorSolveInverseAndCondition) {
  REQUIRE_LAPACK();
  const int nf = 5, nw = 40, n = nf * nw;
  for (double delta : {1e-1, 1e-4}) {
    SCOPED_TRACE(delta);
    const std::vector<double> a = icov_like(nf, nw, delta, 11);
    std::vector<double> b(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) b[i] = std::sin(0.37 * i) + 0.5;
    const double anorm = one_norm_symmetric(a, n);
    const EnvelopeRun e = run_envelope(a, n, nw, anorm, b, [](const auto& body) { body(SerialTeam{}); });
    ASSERT_EQ(e.info, 0);

    std::vector<double> l = a;  // LAPACK
    int info = 0;
    lapack<potrf_t>("dpotrf_")("L", &n, l.data(), &n, &info, 1);
    ASSERT_EQ(info, 0);
    std::vector<double> x = b;
    const int one = 1;
    lapack<potrs_t>("dpotrs_")("L", &n, &one, l.data(), &n, x.data(), &n, &info, 1);
    double rcond = 0;
    std::vector<double> work(3 * static_cast<std::size_t>(n));
    std::vector<int> iwork(static_cast<std::size_t>(n));
    lapack<pocon_t>("dpocon_")("L", &n, l.data(), &n, &anorm, &rcond, work.data(), iwork.data(), &info, 1);
    std::vector<double> c = l;
    lapack<potrf_t>("dpotri_")("L", &n, c.data(), &n, &info, 1);
    ASSERT_EQ(info, 0);

    double lmax = 0, dl = 0, outside = 0, xmax = 0, dx = 0, cmax = 0, dc = 0;
    for (int j = 0; j < n; ++j) {
      for (int i = j; i < n; ++i) {
        const double ref = l[static_cast<std::size_t>(j) * n + i];
        lmax = std::max(lmax, std::fabs(ref));
        if (e.first[i] > j) {
          outside = std::max(outside, std::fabs(ref));  // LAPACK's factor is 0 outside the envelope
          continue;
        }
        dl = std::max(dl, std::fabs(e.a[static_cast<std::size_t>(j) * n + i] - ref));
        const double cref = c[static_cast<std::size_t>(j) * n + i];
        const double cours = kernels::selected_inverse_at(e.a.data(), n, e.cdiag.data(), i, j);
        cmax = std::max(cmax, std::fabs(cref));
        dc = std::max(dc, std::fabs(cours - cref));
      }
      xmax = std::max(xmax, std::fabs(x[j]));
      dx = std::max(dx, std::fabs(e.x[j] - x[j]));
    }
    EXPECT_EQ(outside, 0.0);
    EXPECT_LE(dl / lmax, 1e-13);
    EXPECT_LE(dx / xmax, 1e-10);
    EXPECT_LE(dc / cmax, 1e-10);
    EXPECT_NEAR(e.rcond / rcond, 1.0, 1e-10) << "ours " << e.rcond << " LAPACK " << rcond;
    // The per-fibre diagonal blocks are inside the envelope (group lowering).
    for (int i = 0; i < n; ++i) EXPECT_LE(e.first[i], (i / nw) * nw);
  }
}

TEST(EnvelopeCholesky, ReportsTheFailingColumnLikeLapack) {
  REQUIRE_LAPACK();
  const int nf = 3, nw = 30, n = nf * nw;
  std::vector<double> a = icov_like(nf, nw, 1e-2, 3);
  a[static_cast<std::size_t>(37) * n + 37] = -1.0;
  std::vector<double> l = a;
  int info = 0;
  lapack<potrf_t>("dpotrf_")("L", &n, l.data(), &n, &info, 1);
  const EnvelopeRun e =
      run_envelope(a, n, nw, 1.0, std::vector<double>(n, 1.0), [](const auto& body) { body(SerialTeam{}); });
  EXPECT_EQ(e.info, 38);
  EXPECT_EQ(e.info, info);
  // The pivot is found by its row's owner in a team, and every member stops there.
  for (int size : {2, 5}) {
    const EnvelopeRun t = run_envelope(a, n, nw, 1.0, std::vector<double>(n, 1.0),
                                       [size](const auto& body) { run_team(size, body); });
    EXPECT_EQ(t.info, 38) << "team of " << size;
  }
}

// The envelope kernels are latency-bound on the device (short phases between
// barriers), so their barrier counts are part of their design (docs/gpu.md): one per
// column of the factorisation, per step of each substitution sweep and per row of the
// selected inverse, plus a constant.
TEST(EnvelopeCholesky, OneBarrierPerStep) {
  const int nf = 4, nw = 25, n = nf * nw;
  std::vector<double> a = icov_like(nf, nw, 1e-3, 5);
  std::vector<double> b(static_cast<std::size_t>(n), 1.0), cdiag(static_cast<std::size_t>(n));
  std::vector<int> first(static_cast<std::size_t>(n)), last(static_cast<std::size_t>(n));
  TeamShared sh{};
  long syncs = 0;
  const CountingTeam t{&syncs};
  kernels::envelope_rows(t, a.data(), n, n, nw, first.data());
  kernels::envelope_columns(t, first.data(), n, last.data());
  syncs = 0;
  ASSERT_EQ(kernels::envelope_cholesky(t, a.data(), n, n, first.data(), last.data(), &sh), 0);
  EXPECT_EQ(syncs, n + 2);
  syncs = 0;
  kernels::envelope_solve(t, a.data(), n, n, first.data(), last.data(), b.data());
  EXPECT_EQ(syncs, 2 * n + 1);
  syncs = 0;
  kernels::envelope_selected_inverse(t, a.data(), n, n, first.data(), last.data(), cdiag.data());
  EXPECT_EQ(syncs, n + 1);
}

TEST(EnvelopeCholesky, TeamSizeDoesNotChangeTheBits) {
  const int nf = 4, nw = 25, n = nf * nw;
  const std::vector<double> a = icov_like(nf, nw, 1e-3, 5);
  std::vector<double> b(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) b[i] = std::cos(0.1 * i);
  const EnvelopeRun serial = run_envelope(a, n, nw, 3.0, b, [](const auto& body) { body(SerialTeam{}); });
  for (int size : {2, 3, 7}) {
    SCOPED_TRACE(size);
    const EnvelopeRun t = run_envelope(a, n, nw, 3.0, b, [size](const auto& body) { run_team(size, body); });
    EXPECT_TRUE(same_bits(t.a, serial.a));
    EXPECT_TRUE(same_bits(t.x, serial.x));
    EXPECT_TRUE(same_bits(t.cdiag, serial.cdiag));
    EXPECT_TRUE(same_bits(t.first, serial.first));
    EXPECT_TRUE(same_bits(t.last, serial.last));
    EXPECT_EQ(0, std::memcmp(&t.rcond, &serial.rcond, sizeof(double)));
  }
}

// ---- the pipeline

std::vector<detail::PatchResult> run_cpu(const PipelineCase& c, int first, int count) {
  std::vector<detail::PatchResult> results;
  detail::StageClock clock;
  detail::cpu_solve_patches(batch_of(c, first, count, &results), 0, clock);
  return results;
}

std::vector<detail::PatchResult> run_emulated(const PipelineCase& c, int first, int count,
                                              const batch::EmulationOptions& o = {},
                                              std::vector<batch::ChunkDump>* dumps = nullptr) {
  std::vector<detail::PatchResult> results;
  detail::StageClock clock;
  batch::emulate_solve_patches(batch_of(c, first, count, &results), clock, o, dumps);
  return results;
}

// The tier-0 arrays of the pipeline's first three stages equal, bit for bit, the shared
// functors called the way the CPU backend calls them (cpu_fallback/patch_solver_cpu.cpp).
void expect_tier0_like_cpu_backend(const PipelineCase& c) {
  batch::EmulationOptions o;
  o.slots = 1;
  o.last_stage = batch::stage_normal;
  std::vector<batch::ChunkDump> dumps;
  const int count = static_cast<int>(c.plan.patches.size());
  run_emulated(c, 0, count, o, &dumps);
  ASSERT_EQ(dumps.size(), 1u);
  const batch::ChunkDump& d = dumps[0];
  const batch::ChunkLayout& l = d.layout;
  const kernels::PsfView psf = c.psf->model().view();
  const int nx_max = kernels::spot_nx_max(psf);
  const long cell = static_cast<long>(nx_max) * kernels::spot_ny_max(psf);
  const bool specter = c.settings.compat == libextract::Compat::specter;
  const int rule = specter ? kernels::spot_rule_specter : kernels::spot_rule_gpu_specter;
  std::vector<double> scratch(static_cast<std::size_t>(kernels::spot_scratch_size(psf)));
  long long uo = 0, mo = 0;
  int nonzero_h = 0;
  for (int pi = 0; pi < count; ++pi) {
    const detail::Patch& p = c.plan.patches[pi];
    SCOPED_TRACE(testing::Message() << c.name << " patch " << pi);
    const int nq = p.unknowns();
    std::vector<double> stamps(static_cast<std::size_t>(cell) * nq);
    std::vector<int> corner(2 * static_cast<std::size_t>(nq));
    std::vector<kernels::Rect> cut(static_cast<std::size_t>(nq));
    const kernels::Rect window{p.x0, p.x1, p.y0, p.y1};
    for (int q = 0; q < nq; ++q) {
      kernels::SpotFootprint fp{};
      const int status = kernels::evaluate_spot(psf, p.fiber_lo + q / p.nwave,
                                                c.plan.patch_waves[p.wave_offset + q % p.nwave], rule,
                                                stamps.data() + cell * q, nx_max, scratch.data(), &fp);
      ASSERT_GE(status, 0);
      corner[2 * q] = fp.x0;
      corner[2 * q + 1] = fp.y0;
      if (status == kernels::spot_empty) {
        cut[q] = kernels::Rect{0, 0, 0, 0};
      } else if (specter) {
        const kernels::SpotCut s = kernels::cut_spot(fp, rule, p.x0, p.x1, p.y0, p.y1);
        cut[q] = s.nx > 0
                     ? kernels::Rect{fp.x0 + s.i0, fp.x0 + s.i0 + s.nx, fp.y0 + s.j0, fp.y0 + s.j0 + s.ny}
                     : kernels::Rect{0, 0, 0, 0};
      } else {
        cut[q] = kernels::rect_intersect(kernels::Rect{fp.x0, fp.x0 + fp.nx, fp.y0, fp.y0 + fp.ny}, window);
      }
    }
    const kernels::PatchView view{nq,
                                  cut.data(),
                                  corner.data(),
                                  stamps.data(),
                                  nx_max,
                                  cell,
                                  c.image->pixels.data(),
                                  c.image->ivar.data(),
                                  c.image->ncols};
    std::vector<double> h(static_cast<std::size_t>(nq) * nq, 0.0), fw(nq), rhs(nq), good(nq), masked(nq);
    const kernels::NormalRowFunctor rows{view, h.data()};
    const kernels::ColumnSumsFunctor sums{view, fw.data(), rhs.data(), good.data(), masked.data()};
    for (int q = 0; q < nq; ++q) {
      rows(q);
      sums(q);
    }
    EXPECT_EQ(0,
              std::memcmp(stamps.data(), d.at<double>(l.stamps) + cell * uo, stamps.size() * sizeof(double)))
        << "spots";
    EXPECT_EQ(0,
              std::memcmp(cut.data(), d.at<kernels::Rect>(l.cuts) + uo, cut.size() * sizeof(kernels::Rect)))
        << "cuts";
    EXPECT_EQ(0, std::memcmp(corner.data(), d.at<int>(l.corners) + 2 * uo, corner.size() * sizeof(int)));
    const double* hd = d.at<double>(l.h) + mo;
    bool h_same = true;
    for (int q1 = 0; q1 < nq; ++q1)
      for (int q2 = q1; q2 < nq; ++q2) {
        const std::size_t at = static_cast<std::size_t>(q1) * nq + q2;
        h_same = h_same && std::memcmp(&h[at], &hd[at], sizeof(double)) == 0;
        nonzero_h += h[at] != 0.0;
      }
    EXPECT_TRUE(h_same) << "iCov";
    EXPECT_EQ(0, std::memcmp(fw.data(), d.at<double>(l.fluxweight) + uo, nq * sizeof(double)))
        << "fluxweight";
    EXPECT_EQ(0, std::memcmp(rhs.data(), d.at<double>(l.rhs) + uo, nq * sizeof(double))) << "b";
    EXPECT_EQ(0, std::memcmp(good.data(), d.at<double>(l.weight_good) + uo, nq * sizeof(double)));
    EXPECT_EQ(0, std::memcmp(masked.data(), d.at<double>(l.weight_masked) + uo, nq * sizeof(double)));
    uo += nq;
    mo += static_cast<long long>(nq) * nq;
  }
  EXPECT_GT(nonzero_h, 0);
}

TEST(GpuPipelineOnCpu, TierZeroArraysEqualTheCpuBackendsBitwise) {
  for (libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter}) {
    expect_tier0_like_cpu_backend(synthetic_case(compat, false, false));
  }
}

TEST(GpuPipelineOnCpu, MatchesCpuBackendOnSyntheticCases) {
  REQUIRE_LAPACK();
  for (libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter}) {
    for (bool decorrelate : {false, true}) {
      const PipelineCase c = synthetic_case(compat, decorrelate, true);
      const int count = static_cast<int>(c.plan.patches.size());
      const auto cpu = run_cpu(c, 0, count);
      const auto emu = run_emulated(c, 0, count);
      EXPECT_EQ(expect_same_results(c, 0, cpu, emu), count) << c.name;
    }
  }
}

struct RefCase {
  const char* folder;
  const char* reference;
  libextract::Compat compat;
  int bundlesize;
  bool decorrelate;
};

class GpuPipelineReference : public ::testing::TestWithParam<RefCase> {};

TEST_P(GpuPipelineReference, MatchesCpuBackend) {
  REQUIRE_LAPACK();
  const RefCase r = GetParam();
  PipelineCase c;
  if (!reference_pipeline_case(r.folder, r.reference, r.compat, r.bundlesize, r.decorrelate, c))
    GTEST_SKIP() << "shared reference data not found in " << shared_data_dir();
  const int count = static_cast<int>(c.plan.patches.size());
  const auto cpu = run_cpu(c, 0, count);
  const auto emu = run_emulated(c, 0, count);
  EXPECT_EQ(expect_same_results(c, 0, cpu, emu), count) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    SharedCases, GpuPipelineReference,
    ::testing::Values(RefCase{"case-small", "gpu_specter", libextract::Compat::gpu_specter, 5, false},
                      RefCase{"case-small", "specter", libextract::Compat::specter, 25, false},
                      RefCase{"case-bundle", "gpu_specter", libextract::Compat::gpu_specter, 25, false},
                      RefCase{"case-bundle", "specter", libextract::Compat::specter, 25, false},
                      RefCase{"case-decorr", "gpu_specter-ndecorr", libextract::Compat::gpu_specter, 5, true},
                      RefCase{"case-decorr", "specter-ndecorr", libextract::Compat::specter, 25, true}),
    [](const ::testing::TestParamInfo<RefCase>& info) {
      std::string name = std::string(info.param.folder) + "_" + info.param.reference;
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

// Results never depend on how patches are grouped into batches and chunks (streams),
// nor on where the per-fibre eigenproblems run (CUDA shared memory or the arena).
TEST(GpuPipelineOnCpu, ChunkingBatchingAndFastMemoryDoNotChangeTheBits) {
  for (bool decorrelate : {false, true}) {
    const PipelineCase c = synthetic_case(libextract::Compat::gpu_specter, decorrelate, true);
    const int count = static_cast<int>(c.plan.patches.size());
    batch::EmulationOptions one;
    one.slots = 1;
    const auto base = run_emulated(c, 0, count, one);
    for (int slots : {2, 3}) {
      batch::EmulationOptions o;
      o.slots = slots;
      o.fast_memory = slots == 2;
      const auto other = run_emulated(c, 0, count, o);
      for (int i = 0; i < count; ++i)
        EXPECT_TRUE(same_result_bits(base[i], other[i])) << "slots " << slots << " patch " << i;
    }
    const int half = count / 2;
    auto split = run_emulated(c, 0, half, one);
    const auto rest = run_emulated(c, half, count - half, one);
    split.insert(split.end(), rest.begin(), rest.end());
    for (int i = 0; i < count; ++i)
      EXPECT_TRUE(same_result_bits(base[i], split[i])) << "batch split, patch " << i;
  }
}

// The team stages run as a CUDA launch runs them (every problem of the stage at once,
// each on a team of threads with a barrier) give the bits of teams of one run one after
// another: per-fibre and decorrelate_fibers mode, a patch that takes the retry and
// fails (a NaN pixel), and eigenproblems that fail (QL allowed no sweep, which
// every core fibre block of the patch reports at once). Under ThreadSanitizer
// (scripts/check_team_races.sh) this is the race check of the device's team kernels.
TEST(GpuPipelineOnCpu, TeamStagesAreIndependentOfTheTeamSize) {
  enum Variant { plain, nan_pixel, eigen_stops };
  for (bool decorrelate : {false, true}) {
    for (Variant variant : {plain, nan_pixel, eigen_stops}) {
      SCOPED_TRACE(std::string(decorrelate ? "decorrelate " : "per fibre ") + std::to_string(variant));
      PipelineCase c = synthetic_case(libextract::Compat::specter, decorrelate, false);
      if (variant == nan_pixel) {
        auto image = std::make_shared<libextract::Image>(*c.image);
        const detail::Patch& p = c.plan.patches[1];
        image->pixels[static_cast<std::size_t>((p.y0 + p.y1) / 2) * image->ncols + (p.x0 + p.x1) / 2] =
            std::numeric_limits<double>::quiet_NaN();
        c.image = image;
      }
      std::vector<detail::PatchResult> results;
      const int count = std::min(3, static_cast<int>(c.plan.patches.size()));
      const detail::PatchBatch batch = batch_of(c, 0, count, &results);
      const batch::ChunkLayout l = batch::plan_chunk(batch, 0, count);
      batch::EmulationOptions o;
      o.last_stage = batch::stage_normal;
      batch::ChunkDump serial, threaded;
      batch::emulate_chunk(batch, l, serial, o);
      threaded = serial;
      const long fast_doubles = decorrelate ? 0 : kernels::eigen_fast_doubles(l.max_nw);
      for (batch::ChunkDump* dump : {&serial, &threaded}) {
        kernels::BatchView v = batch::bind(batch, l, dump->arena.data());
        if (variant == eigen_stops) v.settings.eigen_sweeps = 0;
        const int size = dump == &serial ? 1 : 4;
        std::vector<TeamShared> sh(static_cast<std::size_t>(std::max(l.count, l.problems)));
        std::vector<std::vector<double>> fast(
            static_cast<std::size_t>(l.problems),
            std::vector<double>(static_cast<std::size_t>(fast_doubles) + 1));
        const kernels::PatchSolveFunctor solve{v};
        const kernels::EigenFunctor eigen{v};
        run_teams(l.count, size, [&](const auto& t, int p) { solve(t, p, &sh[p], nullptr, 0); });
        run_teams(l.problems, size, [&](const auto& t, int e) {
          eigen(t, e, &sh[e], fast_doubles > 0 ? fast[e].data() : nullptr, fast_doubles);
        });
      }
      const auto* states = serial.at<kernels::PatchState>(l.states);
      int failed = 0;
      for (int p = 0; p < l.count; ++p) failed += states[p].status == kernels::patch_failed;
      if (variant == plain) EXPECT_EQ(failed, 0);
      if (variant == nan_pixel) EXPECT_EQ(states[1].status, kernels::patch_failed);  // and maybe a neighbour
      if (variant == eigen_stops) EXPECT_EQ(failed, l.count);
      for (const batch::Region* r : {&l.states, &l.x, &l.flux_q, &l.ivar_q, &l.mu}) {
        EXPECT_EQ(0, std::memcmp(serial.bytes() + r->offset, threaded.bytes() + r->offset, r->bytes));
      }
      if (!decorrelate) {
        EXPECT_EQ(0, std::memcmp(serial.bytes() + l.cdiag.offset, threaded.bytes() + l.cdiag.offset,
                                 l.cdiag.bytes));
      }
      EXPECT_EQ(0, std::memcmp(serial.bytes() + l.block_r.offset, threaded.bytes() + l.block_r.offset,
                               l.block_r.bytes / 2));  // the R half (eigenvectors may run in `fast`)
    }
  }
}

// A NaN pixel under a patch: both backends retry that patch once, then mark it failed
// (R = I, ivar = 0); its neighbours are unaffected.
TEST(GpuPipelineOnCpu, FailedPatchesLikeTheCpuBackend) {
  REQUIRE_LAPACK();
  for (libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter}) {
    PipelineCase c = synthetic_case(compat, false, true);
    auto image = std::make_shared<libextract::Image>(*c.image);
    const detail::Patch& p = c.plan.patches[1];
    const int x = (p.x0 + p.x1) / 2, y = (p.y0 + p.y1) / 2;
    image->pixels[static_cast<std::size_t>(y) * image->ncols + x] = std::numeric_limits<double>::quiet_NaN();
    c.image = image;
    const int count = static_cast<int>(c.plan.patches.size());
    const auto cpu = run_cpu(c, 0, count);
    const auto emu = run_emulated(c, 0, count);
    int failed = 0;
    for (const auto& r : cpu) failed += r.status == detail::PatchResult::failed;
    EXPECT_GE(failed, 1);
    EXPECT_EQ(cpu[1].status, detail::PatchResult::failed);
    EXPECT_EQ(expect_same_results(c, 0, cpu, emu), count) << c.name;
  }
}

// A spot that cannot be evaluated is the same error, naming the same fibre and
// wavelength, on both backends.
TEST(GpuPipelineOnCpu, SpotErrorsLikeTheCpuBackend) {
  const PipelineCase c = synthetic_case(libextract::Compat::gpu_specter, false, false);
  detail::PsfModel broken = c.psf->model();
  const int fiber = 4;
  for (int k = 0; k < broken.ncoef; ++k)
    broken
        .shape[(static_cast<std::size_t>(kernels::shape_sigma_x) * broken.nspec + fiber) * broken.ncoef + k] =
        std::numeric_limits<double>::quiet_NaN();
  const int count = static_cast<int>(c.plan.patches.size());
  std::vector<detail::PatchResult> cpu, emu;
  detail::StageClock clock;
  detail::PatchBatch b = batch_of(c, 0, count, &cpu);
  b.psf = &broken;
  detail::cpu_solve_patches(b, 0, clock);
  b.results = &emu;
  batch::emulate_solve_patches(b, clock);
  int errors = 0;
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(cpu[i].error, emu[i].error) << i;
    errors += !emu[i].error.empty();
  }
  EXPECT_GT(errors, 0);
}

// ---- a long-double oracle for the resolution matrix: iCov (with its prior, as the
// pipeline built it) inverted in long double, each C_bb^(-1/2) by the Denman-Beavers
// iteration in long double, rows normalised. The pipeline (envelope Cholesky, selected
// inverse, Householder + QL) must be within the resolution tolerance of the tier-1
// comparisons (tests/common/tolerances.hpp, κ ≤ 1e6) of it on every patch checked of the
// synthetic case, including the ones a masked column and masked rows make
// ill-conditioned (κ ~ 7e4). Measured: 5.0e-13 there (QL's small eigenvalues are
// accurate to ε·μ_max, not relatively as with the Jacobi solver the device ran before,
// which gave 5e-15; LAPACK's dsyevd gave 2.5e-12).
std::vector<long double> inverse_ld(std::vector<long double> m, int n) {
  std::vector<long double> inv(static_cast<std::size_t>(n) * n, 0.0L);
  for (int i = 0; i < n; ++i) inv[static_cast<std::size_t>(i) * n + i] = 1.0L;
  for (int col = 0; col < n; ++col) {  // Gauss-Jordan with partial pivoting, column-major
    int piv = col;
    for (int r = col; r < n; ++r)
      if (std::fabs(m[static_cast<std::size_t>(col) * n + r]) >
          std::fabs(m[static_cast<std::size_t>(col) * n + piv]))
        piv = r;
    for (int k = 0; k < n; ++k) {
      std::swap(m[static_cast<std::size_t>(k) * n + col], m[static_cast<std::size_t>(k) * n + piv]);
      std::swap(inv[static_cast<std::size_t>(k) * n + col], inv[static_cast<std::size_t>(k) * n + piv]);
    }
    const long double d = m[static_cast<std::size_t>(col) * n + col];
    for (int k = 0; k < n; ++k) {
      m[static_cast<std::size_t>(k) * n + col] /= d;
      inv[static_cast<std::size_t>(k) * n + col] /= d;
    }
    for (int r = 0; r < n; ++r) {
      const long double f = m[static_cast<std::size_t>(col) * n + r];
      if (r == col || f == 0.0L) continue;
      for (int k = 0; k < n; ++k) {
        m[static_cast<std::size_t>(k) * n + r] -= f * m[static_cast<std::size_t>(k) * n + col];
        inv[static_cast<std::size_t>(k) * n + r] -= f * inv[static_cast<std::size_t>(k) * n + col];
      }
    }
  }
  return inv;
}

TEST(GpuPipelineOnCpu, ResolutionMatchesLongDoubleOracle) {
  const PipelineCase c = synthetic_case(libextract::Compat::gpu_specter, false, false);
  const int count = static_cast<int>(c.plan.patches.size());
  batch::EmulationOptions o;
  o.slots = 1;
  std::vector<batch::ChunkDump> dumps;
  const auto results = run_emulated(c, 0, count, o, &dumps);
  const batch::ChunkDump& d = dumps[0];
  const batch::ChunkLayout& l = d.layout;
  const int nd = 2 * c.plan.ndiag + 1;
  double worst = 0, worst_kappa = 0;
  long long uo = 0, mo = 0;
  for (int pi = 0; pi < count; ++pi) {
    const detail::Patch& p = c.plan.patches[pi];
    const int n = p.unknowns(), nw = p.nwave;
    const bool checked = pi < 2 || 1.0 / results[pi].rcond > 1e4;  // two, and the ill-conditioned ones
    if (!checked) {
      uo += n;
      mo += static_cast<long long>(n) * n;
      continue;
    }
    ASSERT_EQ(results[pi].status, detail::PatchResult::ok);
    const double* h = d.at<double>(l.h) + mo;
    const double* diag = d.at<double>(l.icov_diag) + uo;
    std::vector<long double> icov(static_cast<std::size_t>(n) * n);
    for (int j = 0; j < n; ++j)
      for (int i = j; i < n; ++i) {
        const long double v = (i == j) ? diag[i] : h[static_cast<std::size_t>(j) * n + i];
        icov[static_cast<std::size_t>(j) * n + i] = icov[static_cast<std::size_t>(i) * n + j] = v;
      }
    const std::vector<long double> cov = inverse_ld(icov, n);
    double err = 0;
    for (int cf = 0; cf < p.core_hi - p.core_lo; ++cf) {
      const int o0 = (p.core_lo + cf - p.fiber_lo) * nw;
      std::vector<long double> y(static_cast<std::size_t>(nw) * nw), z(y.size(), 0.0L);
      for (int cc = 0; cc < nw; ++cc)
        for (int r = 0; r < nw; ++r)
          y[static_cast<std::size_t>(cc) * nw + r] = cov[static_cast<std::size_t>(o0 + cc) * n + o0 + r];
      for (int i = 0; i < nw; ++i) z[static_cast<std::size_t>(i) * nw + i] = 1.0L;
      for (int it = 0; it < 60; ++it) {  // Y -> C^(1/2), Z -> C^(-1/2), quadratically
        const std::vector<long double> yi = inverse_ld(y, nw), zi = inverse_ld(z, nw);
        long double change = 0, size = 0;
        for (std::size_t k = 0; k < y.size(); ++k) {
          const long double yn = (y[k] + zi[k]) / 2, zn = (z[k] + yi[k]) / 2;
          change = std::max(change, std::fabs(zn - z[k]));
          size = std::max(size, std::fabs(zn));
          y[k] = yn;
          z[k] = zn;
        }
        if (change <= 1e-17L * size) break;
      }
      for (int jj = 0; jj < p.nkeep; ++jj) {
        const int j = p.core_offset + jj;
        for (int dd = 0; dd < nd; ++dd) {
          const int row = j + dd - c.plan.ndiag;
          long double s = 0;
          for (int cc = 0; cc < nw; ++cc) s += z[static_cast<std::size_t>(cc) * nw + row];
          const long double truth = z[static_cast<std::size_t>(j) * nw + row] / s;
          const double ours = results[pi].resolution[(static_cast<std::size_t>(cf) * nd + dd) * p.nkeep + jj];
          err = std::max(err, static_cast<double>(std::fabs(ours - truth)));
        }
      }
    }
    if (err > worst) worst_kappa = 1.0 / results[pi].rcond;
    worst = std::max(worst, err);
    uo += n;
    mo += static_cast<long long>(n) * n;
  }
  std::printf("resolution vs long-double oracle: max |dR| %.2e (patch kappa %.2e)\n", worst, worst_kappa);
  EXPECT_LE(worst, tolerance::resolution_absolute);
  EXPECT_GT(worst, 0.0) << "the oracle is a different computation";
}

}  // namespace
