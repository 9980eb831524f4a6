#include "dependency_cards.hpp"

#include <fitsio.h>

#include <cstdio>

#include "libextract/errors.hpp"
#include "libextract/version.hpp"

namespace libextract {

std::string cfitsio_version() {
  float number = 0.0f;
  fits_get_version(&number);
  // CFITSIO encodes X.Y.Z as X + Y/100 + Z/10000 (4.2.0 -> 4.02).
  const int scaled = static_cast<int>(number * 10000.0f + 0.5f);
  return std::to_string(scaled / 10000) + "." + std::to_string(scaled / 100 % 100) + "." +
         std::to_string(scaled % 100);
}

namespace detail {

void set_dependency(FitsFile& file, const std::string& name, const std::string& version) {
  for (int nn = 0; nn < 100; ++nn) {
    char name_key[16], version_key[16];
    std::snprintf(name_key, sizeof name_key, "DEPNAM%02d", nn);
    std::snprintf(version_key, sizeof version_key, "DEPVER%02d", nn);
    const std::optional<std::string> existing = file.read_key_string(name_key);
    if (existing && *existing != name) continue;
    if (!existing) file.write_key(name_key, name);
    file.write_key(version_key, version);
    return;
  }
  throw Error(ErrorCode::format_error, file.path() + ", " + file.hdu_label() +
                                           ": DEPNAM00..DEPNAM99 are all taken; cannot record " + name);
}

void set_libextract_dependencies(FitsFile& file) {
  set_dependency(file, "libextract", version());
  set_dependency(file, "cfitsio", cfitsio_version());
}

}  // namespace detail
}  // namespace libextract
