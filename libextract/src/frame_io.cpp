// The frame file in desispec's layout (extraction-spec §5.2): FLUX, IVAR, MASK,
// WAVELENGTH, RESOLUTION, FIBERMAP, CHI2PIX, then PIXMASK_FRACTION, each HDU with
// CFITSIO checksums, written through a temporary name so no partial frame is left.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dependency_cards.hpp"
#include "fits_file.hpp"
#include "libextract/config.hpp"
#include "libextract/errors.hpp"
#include "libextract/frame.hpp"
#include "libextract/version.hpp"

namespace libextract {

namespace {

using detail::FitsFile;

std::size_t count(int a, int b) {
  return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

void require_size(const std::string& path, const char* hdu, std::size_t got, std::size_t want) {
  if (got != want) {
    throw Error(ErrorCode::invalid_argument, path + ", HDU " + std::string(hdu) + ": the frame holds " +
                                                 std::to_string(got) + " values where " +
                                                 std::to_string(want) + " are expected");
  }
}

// "Never write NaN silently": every value must be finite, also after the float32 cast.
void require_finite(const std::string& path, const char* hdu, const std::vector<double>& values, int ncols,
                    FloatType dtype) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    const double v = values[k];
    const bool finite = dtype == FloatType::f4 ? std::isfinite(static_cast<float>(v)) : std::isfinite(v);
    if (!finite) {
      throw Error(ErrorCode::numerical_error,
                  path + ", HDU " + std::string(hdu) + ": value " + std::to_string(v) + " at row " +
                      std::to_string(k / ncols) + ", column " + std::to_string(k % ncols) + " is not finite" +
                      (dtype == FloatType::f4 ? " in float32" : "") + "; refusing to write the frame");
    }
  }
}

void validate(const std::string& path, const Frame& f, FloatType dtype) {
  if (f.nspec <= 0 || f.nwave <= 0 || f.ndiag < 0) {
    throw Error(ErrorCode::invalid_argument, path + ": frame has nspec = " + std::to_string(f.nspec) +
                                                 ", nwave = " + std::to_string(f.nwave) +
                                                 ", ndiag = " + std::to_string(f.ndiag));
  }
  const std::size_t plane = count(f.nspec, f.nwave);
  require_size(path, "FLUX", f.flux.size(), plane);
  require_size(path, "IVAR", f.ivar.size(), plane);
  if (!f.mask.empty()) require_size(path, "MASK", f.mask.size(), plane);
  require_size(path, "WAVELENGTH", f.wave.size(), static_cast<std::size_t>(f.nwave));
  require_size(path, "RESOLUTION", f.resolution.size(), plane * static_cast<std::size_t>(2 * f.ndiag + 1));
  require_size(path, "CHI2PIX", f.chi2pix.size(), plane);
  require_size(path, "PIXMASK_FRACTION", f.pixmask_fraction.size(), plane);
  require_finite(path, "FLUX", f.flux, f.nwave, dtype);
  require_finite(path, "IVAR", f.ivar, f.nwave, dtype);
  require_finite(path, "WAVELENGTH", f.wave, f.nwave, FloatType::f8);
  require_finite(path, "RESOLUTION", f.resolution, f.nwave, dtype);
  require_finite(path, "CHI2PIX", f.chi2pix, f.nwave, dtype);
  require_finite(path, "PIXMASK_FRACTION", f.pixmask_fraction, f.nwave, dtype);
}

void write_float_image(FitsFile& file, const std::vector<long>& shape, const std::vector<double>& values,
                       FloatType dtype) {
  if (dtype == FloatType::f8) {
    file.write_image_double(shape, values.data());
  } else {
    const std::vector<float> narrow(values.begin(), values.end());
    file.write_image_float(shape, narrow.data());
  }
}

// The keywords that say where a frame (or its model image) came from; the input
// image's cards first, so ours win where both have a keyword.
void write_provenance(FitsFile& file, const Frame& f) {
  file.write_cards(f.header_cards);
  file.write_key("NSPEC", static_cast<long long>(f.nspec), "number of spectra");
  file.write_key("FIBERMIN", static_cast<long long>(f.specmin), "first fibre (specmin)");
  const double wavemin = f.grid ? f.grid->wmin : f.wave.front();
  const double wavemax = f.grid ? f.grid->wmax : f.wave.back();
  const double wavestep = f.grid ? f.grid->dw : (f.nwave > 1 ? f.wave[1] - f.wave[0] : 0.0);
  file.write_key("WAVEMIN", wavemin, "first wavelength [Angstrom]");
  file.write_key("WAVEMAX", wavemax, "last wavelength [Angstrom]");
  file.write_key("WAVESTEP", wavestep, "wavelength step [Angstrom]");
  // As the reference outputs name them; also replaces the simulator's cards of the
  // same names, which describe the input image rather than this frame.
  file.write_key("SPECMIN", static_cast<long long>(f.specmin), "first fibre");
  file.write_key("WAVEGRID", to_string(WavelengthGrid{wavemin, wavemax, wavestep}), "wmin,wmax,dw");
  file.write_key_long_string("IN_PSF", f.psf_path, "input PSF");
  file.write_key_long_string("IN_IMG", f.image_path, "input preproc image");
  file.write_key("LIBEXTV", std::string(version()), "libextract version (PEP 440)");
  file.write_key("COMPAT", f.compat, "extraction rules followed");
  file.write_key("PSFERR", f.psferr, "PSF model error used in CHI2PIX");
  if (f.patches > 0) {
    file.write_key("NPATCH", static_cast<long long>(f.patches), "patches solved");
    file.write_key("NPATFAIL", static_cast<long long>(f.failed_patches),
                   "patches failed (their bins ivar 0)");
  }
  detail::set_libextract_dependencies(file);  // after the input's cards: their DEPNAMnn keep their nn
}

// Opens the FIBERMAP source and checks that it covers the frame's fibres, before any
// output exists. Kept: the consecutive rows whose FIBER is specmin..specmin+nspec-1 (a
// table written for some fibres, e.g. by `libextract simulate`); else rows
// [specmin, specmin+nspec), as desi_extract_spectra slices a full-petal fibermap (whose
// FIBER counts over all petals); else a table of exactly nspec rows, whole.
struct FibermapSource {
  std::optional<FitsFile> file;
  long long first = 0, keep = 0, rows = 0;
};

FibermapSource open_fibermap(const std::string& source, const Frame& f, bool rows_from_specmin) {
  FibermapSource s;
  if (source.empty()) return s;
  s.file.emplace(FitsFile::open_read(source));
  if (!s.file->try_move_to("FIBERMAP")) {
    throw Error(ErrorCode::format_error,
                source + ": HDU FIBERMAP is missing (FrameWriteOptions::fibermap_source)");
  }
  if (s.file->current_is_image()) {
    throw Error(ErrorCode::format_error, source + ", " + s.file->hdu_label() + ": is not a table");
  }
  s.rows = s.file->row_count();
  s.keep = f.nspec;
  if (rows_from_specmin) {
    if (s.rows < f.specmin + static_cast<long long>(f.nspec)) {
      throw Error(ErrorCode::format_error, source + ", " + s.file->hdu_label() + ": " +
                                               std::to_string(s.rows) + " rows, too few for rows " +
                                               std::to_string(f.specmin) + ".." +
                                               std::to_string(f.specmin + f.nspec - 1) + " (-f/--fibermap)");
    }
    s.first = f.specmin;
    return s;
  }
  long long by_fiber = -1;
  if (s.file->has_column("FIBER")) {
    const std::vector<long long> fiber = s.file->read_column_int("FIBER");
    for (long long r = 0; r + f.nspec <= s.rows && by_fiber < 0; ++r) {
      bool run = true;
      for (int i = 0; i < f.nspec && run; ++i) run = fiber[r + i] == f.specmin + i;
      if (run) by_fiber = r;
    }
  }
  if (by_fiber >= 0) {
    s.first = by_fiber;
  } else if (s.rows >= f.specmin + static_cast<long long>(f.nspec)) {
    s.first = f.specmin;
  } else if (s.rows != f.nspec) {
    throw Error(ErrorCode::format_error, source + ", " + s.file->hdu_label() + ": " + std::to_string(s.rows) +
                                             " rows cannot describe fibres " + std::to_string(f.specmin) +
                                             ".." + std::to_string(f.specmin + f.nspec - 1));
  }
  return s;
}

void write_fibermap(FitsFile& file, const Frame& f, FibermapSource& source) {
  if (source.file) {
    file.copy_hdu_from(*source.file);
    file.delete_rows(source.first + source.keep, source.rows - source.first - source.keep);
    file.delete_rows(0, source.first);
  } else {
    // A minimal table, so that readers which need a FIBERMAP find the fibre numbers.
    std::vector<int> fiber(static_cast<std::size_t>(f.nspec));
    for (int i = 0; i < f.nspec; ++i) fiber[i] = f.specmin + i;
    file.create_table("FIBERMAP", f.nspec, {FitsFile::ColumnSpec{"FIBER", "J", ""}});
    file.write_column_int(1, f.nspec, fiber.data());
  }
  file.write_checksum();
}

}  // namespace

