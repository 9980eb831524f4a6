// The pixel rules every way into an extraction shares (read_preproc, the Python
// bindings): see image.hpp.
#include <cmath>

#include "libextract/image.hpp"

namespace libextract {

void apply_pixel_rules(Image& image) {
  image.nonfinite_pixels = 0;
  image.ivar_out_of_range = 0;
  image.masked_pixels = 0;
  const std::size_t n = image.pixels.size() < image.ivar.size() ? image.pixels.size() : image.ivar.size();
  for (std::size_t k = 0; k < n; ++k) {
    double& value = image.pixels[k];
    double& ivar = image.ivar[k];
    if (!std::isfinite(value) || !std::isfinite(ivar)) {
      ++image.nonfinite_pixels;
      value = 0.0;
      ivar = 0.0;
    } else if (!(ivar >= 0.0 && ivar <= max_ivar)) {
      // One absurd weight would dominate (and fail) every patch that sees it.
      ++image.ivar_out_of_range;
      ivar = 0.0;
    }
    image.masked_pixels += (ivar == 0.0);
  }
}

}  // namespace libextract
