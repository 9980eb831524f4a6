// DEPNAMnn/DEPVERnn header cards: which software (and which version) made a file, the
// way desiutil.depend.setdep records them in desispec's outputs.
#pragma once

#include <string>

#include "fits_file.hpp"

namespace libextract {
namespace detail {

// Records `name` at `version` in the current header: an existing DEPNAMnn == name gets
// its DEPVERnn updated; otherwise the first nn (00..99) with no DEPNAMnn is taken. So
// the cards copied from an input come first and keep their numbers. Throws
// Error(format_error) naming the file when all 100 pairs are taken by other names.
void set_dependency(FitsFile& file, const std::string& name, const std::string& version);

// The pairs every file libextract writes carries: libextract (its PEP 440 version) and
// CFITSIO.
void set_libextract_dependencies(FitsFile& file);

}  // namespace detail
}  // namespace libextract
