// The public view of the patch plan (libextract/plan.hpp): detail::make_plan's patches
// with the bookkeeping offsets left out and the wavelengths looked up.
#include "libextract/plan.hpp"

#include "patch_plan.hpp"

namespace libextract {

PatchPlan plan_patches(const Psf& psf, const ExtractOptions& options, int image_rows, int image_cols) {
  const detail::Plan plan = detail::make_plan(psf, options, image_rows, image_cols);
  PatchPlan out;
  out.compat = plan.compat;
  out.specmin = plan.specmin;
  out.nspec = plan.nspec;
  out.ndiag = plan.ndiag;
  out.wave = plan.wave;
  out.patches.reserve(plan.patches.size());
  for (const detail::Patch& p : plan.patches) {
    PlannedPatch q;
    q.bundle = p.bundle;
    q.fiber_lo = p.fiber_lo;
    q.fiber_hi = p.fiber_hi;
    q.core_fiber_lo = p.core_lo;
    q.core_fiber_hi = p.core_hi;
    q.wave_lo = p.out_col;
    q.wave_hi = p.out_col + p.nkeep;
    q.nwave = p.nwave;
    const auto first = static_cast<std::size_t>(p.wave_offset);
    q.wave_first = plan.patch_waves[first];
    q.wave_last = plan.patch_waves[first + static_cast<std::size_t>(p.nwave) - 1];
    q.pixels = PixelWindow{p.x0, p.x1, p.y0, p.y1};
    out.patches.push_back(q);
  }
  return out;
}

}  // namespace libextract
