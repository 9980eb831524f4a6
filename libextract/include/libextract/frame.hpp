// The extracted frame: fluxes, inverse variances and resolution data of nspec fibres
// on one wavelength grid, in DESI's units (electrons/Angstrom).
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libextract/options.hpp"

namespace libextract {

// desispec's spectrum mask bits (desispec.maskbits.specmask).
enum SpecMaskBit : std::uint32_t {
  specmask_somebadpix = 1u << 0,    // pixmask_fraction > 0.5
  specmask_allbadpix = 1u << 1,     // pixmask_fraction == 1
  specmask_bad2dfit = 1u << 7,      // chi2pix > 5 x both medians
  specmask_extractfail = 1u << 11,  // libextract: the patch's solve failed twice (ivar = 0)
};

struct Frame {
  int specmin = 0;
  int nspec = 0;
  int nwave = 0;
  int ndiag = 0;                         // resolution half-width: 2*ndiag+1 diagonals
  std::vector<double> wave;              // [nwave], Angstrom
  std::vector<double> flux;              // [nspec][nwave], electrons/Angstrom
  std::vector<double> ivar;              // [nspec][nwave], (electrons/Angstrom)^-2
  std::vector<std::uint32_t> mask;       // [nspec][nwave], SpecMaskBit
  std::vector<double> resolution;        // [nspec][2*ndiag+1][nwave], DIA layout
  std::vector<double> chi2pix;           // [nspec][nwave]
  std::vector<double> pixmask_fraction;  // [nspec][nwave]

  bool has_model = false;
  int model_rows = 0, model_cols = 0;
  std::vector<double> model;  // [model_rows][model_cols], electrons/pixel

  // Provenance written into the frame header.
  std::optional<WavelengthGrid> grid;  // the requested -w values, for WAVEMIN/WAVEMAX/WAVESTEP
                                       // (absent: wave's first, last and first step)
  std::string psf_path, image_path, compat;
  double psferr = 0.01;
  int patches = 0;                        // patches solved (header NPATCH)
  int failed_patches = 0;                 // of which failed twice, their bins ivar 0 (header NPATFAIL)
  std::vector<std::string> header_cards;  // copied from the input image
};

enum class FloatType { f4, f8 };

struct FrameWriteOptions {
  FloatType dtype = FloatType::f4;  // f8: every float HDU in float64 (validation)
  std::string fibermap_source;      // a FITS file whose FIBERMAP HDU is copied, if any
  // Copy exactly rows [specmin, specmin+nspec) of it, as desi_extract_spectra does with
  // -f/--fibermap (else the rows are found as write_frame describes).
  bool fibermap_rows_from_specmin = false;
};

// Writes the frame with desispec's HDUs in desispec's order (FLUX, IVAR, MASK,
// WAVELENGTH, RESOLUTION, FIBERMAP, CHI2PIX) then PIXMASK_FRACTION, CFITSIO checksums,
// through a temporary name renamed on success.
void write_frame(const std::string& path, const Frame& frame, const FrameWriteOptions& options = {});

// Reads a frame written by write_frame (any float type) back, for tests and tools; also
// desispec frames and the shared reference outputs (absent MASK, CHI2PIX or
// PIXMASK_FRACTION are left empty).
Frame read_frame(const std::string& path);

// Writes a model image (float64, full CCD) with the frame's provenance keywords.
void write_model_image(const std::string& path, const Frame& frame);

// The files of one extraction, committed together. Each stage_* writes a temporary
// "<path>.tmp-<host>-<pid>"; commit() removes an older frame of the same name, renames
// the model and text files, and the frame last: the frame is the commit marker, so a
// reader who finds it finds the model and timing report of the same run. Destroyed
// before commit(), it removes every temporary and leaves the old files alone.
class FrameOutputs {
 public:
  FrameOutputs();
  ~FrameOutputs();
  FrameOutputs(const FrameOutputs&) = delete;
  FrameOutputs& operator=(const FrameOutputs&) = delete;
  void stage_frame(const std::string& path, const Frame& frame, const FrameWriteOptions& options = {});
  void stage_model(const std::string& path, const Frame& frame);
  void stage_text(const std::string& path, const std::string& text);
  void commit();

 private:
  struct Staged;
  std::unique_ptr<Staged> staged_;
};

// desispec's get_spectrum_mask: SOMEBADPIX, ALLBADPIX and BAD2DFIT from chi2pix and
// pixmask_fraction; fills frame.mask (keeping bits already set).
void compute_spectrum_mask(Frame& frame);

}  // namespace libextract
