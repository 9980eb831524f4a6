// labels: gpu
// The CUDA backend's extraction on a device, against
//  * the CPU run of the same pipeline (cpu_fallback/batch_pipeline_cpu.hpp), bit for bit: every
//    intermediate of the first stages (spots, cuts, iCov, b, fluxweight, pixmask
//    weights, iCov's prior) and every output (the FP contract makes the device compute
//    the CPU's bits: no contraction, IEEE division and sqrt, no reductions across
//    threads);
//  * the CPU backend (LAPACK) with the tier-1 tolerances, patch by patch;
//  * the shared reference extractions, frame by frame, with the CPU backend's tolerances;
// and its operational promises: --timing stages on cuda with a launch count per batch
// that does not grow with the patches, determinism over batch sizes and host threads,
// device selection, failed patches like the CPU backend.
// Without a device every test skips, unless LIBEXTRACT_REQUIRE_GPU=1 (then they fail).
// Run on a GPU node: ctest -L gpu --output-on-failure   (see cuda/README.md)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/gpu_pipeline_cases.hpp"
#include "common/gpu_skip.hpp"
#include "cpu_fallback/batch_pipeline_cpu.hpp"
#include "cuda/pipeline_debug.hpp"
#include "libextract/extract_parts.hpp"

namespace {

using namespace libextract_test;
namespace detail = libextract::detail;
namespace batch = libextract::detail::batch;
namespace kernels = libextract::kernels;

std::vector<PipelineCase> synthetic_cases() {
  std::vector<PipelineCase> cases;
  for (libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter})
    for (bool decorrelate : {false, true}) cases.push_back(synthetic_case(compat, decorrelate, true));
  return cases;
}

struct RefCase {
  const char* folder;
  const char* reference;
  libextract::Compat compat;
  int bundlesize;
  bool decorrelate;
};
const RefCase kReferenceCases[] = {
    {"case-small", "gpu_specter", libextract::Compat::gpu_specter, 5, false},
    {"case-small", "specter", libextract::Compat::specter, 25, false},
    {"case-bundle", "gpu_specter", libextract::Compat::gpu_specter, 25, false},
    {"case-bundle", "specter", libextract::Compat::specter, 25, false},
    {"case-decorr", "gpu_specter-ndecorr", libextract::Compat::gpu_specter, 5, true},
    {"case-decorr", "specter-ndecorr", libextract::Compat::specter, 25, true},
};

// Synthetic cases, and the shared reference cases when ../shared/data is there.
std::vector<PipelineCase> all_cases() {
  std::vector<PipelineCase> cases = synthetic_cases();
  for (const RefCase& r : kReferenceCases) {
    PipelineCase c;
    if (reference_pipeline_case(r.folder, r.reference, r.compat, r.bundlesize, r.decorrelate, c))
      cases.push_back(c);
  }
  return cases;
}

int patch_count(const PipelineCase& c) {
  return static_cast<int>(c.plan.patches.size());
}

std::vector<detail::PatchResult> run_cuda(const PipelineCase& c, int first, int count) {
  std::vector<detail::PatchResult> results;
  detail::StageClock clock;
  detail::cuda_solve_patches(batch_of(c, first, count, &results), 0, clock);
  return results;
}

std::vector<detail::PatchResult> run_cpu(const PipelineCase& c) {
  std::vector<detail::PatchResult> results;
  detail::StageClock clock;
  detail::cpu_solve_patches(batch_of(c, 0, patch_count(c), &results), 0, clock);
  return results;
}

std::vector<detail::PatchResult> run_emulated(const PipelineCase& c) {
  std::vector<detail::PatchResult> results;
  detail::StageClock clock;
  batch::emulate_solve_patches(batch_of(c, 0, patch_count(c), &results), clock);
  return results;
}

bool same_frame(const libextract::Frame& a, const libextract::Frame& b) {
  return same_bits(a.flux, b.flux) && same_bits(a.ivar, b.ivar) && same_bits(a.resolution, b.resolution) &&
         same_bits(a.chi2pix, b.chi2pix) && same_bits(a.pixmask_fraction, b.pixmask_fraction) &&
         same_bits(a.model, b.model);
}

bool same_region(const batch::ChunkDump& a, const batch::ChunkDump& b, const batch::Region& r) {
  return std::memcmp(a.bytes() + r.offset, b.bytes() + r.offset, r.bytes) == 0;
}

