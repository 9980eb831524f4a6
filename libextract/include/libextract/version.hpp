// Versions of this build and of the libraries it uses, as frame headers record them
// (LIBEXTV, DEPNAMnn/DEPVERnn) and `libextract --version` prints them.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <string>

namespace libextract {

// The PEP 440 version of this build: "X.Y.Z+g<commit>" built from a git checkout
// ("X.Y.Z+g<commit>.dirty" with uncommitted changes to tracked files), "X.Y.Z" from an
// sdist. X.Y.Z alone is LIBEXTRACT_VERSION_STRING (config.hpp).
const char* version() noexcept;

// The version of the CFITSIO library this build reads and writes FITS with ("4.2.0").
std::string cfitsio_version();

}  // namespace libextract
