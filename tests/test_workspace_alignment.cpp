// labels: unit
// No output and no diagnostic depends on where the CPU backend's buffers lie: every
// scratch buffer of the patch solve (cpu_fallback/scratch_vector.hpp) placed 0, 8, 16,
// ... 64 bytes past a cache line gives the same bits for the frame (flux, ivar, mask,
// resolution, chi2pix, pixmask fraction, model), every patch's condition estimate and
// status, and the work counts of every stage. A BLAS kernel that peels to an alignment
// boundary, as OpenBLAS's AVX-512 kernels do, would move some of them.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "common/frame_bits.hpp"
#include "common/synthetic_case.hpp"
#include "cpu_fallback/scratch_vector.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::cpu::set_scratch_offset_for_testing;

// A DESI r-like PSF, two bundles with neighbours, defects that make masked bins.
const libextract_test::SyntheticCase& fixture() {
  static const libextract_test::SyntheticCase c = libextract_test::make_synthetic_case(
      {"alignment-psf.fits", 30, 1200, 11, libextract::WavelengthGrid{6000.0, 6119.2, 0.8}, 14, 20, 3});
  return c;
}

using libextract_test::Extraction;

Extraction run(libextract::Compat compat, bool decorrelate, int offset_bytes) {
  set_scratch_offset_for_testing(offset_bytes);
  try {
    Extraction r = libextract_test::extract_case(
        fixture(), libextract_test::cpu_options(fixture(), compat, decorrelate, 7, 2));
    set_scratch_offset_for_testing(0);
    return r;
  } catch (...) {
    set_scratch_offset_for_testing(0);
    throw;
  }
}

void expect_same_work(const libextract::ExtractReport& a, const libextract::ExtractReport& b,
                      const std::string& what) {
  ASSERT_EQ(a.stages.size(), b.stages.size()) << what;
  for (std::size_t i = 0; i < a.stages.size(); ++i) {
    EXPECT_EQ(a.stages[i].name, b.stages[i].name) << what;
    EXPECT_TRUE(libextract_test::same_bits(a.stages[i].flops, b.stages[i].flops))
        << what << ": flop count of stage " << a.stages[i].name;
    EXPECT_EQ(a.stages[i].launches, b.stages[i].launches) << what << ": loops of stage " << a.stages[i].name;
  }
}

class WorkspaceAlignment : public ::testing::TestWithParam<std::tuple<libextract::Compat, bool>> {};

TEST_P(WorkspaceAlignment, EveryOffsetGivesTheSameBits) {
  const auto [compat, decorrelate] = GetParam();
  const Extraction reference = run(compat, decorrelate, 0);
  ASSERT_EQ(reference.frame.nspec, 14);
  ASSERT_GT(reference.report.patches, 4);
  double weight = 0.0;
  for (double v : reference.frame.ivar) weight += v;
  ASSERT_GT(weight, 0.0);  // a real extraction, not an empty frame
  int conditioned = 0;
  for (const libextract::PatchDiagnostics& d : reference.report.patch_diagnostics)
    conditioned += d.rcond > 0.0 && d.rcond < 1.0 ? 1 : 0;
  ASSERT_EQ(conditioned, reference.report.patches);  // every patch has a real estimate
  for (int offset : {8, 16, 24, 32, 40, 48, 56, 64}) {
    const std::string what = "buffers " + std::to_string(offset) + " bytes past a cache line";
    const Extraction moved = run(compat, decorrelate, offset);
    libextract_test::expect_same_frame(reference.frame, moved.frame, what);
    libextract_test::expect_same_patch_diagnostics(reference.report, moved.report, what);
    expect_same_work(reference.report, moved.report, what);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, WorkspaceAlignment,
                         ::testing::Values(std::make_tuple(libextract::Compat::gpu_specter, false),
                                           std::make_tuple(libextract::Compat::specter, false),
                                           std::make_tuple(libextract::Compat::gpu_specter, true)));

TEST(WorkspaceAlignment, OffsetsOutsideTheRuleAreRefused) {
  EXPECT_THROW(set_scratch_offset_for_testing(4), std::invalid_argument);
  EXPECT_THROW(set_scratch_offset_for_testing(72), std::invalid_argument);
  EXPECT_THROW(set_scratch_offset_for_testing(-8), std::invalid_argument);
  EXPECT_NO_THROW(set_scratch_offset_for_testing(0));
}

}  // namespace