// Tier 0: the device's spots, cuts, iCov (upper triangle, as written), b, fluxweight,
// the pixmask weights and the prior-added diagonal are the CPU run's bits.
TEST(GpuExtract, TierZeroArraysBitwiseEqualToTheCpuRun) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  for (const PipelineCase& c : all_cases()) {
    SCOPED_TRACE(c.name);
    std::vector<detail::PatchResult> unused;
    const detail::PatchBatch batch = batch_of(c, 0, patch_count(c), &unused);
    batch::ChunkDump device, host;
    detail::cuda_debug_chunk(batch, 0, batch::stage_solve, device);
    batch::EmulationOptions o;
    o.last_stage = batch::stage_solve;
    batch::emulate_chunk(batch, device.layout, host, o);
    const batch::ChunkLayout& l = host.layout;
    EXPECT_TRUE(same_region(device, host, l.stamps)) << "spots";
    EXPECT_TRUE(same_region(device, host, l.footprints)) << "spot footprints";
    EXPECT_TRUE(same_region(device, host, l.spot_status));
    EXPECT_TRUE(same_region(device, host, l.cuts)) << "cuts";
    EXPECT_TRUE(same_region(device, host, l.corners));
    EXPECT_TRUE(same_region(device, host, l.fluxweight)) << "fluxweight";
    EXPECT_TRUE(same_region(device, host, l.rhs)) << "b";
    EXPECT_TRUE(same_region(device, host, l.weight_good)) << "pixmask weights";
    EXPECT_TRUE(same_region(device, host, l.weight_masked)) << "pixmask weights";
    EXPECT_TRUE(same_region(device, host, l.icov_diag)) << "iCov diagonal with its prior";
    const double* hd = device.at<double>(l.h);
    const double* hh = host.at<double>(l.h);
    bool h_same = true;
    long long mo = 0;
    for (const detail::Patch& p : c.plan.patches) {
      const int n = p.unknowns();
      if (!c.settings.decorrelate_fibers) {  // (decorrelate_fibers rewrites h in the solve)
        for (int q1 = 0; q1 < n; ++q1)
          h_same = h_same &&
                   std::memcmp(hd + mo + static_cast<long long>(q1) * n + q1,
                               hh + mo + static_cast<long long>(q1) * n + q1, (n - q1) * sizeof(double)) == 0;
      }
      mo += static_cast<long long>(n) * n;
    }
    EXPECT_TRUE(h_same) << "iCov";
    // The solve itself runs the same code on both: its results too.
    EXPECT_TRUE(same_region(device, host, l.x)) << "deconvolved flux";
    EXPECT_TRUE(same_region(device, host, l.states)) << "status, rcond";
  }
}

// Everything after the vendor-free solve is still our code: the whole device pipeline
// gives the CPU run's bits, patch by patch.
TEST(GpuExtract, WholePipelineBitwiseEqualToTheCpuRun) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  for (const PipelineCase& c : all_cases()) {
    const auto device = run_cuda(c, 0, patch_count(c));
    const auto host = run_emulated(c);
    ASSERT_EQ(device.size(), host.size());
    int differ = 0;
    for (std::size_t i = 0; i < host.size(); ++i) differ += !same_result_bits(device[i], host[i]);
    EXPECT_EQ(differ, 0) << c.name << ": patches whose outputs differ from the CPU run of the same pipeline";
  }
}

// The device against the CPU backend itself (--backend cuda == --backend cpu), patch by
// patch, bitwise: one pipeline.
TEST(GpuExtract, MatchesCpuBackendPatchByPatch) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  for (const PipelineCase& c : all_cases()) {
    const int count = patch_count(c);
    EXPECT_EQ(expect_same_results(c, 0, run_cpu(c), run_cuda(c, 0, count)), count) << c.name;
  }
}

// The whole extraction (extract_frame --backend cuda) against the reference files, with
// the tolerances the CPU backend meets (tests/test_extract_reference.cpp).
TEST(GpuExtract, FramesMatchTheReferences) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  int ran = 0;
  for (const RefCase& rc : kReferenceCases) {
    PipelineCase c;
    if (!reference_pipeline_case(rc.folder, rc.reference, rc.compat, rc.bundlesize, rc.decorrelate, c))
      continue;
    ++ran;
    SCOPED_TRACE(c.name);
    const ReferenceFrame ref =
        read_reference(shared_file(std::string(rc.folder) + "/" + rc.reference + ".fits.gz"));
    libextract::ExtractOptions o = c.options;
    o.backend.kind = libextract::BackendKind::cuda;
    libextract::ExtractReport report;
    const libextract::Frame frame = libextract::extract_frame(*c.image, *c.psf, o, &report);
    EXPECT_EQ(report.backend, "cuda");
    const FrameAgreement a = compare_with_reference(frame, report, ref);
    std::printf(
        "%s on cuda vs reference: flux %.2e ivar %.2e chi2pix %.2e R %.2e pmf %.2e; pull (kappa > 1e6) "
        "%.2e\n",
        c.name.c_str(), a.flux, a.ivar, a.chi2pix, a.resolution, a.pmf, a.pull_ill);
    expect_reference_tolerances(a);
  }
  if (ran == 0) GTEST_SKIP() << "shared reference data not found in " << shared_data_dir();
}