namespace {

// The frame's HDUs into `output`'s temporary (not yet renamed).
void write_frame_temporary(detail::AtomicOutput& output, const Frame& frame,
                           const FrameWriteOptions& options) {
  const std::string& path = output.final_path();
  const FloatType dtype = options.dtype;
  validate(path, frame, dtype);
  FibermapSource fibermap = open_fibermap(options.fibermap_source, frame, options.fibermap_rows_from_specmin);
  const std::vector<long> plane = {frame.nspec, frame.nwave};
  std::vector<std::uint32_t> mask = frame.mask;
  if (mask.empty()) mask.assign(count(frame.nspec, frame.nwave), 0u);
  {
    FitsFile file = FitsFile::create(output.temp_path());
    write_float_image(file, plane, frame.flux, dtype);
    file.write_key("EXTNAME", std::string("FLUX"));
    write_provenance(file, frame);
    file.write_key("BUNIT", std::string("electron/Angstrom"));
    file.write_checksum();

    write_float_image(file, plane, frame.ivar, dtype);
    file.write_key("EXTNAME", std::string("IVAR"));
    file.write_key("BUNIT", std::string("electron**-2 Angstrom**2"));
    file.write_checksum();

    file.write_image_uint32(plane, mask.data());
    file.write_key("EXTNAME", std::string("MASK"));
    file.write_checksum();

    file.write_image_double({frame.nwave}, frame.wave.data());
    file.write_key("EXTNAME", std::string("WAVELENGTH"));
    file.write_key("BUNIT", std::string("Angstrom"));
    file.write_checksum();

    write_float_image(file, {frame.nspec, 2 * frame.ndiag + 1, frame.nwave}, frame.resolution, dtype);
    file.write_key("EXTNAME", std::string("RESOLUTION"));
    file.write_checksum();

    write_fibermap(file, frame, fibermap);

    write_float_image(file, plane, frame.chi2pix, dtype);
    file.write_key("EXTNAME", std::string("CHI2PIX"));
    file.write_checksum();

    write_float_image(file, plane, frame.pixmask_fraction, dtype);
    file.write_key("EXTNAME", std::string("PIXMASK_FRACTION"));
    file.write_checksum();
    file.close();
  }
  output.finish();
}

void write_model_temporary(detail::AtomicOutput& output, const Frame& frame) {
  const std::string& path = output.final_path();
  if (!frame.has_model || frame.model_rows <= 0 || frame.model_cols <= 0 ||
      frame.model.size() != count(frame.model_rows, frame.model_cols)) {
    throw Error(ErrorCode::invalid_argument,
                path + ": the frame has no model image (extract with model = true)");
  }
  require_finite(path, "MODEL", frame.model, frame.model_cols, FloatType::f8);
  {
    FitsFile file = FitsFile::create(output.temp_path());
    file.write_image_double({frame.model_rows, frame.model_cols}, frame.model.data());
    file.write_key("EXTNAME", std::string("MODEL"));
    write_provenance(file, frame);
    file.write_key("BUNIT", std::string("electron"));
    file.write_checksum();
    file.close();
  }
  output.finish();
}

}  // namespace

