// Batched evaluation of PSF spots (pixel-integrated Gauss-Hermite stamps).
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <string>
#include <vector>

#include "libextract/backend.hpp"
#include "libextract/psf.hpp"

namespace libextract {

// Which code's rules to follow where specter and gpu_specter differ.
enum class Compat { gpu_specter, specter };
Compat parse_compat(const std::string& text, const std::string& option = "--compat");
const char* to_string(Compat compat) noexcept;

// Half-open CCD rectangle [xmin, xmax) x [ymin, ymax).
struct PixelWindow {
  int xmin = 0;
  int xmax = 0;
  int ymin = 0;
  int ymax = 0;
};

struct SpotRequest {
  int fiber = 0;
  double wavelength = 0.0;
  bool has_window = false;  // false: the whole CCD (specter) or no cut (gpu_specter)
  PixelWindow window;
};

// Stamps cut to their windows, each in a zero-padded cell of ny_max x nx_max
// (2*hsize_y+1 rows, 2*hsize_x+1 columns): value (j, i) of spot s is pixel
// (ylo[s]+j, xlo[s]+i) and is valid for j < ny[s], i < nx[s]. Empty spots have
// nx = ny = 0 and xlo = ylo = -1.
struct SpotBatch {
  int nx_max = 0;
  int ny_max = 0;
  std::vector<double> x;  // trace centre of each request
  std::vector<double> y;
  std::vector<int> xlo, ylo, nx, ny;
  std::vector<double> values;  // size() * ny_max * nx_max

  std::size_t size() const { return x.size(); }
  const double* stamp(std::size_t s) const { return values.data() + s * ny_max * nx_max; }
};

// Evaluates every request on the chosen backend. Results are bitwise identical on
// every backend, thread count and request order. Throws Error(invalid_argument)
// naming the request for a fibre outside the PSF or a non-finite wavelength.
SpotBatch evaluate_spots(const Psf& psf, const std::vector<SpotRequest>& requests, Compat compat,
                         const Backend& backend = Backend{});

}  // namespace libextract