// --timing: every patch stage ran on cuda, with launches per batch independent of the
// number of patches in it (7 per chunk: a frame of several batches runs one chunk per
// batch, two batches in flight; a frame that is one batch splits it into two chunks).
TEST(GpuExtract, TimingReportsCudaStagesAndLaunchesPerBatch) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  const PipelineCase c = synthetic_case(libextract::Compat::gpu_specter, false, false);
  for (int batch : {1, 4, 100}) {
    libextract::ExtractOptions o = c.options;
    o.backend.kind = libextract::BackendKind::cuda;
    o.batch_patches = batch;
    libextract::ExtractReport report;
    libextract::extract_frame(*c.image, *c.psf, o, &report);
    const int patches = report.patches;
    const long long chunks = patches <= batch ? std::min(2, patches) : (patches + batch - 1) / batch;
    for (const auto& s : report.stages) {
      SCOPED_TRACE(s.name);
      if (s.backend == "host") continue;
      EXPECT_EQ(s.backend, "cuda");
      const long long per_chunk = (s.name == "spots" || s.name == "products") ? 2 : 1;
      EXPECT_EQ(s.launches, per_chunk * chunks) << "batch_patches " << batch;
      EXPECT_GE(s.seconds, 0.0);
    }
  }
}

// Results do not depend on batch sizes (chunks, streams) or on how many host threads
// drive the device at once (each with its own streams and memory).
TEST(GpuExtract, DeterministicAcrossBatchSizesAndHostThreads) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  const PipelineCase c = synthetic_case(libextract::Compat::gpu_specter, false, true);
  libextract::ExtractOptions o = c.options;
  o.backend.kind = libextract::BackendKind::cuda;
  const libextract::Frame base = libextract::extract_frame(*c.image, *c.psf, o);
  for (int batch : {1, 2, 5}) {
    o.batch_patches = batch;
    EXPECT_TRUE(same_frame(base, libextract::extract_frame(*c.image, *c.psf, o)))
        << "batch_patches " << batch;
  }
  o.batch_patches = 0;
  std::vector<libextract::Frame> frames(3);
  std::vector<std::thread> threads;
  for (auto& f : frames) threads.emplace_back([&] { f = libextract::extract_frame(*c.image, *c.psf, o); });
  for (auto& t : threads) t.join();
  for (const auto& f : frames) EXPECT_TRUE(same_frame(base, f)) << "concurrent host threads";
}

// The pipelined path (two batches in flight) hands over blocks bitwise equal to
// synchronous solves of the same ranges (compared through the frames stitched from
// them); a consumer that throws leaves nothing in flight, so the same thread extracts
// again with the same bits.
TEST(GpuExtract, SolveRangeInFlightEqualsSynchronousSolves) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  const PipelineCase c = synthetic_case(libextract::Compat::specter, false, true);
  libextract::ExtractOptions o = c.options;
  o.backend.kind = libextract::BackendKind::cuda;
  o.batch_patches = 2;
  libextract::ExtractionParts by_range(*c.image, *c.psf, o), by_solve(*c.image, *c.psf, o);
  const int total = by_range.patch_count();
  ASSERT_GT(total, 3 * o.batch_patches);
  by_range.solve_range(0, total, [&](libextract::SolvedPatches&& block) {
    // One of the queue's streams is still busy with the next batch meanwhile.
    by_solve.stitch(by_solve.solve(block.first(), block.count()));
    by_range.stitch(block);
  });
  const libextract::Frame a = by_range.finish(), b = by_solve.finish();
  EXPECT_TRUE(same_frame(a, b));

  libextract::ExtractionParts again(*c.image, *c.psf, o);
  EXPECT_THROW(
      again.solve_range(0, total,
                        [](libextract::SolvedPatches&&) { throw std::runtime_error("consumer failed"); }),
      std::runtime_error);
  again.solve_range(0, total, [&](libextract::SolvedPatches&& block) { again.stitch(block); });
  const libextract::Frame r = again.finish();
  EXPECT_TRUE(same_frame(a, r));
}

TEST(GpuExtract, DeviceSelection) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  libextract::Backend b;
  b.kind = libextract::BackendKind::automatic;
  EXPECT_EQ(libextract::resolve_backend(b), libextract::BackendKind::cuda);
  b.kind = libextract::BackendKind::cuda;
  b.device = libextract::cuda_device_count();
  EXPECT_THROW(libextract::resolve_backend(b), libextract::BackendUnavailable);
}

// A NaN pixel: the device retries that patch once and then marks it failed, exactly as
// the CPU backend does; its neighbours are unaffected.
TEST(GpuExtract, FailedPatchesLikeTheCpuBackend) {
  LIBEXTRACT_REQUIRE_CUDA_DEVICE();
  for (libextract::Compat compat : {libextract::Compat::gpu_specter, libextract::Compat::specter}) {
    PipelineCase c = synthetic_case(compat, false, true);
    auto image = std::make_shared<libextract::Image>(*c.image);
    const detail::Patch& p = c.plan.patches[1];
    image->pixels[static_cast<std::size_t>((p.y0 + p.y1) / 2) * image->ncols + (p.x0 + p.x1) / 2] =
        std::numeric_limits<double>::quiet_NaN();
    c.image = image;
    const auto device = run_cuda(c, 0, patch_count(c));
    EXPECT_EQ(device[1].status, detail::PatchResult::failed);
    EXPECT_EQ(expect_same_results(c, 0, run_cpu(c), device), patch_count(c)) << c.name;
  }
}

}  // namespace