void write_frame(const std::string& path, const Frame& frame, const FrameWriteOptions& options) {
  detail::AtomicOutput output(path);
  write_frame_temporary(output, frame, options);
  output.commit();
}

void write_model_image(const std::string& path, const Frame& frame) {
  detail::AtomicOutput output(path);
  write_model_temporary(output, frame);
  output.commit();
}

struct FrameOutputs::Staged {
  std::vector<std::unique_ptr<detail::AtomicOutput>> others;  // model, text files
  std::unique_ptr<detail::AtomicOutput> frame;
};

FrameOutputs::FrameOutputs() : staged_(std::make_unique<Staged>()) {}
FrameOutputs::~FrameOutputs() = default;  // each AtomicOutput removes its uncommitted temporary

void FrameOutputs::stage_model(const std::string& path, const Frame& frame) {
  staged_->others.push_back(std::make_unique<detail::AtomicOutput>(path));
  write_model_temporary(*staged_->others.back(), frame);
}

void FrameOutputs::stage_text(const std::string& path, const std::string& text) {
  staged_->others.push_back(std::make_unique<detail::AtomicOutput>(path));
  detail::AtomicOutput& output = *staged_->others.back();
  std::ofstream out(output.temp_path());
  out << text;
  out.close();
  if (!out) throw Error(ErrorCode::io_error, path + ": cannot write");
}

