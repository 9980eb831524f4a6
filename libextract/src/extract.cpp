// extract_frame: the whole frame in one process, as the composition of the parts in
// extract_parts.cpp (plan, batches of patches on the backend, stitch in plan order),
// so a frame split over processes is bitwise the same as this one.
#include "libextract/extract.hpp"

#include <string>

#include "libextract/extract_parts.hpp"
#include "out_of_memory.hpp"
#include "libextract/log.hpp"

namespace libextract {

Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options, ExtractReport* report,
                    const ProgressCallback& progress) {
  ExtractReport local;
  ExtractReport& r = report ? *report : local;
  Frame frame = detail::naming_allocation_failure("extracting the frame of " + image.path, [&] {
    ExtractionParts parts(image, psf, options);
    const int total = parts.patch_count();
    parts.solve_range(0, total, [&](SolvedPatches&& block) {
      parts.stitch(block);
      if (progress) progress(block.first() + block.count(), total);
    });
    return parts.finish(&r);
  });
  // Logged here, not in the lambda, so that the record names this function.
  if (r.failed_patches > 0) {
    LIBEXTRACT_LOG_WARNING(image.path + ": " + std::to_string(r.failed_patches) + " of " +
                           std::to_string(r.patches) + " patches failed; their fibres have ivar 0 there");
  }
  LIBEXTRACT_LOG_DEBUG(image.path + ": " + std::to_string(r.patches) + " patches on " + r.backend + " in " +
                       std::to_string(r.seconds) + " s");
  return frame;
}

}  // namespace libextract
