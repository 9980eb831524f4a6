// A CCD image ready for extraction: pixels and inverse variance, float64, with the
// mask already folded into the ivar (ivar = 0 marks a pixel that carries nothing).
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstdint>
#include <string>
#include <vector>

namespace libextract {

// The preproc MASK bits that exclude a pixel from the extraction: desispec's extraction
// mask value (desispec.maskbits.extractmaskval = 767), every ccdmask bit (BAD 1, HOT 2,
// DEAD 4, SATURATED 8, COSMIC 16, PIXFLATZERO 32, PIXFLATLOW 64, HIGHVAR 128, BADAMP 512)
// but BADREADNOISE (256): pixels flagged only BADREADNOISE are extracted, as desispec
// does. The CLI's --mask-bits and Python's mask_bits= default to it.
constexpr std::uint32_t default_extract_mask_bits = 767;

// `bits` as a mask value (0..2^32-1); throws Error(invalid_argument) naming `option`.
std::uint32_t checked_mask_bits(long long bits, const std::string& option);

struct Image {
  int nrows = 0;               // CCD rows (y, FITS NAXIS2)
  int ncols = 0;               // CCD columns (x, FITS NAXIS1)
  std::vector<double> pixels;  // [nrows][ncols], electrons
  std::vector<double> ivar;    // [nrows][ncols], 1/electrons^2; 0 = masked
  // [nrows][ncols] DESI MASK bits as read (1 = bad, 16 = cosmic, ...), or empty. The
  // extraction uses only ivar; the mask is kept for tools and for writing it back.
  std::vector<std::int32_t> mask;

  // Provenance, carried into the frame file.
  std::string path;                       // the preproc file, if read from one
  std::vector<std::string> header_cards;  // IMAGE header cards worth propagating
  bool has_fibermap = false;              // the preproc file has a FIBERMAP HDU
  long long nonfinite_pixels = 0;         // NaN/Inf pixels or ivar, masked on read
  long long ivar_out_of_range = 0;        // ivar outside 0..max_ivar (negative too), masked on read
  long long masked_pixels = 0;            // pixels with ivar = 0 after folding the mask

  double& pixel(int y, int x) { return pixels[static_cast<std::size_t>(y) * ncols + x]; }
  double pixel(int y, int x) const { return pixels[static_cast<std::size_t>(y) * ncols + x]; }
};

// IVAR's valid range is 0 <= ivar <= max_ivar (1e20, a noise of 1e-10 electrons: far
// beyond any CCD).
constexpr double max_ivar = 1e20;

// The pixel rules of every extraction input, the CLI's and Python's alike: a NaN/Inf
// value or ivar is masked (value 0, ivar 0) and counted in nonfinite_pixels; an ivar
// outside 0..max_ivar (a negative one included) is masked (ivar 0) and counted in
// ivar_out_of_range, so one absurd pixel cannot fail patches. masked_pixels is recounted.
void apply_pixel_rules(Image& image);

// Reads a DESI preproc file: HDUs IMAGE, IVAR and MASK (ivar set to 0 where
// MASK & mask_bits != 0, desispec's ivar * ((mask & extractmaskval) == 0)), FIBERMAP
// noted when present; .fits.gz too; then apply_pixel_rules. Throws Error naming the
// file and HDU.
Image read_preproc(const std::string& path, std::uint32_t mask_bits = default_extract_mask_bits);

// Writes an image in the preproc layout (IMAGE f4 with header_cards, IVAR f4, MASK i4:
// image.mask when it is set, else 1 where ivar == 0), through a temporary file. NaN/Inf,
// or values that overflow float32, are refused (Error naming the HDU).
void write_preproc(const std::string& path, const Image& image);

// The same plus a FIBERMAP table, one row per fibre of `fibermap_fibers` (FIBER), with
// the columns desispec reads in its types: TARGETID = 1000000 + FIBER, PETAL_LOC,
// DEVICE_LOC, LOCATION, FIBERSTATUS 0, TARGET_RA/DEC, OBJTYPE ('SKY' for FIBER % 10 ==
// 9, else 'TGT'), FIBERASSIGN_X/Y.
void write_preproc(const std::string& path, const Image& image, const std::vector<int>& fibermap_fibers);

}  // namespace libextract