void FrameOutputs::stage_frame(const std::string& path, const Frame& frame,
                               const FrameWriteOptions& options) {
  if (staged_->frame) throw Error(ErrorCode::invalid_argument, path + ": a frame is already staged");
  staged_->frame = std::make_unique<detail::AtomicOutput>(path);
  write_frame_temporary(*staged_->frame, frame, options);
}

void FrameOutputs::commit() {
  if (staged_->frame) {
    // An older frame goes first, so a kill between the renames never leaves it
    // beside a newer model: whoever finds a frame finds the files of its own run.
    const std::string& path = staged_->frame->final_path();
    if (std::remove(path.c_str()) != 0 && errno != ENOENT)
      throw Error(ErrorCode::io_error, path + ": cannot replace (" + std::strerror(errno) + ")");
  }
  for (auto& output : staged_->others) output->commit();
  if (staged_->frame) staged_->frame->commit();
}

namespace {

std::vector<double> read_plane(FitsFile& file, const char* hdu, const std::vector<long>& want) {
  file.move_to(hdu);
  const std::vector<long> shape = file.image_shape();
  if (shape != want) {
    throw Error(ErrorCode::format_error,
                file.path() + ", " + file.hdu_label() + ": shape differs from FLUX's");
  }
  return file.read_image_double();
}

}  // namespace

