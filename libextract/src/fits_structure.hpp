// Checks the structure a FITS file's headers claim against the bytes it really holds,
// before CFITSIO opens it or anything is allocated from a header: every HDU's BITPIX,
// NAXIS, NAXISn, PCOUNT and GCOUNT must be sane and its data must lie inside the file
// (for a .gz, inside the decompressed stream, which may not exceed a cap). A header
// that would crash CFITSIO (NAXIS above 99: CFITSIO 4.2 segfaults in its open) or make
// it allocate gigabytes for a tiny file is refused with a message naming file and HDU.
#pragma once

#include <cstdint>
#include <string>

namespace libextract {
namespace detail {

// The most decompressed bytes a gzip-compressed input may hold: 2 GiB, or
// LIBEXTRACT_MAX_GZIP_BYTES (a positive integer, bytes) when that is set.
std::uint64_t gzip_size_cap();

// Throws Error(format_error) naming `path` and the HDU when a header is malformed or
// claims more data than the file holds; Error(io_error) when the file cannot be read.
void check_fits_structure(const std::string& path);

}  // namespace detail
}  // namespace libextract
