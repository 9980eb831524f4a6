// The agreement tiers of the tests, in one place (../shared/design/architecture.md's
// bit-compatibility rules; extraction-spec §7.3 for the κ-dependence).
//  * Tier 0, bitwise: everything libextract computes against itself — any backend,
//    vector variant, thread count, batch size, rank count, team size
//    (common/frame_bits.hpp: same_bits, expect_same_frame).
//  * Tier 1, against other computations of the same patch (the reference extractions
//    by specter and gpu_specter, the naive dense oracle, long-double evaluations):
//    the constants below. Bins of well-posed patches (κ = 1/rcond ≤ ill_conditioned)
//    agree to within the relative and absolute bounds; beyond, both computations'
//    rounding is amplified by κ, so flux is compared in pull units and ivar and R
//    within a few κ·ε.
#pragma once

namespace libextract_test {
namespace tolerance {

constexpr double eps = 2.220446049250313e-16;
constexpr double ill_conditioned = 1e6;        // κ above which the κ·ε bounds apply
constexpr double flux_relative = 1e-10;        // flux, ivar, chi2pix (relative), well-posed
constexpr double model_relative = 1e-10;       // model pixels, of the patch's largest value
constexpr double resolution_absolute = 1e-12;  // the resolution band, well-posed
constexpr double pixmask_absolute = 1e-14;
constexpr double pull_ill = 1e-5;  // |Δflux|·√(1/(1/ivar_a + 1/ivar_b)), κ > ill_conditioned

// The bound on ivar (relative) and R (absolute) at condition number κ beyond
// ill_conditioned: `factor`·κ·ε (1 against a reference extraction; 4 against the naive
// oracle, whose own covariance is only accurate to ~κ·ε).
constexpr double kappa_bound(double kappa, double factor = 1.0) {
  return factor * kappa * eps;
}

}  // namespace tolerance
}  // namespace libextract_test
