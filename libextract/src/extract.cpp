// extract_frame: the whole frame in one process, as the composition of the parts in
// extract_parts.cpp (plan, batches of patches on the backend, stitch in plan order),
// so a frame split over processes is bitwise the same as this one.
#include "libextract/extract.hpp"

#include <algorithm>

#include "libextract/extract_parts.hpp"

namespace libextract {

Frame extract_frame(const Image& image, const Psf& psf, const ExtractOptions& options, ExtractReport* report,
                    const ProgressCallback& progress) {
  ExtractionParts parts(image, psf, options);
  const int total = parts.patch_count();
  const int batch = parts.batch_size();
  for (int first = 0; first < total; first += batch) {
    const int count = std::min(batch, total - first);
    parts.stitch(parts.solve(first, count));
    if (progress) progress(first + count, total);
  }
  return parts.finish(report);
}

}  // namespace libextract
