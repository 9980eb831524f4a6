// File products of libextract that are not frames (spot tables, synthetic PSFs), and
// the check that no two file arguments name one file.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstdint>
#include <string>
#include <vector>

#include "libextract/psf.hpp"
#include "libextract/spots.hpp"

namespace libextract {

// Writes the spots of `requests` in the layout of the reference spot tables: HDU SPOTS
// (FIBER, WAVELENGTH, X, Y, WXMIN, WXMAX, WYMIN, WYMAX, XLO, YLO, NX, NY, SPOT with
// TDIM (nx_max, ny_max)) and HDU WRANGE (FIBER, WAVEMIN, WAVEMAX of every fibre).
// Written to a temporary name and renamed, so a failure leaves no partial file.
void write_spot_table(const std::string& path, const Psf& psf, const std::vector<SpotRequest>& requests,
                      const SpotBatch& spots, Compat compat);

// A DESI-like camera for tests and demos that need no external data.
struct SyntheticPsfOptions {
  std::uint64_t seed = 1;
  int nspec = 500;          // fibres (25 per bundle, with gaps between bundles)
  int npix_x = 4114;        // CCD columns
  int npix_y = 4128;        // CCD rows
  double wavemin = 5543.0;  // Legendre domain of the traces (the PSF table's is 1 A wider)
  double wavemax = 7826.0;
  int hsize_x = 8;  // stamps of (2*hsize_y+1) x (2*hsize_x+1) pixels
  int hsize_y = 5;
  int ghdeg = 6;   // Hermite degree along both axes
  int legdeg = 3;  // Legendre degree of the shape parameters
};

// DESI's wavelength domains for the three cameras: 'b', 'r' or 'z'.
SyntheticPsfOptions synthetic_psf_for_camera(char camera);

// Writes a v3-layout GAUSS-HERMITE PSF (XTRACE, YTRACE, PSF) with smooth traces, a
// fibre "smile", realistic widths and small Hermite terms drawn from `seed`.
void write_synthetic_psf(const std::string& path, const SyntheticPsfOptions& options);

// A file argument and what named it ("-o/--output", "line 3 output").
struct NamedFile {
  std::string option;
  std::string path;  // empty: not given, ignored
};

// Throws Error(invalid_argument) naming both options when two of `files` are one file:
// the same (st_dev, st_ino) for files that exist, the same real folder and name for
// files yet to be written. Called before anything is written, so no output can
// overwrite an input or another output.
void require_distinct_files(const std::vector<NamedFile>& files);

}  // namespace libextract
