// labels: unit
// Machine independence in one process: the same extraction under every vector variant
// this CPU supports (cpu_fallback/isa.hpp: avx512, avx2, baseline), with 1 and 2
// threads and two batch sizes, in both compat modes and in decorrelate mode, gives
// bitwise the same frame (every HDU) and the same per-patch diagnostics. Prints which
// variants ran; a machine with only the baseline compares threads and batches alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <tuple>

#include "common/frame_bits.hpp"
#include "common/synthetic_case.hpp"
#include "cpu_fallback/isa.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::cpu::Isa;

const libextract_test::SyntheticCase& fixture() {
  static const libextract_test::SyntheticCase c = libextract_test::make_synthetic_case(
      {"isa-psf.fits", 20, 900, 17, libextract::WavelengthGrid{6000.0, 6103.2, 0.8}, 12, 15, 2});
  return c;
}

using libextract_test::Extraction;

// One extraction with the given variant, restoring the variant in use afterwards.
Extraction run(libextract::Compat compat, bool decorrelate, Isa isa, int threads, int batch) {
  const Isa before = libextract::cpu::active_isa();
  libextract::cpu::set_isa_for_testing(isa);
  try {
    Extraction r = libextract_test::extract_case(
        fixture(), libextract_test::cpu_options(fixture(), compat, decorrelate, 6, threads, batch));
    libextract::cpu::set_isa_for_testing(before);
    return r;
  } catch (...) {
    libextract::cpu::set_isa_for_testing(before);
    throw;
  }
}

class IsaVariants : public ::testing::TestWithParam<std::tuple<libextract::Compat, bool>> {};

TEST_P(IsaVariants, EveryVariantThreadCountAndBatchGivesTheSameBits) {
  const auto [compat, decorrelate] = GetParam();
  const auto variants = libextract::cpu::supported_isas();
  ASSERT_FALSE(variants.empty());
  std::string names;
  for (Isa isa : variants) names += std::string(names.empty() ? "" : ", ") + libextract::cpu::isa_name(isa);
  std::printf("vector variants compared: %s\n", names.c_str());
  const Extraction reference = run(compat, decorrelate, variants.front(), 1, 0);
  ASSERT_GT(reference.report.patches, 4);
  double weight = 0.0;
  for (double v : reference.frame.ivar) weight += v;
  ASSERT_GT(weight, 0.0);  // a real extraction
  for (Isa isa : variants) {
    for (const auto& [threads, batch] :
         {std::make_pair(1, 0), std::make_pair(2, 0), std::make_pair(2, 3), std::make_pair(1, 5)}) {
      const std::string what = std::string(libextract::cpu::isa_name(isa)) + ", " + std::to_string(threads) +
                               " thread(s), batch " + std::to_string(batch);
      const Extraction other = run(compat, decorrelate, isa, threads, batch);
      libextract_test::expect_same_frame(reference.frame, other.frame, what);
      libextract_test::expect_same_patch_diagnostics(reference.report, other.report, what);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, IsaVariants,
                         ::testing::Values(std::make_tuple(libextract::Compat::gpu_specter, false),
                                           std::make_tuple(libextract::Compat::specter, false),
                                           std::make_tuple(libextract::Compat::gpu_specter, true)));

TEST(IsaVariants, TheWidestSupportedIsTheDefaultAndUnsupportedOnesAreRefused) {
  const auto variants = libextract::cpu::supported_isas();
  ASSERT_FALSE(variants.empty());
  EXPECT_EQ(variants.front(), Isa::baseline);  // every build and CPU runs the baseline
  const Isa before = libextract::cpu::active_isa();
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512}) {
    bool supported = false;
    for (Isa v : variants) supported = supported || v == isa;
    if (supported) {
      EXPECT_NO_THROW(libextract::cpu::set_isa_for_testing(isa));
      EXPECT_EQ(libextract::cpu::active_isa(), isa);
    } else {
      EXPECT_THROW(libextract::cpu::set_isa_for_testing(isa), libextract::Error);
    }
  }
  libextract::cpu::set_isa_for_testing(before);
}

}  // namespace
