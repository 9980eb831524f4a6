// The Gauss-Hermite PSF of a DESI spectrograph camera (specex files, layouts v2 and v3).
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace libextract {

namespace detail {
struct PsfModel;  // coefficient tables and derived maps; see src/psf_model.hpp
}

class Psf {
 public:
  // Reads a GAUSS-HERMITE PSF (v3: XTRACE/YTRACE/PSF HDUs; v2: one table with X/Y rows;
  // .fits.gz too). Throws Error naming the file and the HDU/keyword at fault.
  static Psf load(const std::string& path);
  // The same from the file's bytes already in memory (the MPI dispatcher reads a PSF
  // once and broadcasts it); `path` is only used in messages and Psf::path().
  static Psf load_from_memory(const std::string& path, const void* data, std::size_t size);

  Psf(Psf&&) noexcept;
  Psf& operator=(Psf&&) noexcept;
  Psf(const Psf&);
  Psf& operator=(const Psf&);
  ~Psf();

  const std::string& path() const;
  int format_version() const;  // 2 or 3 (PSFVER)
  int nspec() const;           // fibres, FIBERMAX - FIBERMIN + 1
  int npix_x() const;          // CCD columns
  int npix_y() const;          // CCD rows
  int hsize_x() const;         // stamp half width: stamps have 2*hsize_x+1 columns
  int hsize_y() const;
  int ghdeg_x() const;
  int ghdeg_y() const;
  int legendre_ncoef() const;  // coefficients per shape parameter
  int trace_ncoef() const;     // coefficients per trace
  // Fractional PSF model error used in chi2pix: PSFERR when present, else 0.01
  // (PSFERROR, what specex writes, is a different quantity and is ignored).
  double psferr() const;
  bool psferr_in_file() const;

  // Legendre domains: the shape parameters' (PSF HDU) and the traces' (XTRACE/YTRACE).
  double wavemin() const;
  double wavemax() const;
  double trace_wavemin() const;
  double trace_wavemax() const;

  // Trace centre in pixels (pixel centres at integers). Fibre is 0-based.
  double x(int fiber, double wavelength) const;
  double y(int fiber, double wavelength) const;
  // Inverse trace wavelength(fiber, y), the least-squares Legendre fit of specter.
  double wavelength(int fiber, double y) const;
  // Valid range of a fibre: wavelengths whose trace crosses y = -0.5 and NPIX_Y - 0.5.
  double wavemin_fiber(int fiber) const;
  double wavemax_fiber(int fiber) const;
  double wmin() const;      // min over fibres of wavemin_fiber
  double wmax() const;      // max over fibres of wavemax_fiber
  double wmin_all() const;  // max over fibres of wavemin_fiber
  double wmax_all() const;  // min over fibres of wavemax_fiber
  // Dispersion helpers of specter: Angstrom per row, and the line width in Angstrom.
  double angstroms_per_pixel(int fiber, double wavelength) const;
  double wdisp(int fiber, double wavelength) const;

  // Any table parameter ("GHSIGX", "GH-1-0", "TAILAMP", ...) at (fiber, wavelength).
  double param(const std::string& name, int fiber, double wavelength) const;
  std::vector<std::string> param_names() const;

  // Internal tables for the backends; not part of the stable API.
  const detail::PsfModel& model() const { return *model_; }

 private:
  explicit Psf(std::shared_ptr<const detail::PsfModel> model);
  std::shared_ptr<const detail::PsfModel> model_;
};

}  // namespace libextract
