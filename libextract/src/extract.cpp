// extract_frame: the whole frame in one process, as the composition of the parts in
// extract_parts.cpp (plan, batches of patches on the backend, stitch in plan order),
// so a frame split over processes is bitwise the same as this one.
#include "libextract/extract.hpp"

#include "libextract/extract_parts.hpp"
#include "out_of_memory.hpp"

namespace libextract {

Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options, ExtractReport* report,
                    const ProgressCallback& progress) {
  return detail::naming_allocation_failure("extracting the frame of " + image.path, [&] {
    ExtractionParts parts(image, psf, options);
    const int total = parts.patch_count();
    parts.solve_range(0, total, [&](SolvedPatches&& block) {
      parts.stitch(block);
      if (progress) progress(block.first() + block.count(), total);
    });
    return parts.finish(report);
  });
}

}  // namespace libextract