Frame read_frame(const std::string& path) {
  FitsFile file = FitsFile::open_read(path);
  Frame f;
  file.move_to("FLUX");
  const std::vector<long> plane = file.image_shape();
  if (plane.size() != 2)
    throw Error(ErrorCode::format_error, path + ", " + file.hdu_label() + ": expected 2-D");
  f.nspec = static_cast<int>(plane[0]);
  f.nwave = static_cast<int>(plane[1]);
  f.flux = file.read_image_double();
  f.header_cards = file.read_provenance_cards();
  f.specmin =
      static_cast<int>(file.read_key_int("FIBERMIN").value_or(file.read_key_int("SPECMIN").value_or(0)));
  f.psf_path = file.read_key_long_string("IN_PSF").value_or("");
  f.image_path = file.read_key_long_string("IN_IMG").value_or("");
  f.compat = file.read_key_string("COMPAT").value_or("");
  f.psferr = file.read_key_double("PSFERR").value_or(0.01);
  f.patches = static_cast<int>(file.read_key_int("NPATCH").value_or(0));
  f.failed_patches = static_cast<int>(file.read_key_int("NPATFAIL").value_or(0));
  const auto wmin = file.read_key_double("WAVEMIN"), wmax = file.read_key_double("WAVEMAX"),
             step = file.read_key_double("WAVESTEP");
  if (wmin && wmax && step) f.grid = WavelengthGrid{*wmin, *wmax, *step};

  f.ivar = read_plane(file, "IVAR", plane);
  // The shared reference outputs have no MASK (and no FIBERMAP); leave it empty then.
  if (file.try_move_to("MASK")) {
    if (file.image_shape() != plane)
      throw Error(ErrorCode::format_error, path + ", HDU MASK: shape differs from FLUX's");
    f.mask = file.read_image_uint32();
  }
  f.wave = read_plane(file, "WAVELENGTH", {f.nwave});

  file.move_to("RESOLUTION");
  const std::vector<long> rshape = file.image_shape();
  if (rshape.size() != 3 || rshape[0] != f.nspec || rshape[2] != f.nwave || rshape[1] % 2 != 1) {
    throw Error(ErrorCode::format_error,
                path + ", " + file.hdu_label() + ": expected [nspec][2*ndiag+1][nwave]");
  }
  f.ndiag = static_cast<int>(rshape[1] / 2);
  f.resolution = file.read_image_double();
  // desispec frames have no PIXMASK_FRACTION; leave what is absent empty.
  if (file.try_move_to("CHI2PIX")) f.chi2pix = read_plane(file, "CHI2PIX", plane);
  if (file.try_move_to("PIXMASK_FRACTION")) f.pixmask_fraction = read_plane(file, "PIXMASK_FRACTION", plane);
  return f;
}

namespace {

// numpy.median of a copy: the middle value, or the mean of the two middle values.
double median(std::vector<double> values) {
  const std::size_t n = values.size();
  const std::size_t mid = n / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2.0;
}

}  // namespace

void compute_spectrum_mask(Frame& f) {
  const std::size_t plane = count(f.nspec, f.nwave);
  if (f.chi2pix.size() != plane || f.pixmask_fraction.size() != plane) {
    throw Error(ErrorCode::invalid_argument,
                "compute_spectrum_mask: CHI2PIX and PIXMASK_FRACTION must hold nspec x nwave values");
  }
  if (f.mask.empty()) f.mask.assign(plane, 0u);
  require_size("compute_spectrum_mask", "MASK", f.mask.size(), plane);
  if (plane == 0) return;

  std::vector<double> over_fibres(f.nwave), over_wave(f.nspec);
  std::vector<double> column(f.nspec);
  for (int j = 0; j < f.nwave; ++j) {
    for (int s = 0; s < f.nspec; ++s) column[s] = f.chi2pix[count(s, f.nwave) + j];
    over_fibres[j] = median(column);
  }
  for (int s = 0; s < f.nspec; ++s) {
    const auto row = f.chi2pix.begin() + static_cast<std::ptrdiff_t>(count(s, f.nwave));
    over_wave[s] = median(std::vector<double>(row, row + f.nwave));
  }
  for (int s = 0; s < f.nspec; ++s) {
    for (int j = 0; j < f.nwave; ++j) {
      const std::size_t k = count(s, f.nwave) + j;
      const double pmf = f.pixmask_fraction[k];
      const double chi2 = f.chi2pix[k];
      if (pmf > 0.5) f.mask[k] |= specmask_somebadpix;
      if (pmf == 1.0) f.mask[k] |= specmask_allbadpix;
      if (chi2 > 5.0 * over_fibres[j] && chi2 > 5.0 * over_wave[s]) f.mask[k] |= specmask_bad2dfit;
    }
  }
}

}  // namespace libextract
