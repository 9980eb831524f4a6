// The extraction grid "wmin,wmax,dw" built exactly as numpy.arange(wmin, wmax + dw/2, dw)
// (gpu_specter-spec §4.1), so that our WAVELENGTH HDU equals the references' bit for bit.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "libextract/errors.hpp"
#include "libextract/options.hpp"
#include "patch_plan.hpp"  // detail::numpy_arange

namespace libextract {

namespace {

// Far more than any camera (DESI: < 3000 bins); a larger count means a typo in -w.
constexpr double max_bins = 1e6;

[[noreturn]] void bad_grid(const WavelengthGrid& grid, const std::string& why) {
  std::ostringstream text;
  text.precision(17);
  text << "-w/--wavelength: grid " << grid.wmin << "," << grid.wmax << "," << grid.dw << " " << why;
  throw Error(ErrorCode::invalid_argument, text.str());
}

}  // namespace

std::vector<double> make_wavelength_grid(const WavelengthGrid& grid) {
  const double wmin = grid.wmin, wmax = grid.wmax, dw = grid.dw;
  if (!std::isfinite(wmin) || !std::isfinite(wmax) || !std::isfinite(dw)) bad_grid(grid, "is not finite");
  if (!(dw > 0.0)) bad_grid(grid, "needs a positive step dw");
  if (wmax < wmin) bad_grid(grid, "has wmax below wmin");
  // NumPy's arange(wmin, wmax + dw/2, dw): the length check here, the values (first
  // two exact, then start + i·((start + step) − start)) from detail::numpy_arange.
  const double stop = wmax + 0.5 * dw;
  const double span = stop - wmin;
  if (!(std::ceil(span / dw) <= max_bins)) bad_grid(grid, "has more than 1e6 bins");
  return detail::numpy_arange(wmin, stop, dw);
}

namespace {

// Python's repr of a float: the fewest digits that round-trip, with a ".0" on integers.
std::string shortest(double value) {
  for (int digits = 15;; ++digits) {
    char text[40];
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (digits == 17 || std::strtod(text, nullptr) == value) {
      std::string out(text);
      if (out.find_first_of(".en") == std::string::npos) out += ".0";
      return out;
    }
  }
}

}  // namespace

std::string to_string(const WavelengthGrid& grid) {
  return shortest(grid.wmin) + "," + shortest(grid.wmax) + "," + shortest(grid.dw);
}

WavelengthGrid parse_wavelength_grid(const std::string& text, const std::string& option) {
  std::vector<double> values;
  std::stringstream stream(text);
  std::string item;
  bool ok = true;
  while (std::getline(stream, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(v)) ok = false;
    values.push_back(v);
  }
  if (!ok || values.size() != 3 || (!text.empty() && text.back() == ',')) {
    throw Error(ErrorCode::invalid_argument, option + ": '" + text + "' is not wmin,wmax,dw (three numbers)");
  }
  return WavelengthGrid{values[0], values[1], values[2]};
}

}  // namespace libextract
