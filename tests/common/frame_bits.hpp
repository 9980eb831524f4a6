// Bitwise comparison of results: arrays, whole frames, and the per-patch diagnostics
// of an extraction report. The invariance tests (threads, batches, ranks, workspace
// placement) all compare this way.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "libextract/libextract.hpp"

namespace libextract_test {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

inline bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

inline void expect_same_frame(const libextract::Frame& a, const libextract::Frame& b,
                              const std::string& what = "") {
  EXPECT_TRUE(same_bits(a.wave, b.wave)) << what << ": WAVELENGTH";
  EXPECT_TRUE(same_bits(a.flux, b.flux)) << what << ": FLUX";
  EXPECT_TRUE(same_bits(a.ivar, b.ivar)) << what << ": IVAR";
  EXPECT_TRUE(same_bits(a.mask, b.mask)) << what << ": MASK";
  EXPECT_TRUE(same_bits(a.resolution, b.resolution)) << what << ": RESOLUTION";
  EXPECT_TRUE(same_bits(a.chi2pix, b.chi2pix)) << what << ": CHI2PIX";
  EXPECT_TRUE(same_bits(a.pixmask_fraction, b.pixmask_fraction)) << what << ": PIXMASK_FRACTION";
  EXPECT_TRUE(same_bits(a.model, b.model)) << what << ": model";
}

// Every patch's condition estimate and status, bit for bit.
inline void expect_same_patch_diagnostics(const libextract::ExtractReport& a,
                                          const libextract::ExtractReport& b, const std::string& what = "") {
  EXPECT_EQ(a.patches, b.patches) << what;
  EXPECT_EQ(a.retried_patches, b.retried_patches) << what;
  EXPECT_EQ(a.failed_patches, b.failed_patches) << what;
  ASSERT_EQ(a.patch_diagnostics.size(), b.patch_diagnostics.size()) << what;
  int differing = 0;
  for (std::size_t i = 0; i < a.patch_diagnostics.size(); ++i) {
    const libextract::PatchDiagnostics &p = a.patch_diagnostics[i], &q = b.patch_diagnostics[i];
    const bool same = same_bits(p.rcond, q.rcond) && p.status == q.status &&
                      p.core_fiber_lo == q.core_fiber_lo && p.core_fiber_hi == q.core_fiber_hi &&
                      p.wave_lo == q.wave_lo && p.wave_hi == q.wave_hi;
    if (!same && differing++ < 3) {
      ADD_FAILURE() << what << ": patch " << i << " rcond " << p.rcond << " vs " << q.rcond << " (diff "
                    << p.rcond - q.rcond << "), status " << p.status << " vs " << q.status;
    }
  }
  EXPECT_EQ(differing, 0) << what << ": patches whose diagnostics differ";
}

}  // namespace libextract_test
