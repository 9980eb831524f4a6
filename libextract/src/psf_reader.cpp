// Reads DESI's GAUSS-HERMITE PSF files (extraction-spec §1): layout v3 (XTRACE,
// YTRACE and a PSF table) and the legacy v2 (one table whose X and Y rows are the
// traces). Every stored Legendre coefficient is kept, GH-0-0's non-zero higher
// coefficients included (§1.5), because the reference codes evaluate them.
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "fits_file.hpp"
#include "libextract/errors.hpp"
#include "libextract/psf.hpp"
#include "psf_model.hpp"

namespace libextract {
namespace detail {

namespace {

[[noreturn]] void bad(const FitsFile& file, const std::string& where, const std::string& what) {
  throw Error(ErrorCode::format_error, file.path() + ", " + where + ": " + what);
}

int positive_int(FitsFile& file, const std::string& key) {
  const long long value = file.require_key_int(key);
  if (value < 0 || value > 100000)
    bad(file, file.hdu_label(), "keyword " + key + " = " + std::to_string(value) + " is out of range");
  return static_cast<int>(value);
}

void read_common_keys(FitsFile& file, PsfModel& model) {
  model.npix_x = positive_int(file, "NPIX_X");
  model.npix_y = positive_int(file, "NPIX_Y");
  model.hsize_x = positive_int(file, "HSIZEX");
  model.hsize_y = positive_int(file, "HSIZEY");
  model.ghdeg_x = positive_int(file, "GHDEGX");
  model.ghdeg_y = positive_int(file, "GHDEGY");
  if (model.npix_x < 1 || model.npix_y < 1) bad(file, file.hdu_label(), "NPIX_X/NPIX_Y must be positive");
  if (model.hsize_x > 64 || model.hsize_y > 64)
    bad(file, file.hdu_label(), "HSIZEX/HSIZEY above 64 are not supported");
  if (model.ghdeg_x > 20 || model.ghdeg_y > 20)
    bad(file, file.hdu_label(), "GHDEGX/GHDEGY above 20 are not supported");
  const long long fibermin = file.require_key_int("FIBERMIN");
  const long long fibermax = file.require_key_int("FIBERMAX");
  if (fibermax < fibermin) bad(file, file.hdu_label(), "FIBERMAX is below FIBERMIN");
  model.nspec = static_cast<int>(fibermax - fibermin + 1);
  // specter reads PSFERR only; specex's PSFERROR is a different setting (spec §1.4).
  if (const auto psferr = file.read_key_double("PSFERR")) {
    model.psferr = *psferr;
    model.psferr_in_file = true;
  }
}

void check_psftype(FitsFile& file) {
  const auto type = file.read_key_string("PSFTYPE");
  if (!type) bad(file, file.hdu_label(), "keyword PSFTYPE is missing");
  if (*type != "GAUSS-HERMITE") {
    bad(file, file.hdu_label(), "PSFTYPE is '" + *type + "', only GAUSS-HERMITE is supported");
  }
}

// The PARAM/COEFF table of the current HDU into model.param_names/params.
void read_param_table(FitsFile& file, PsfModel& model) {
  model.param_names = file.read_column_string("PARAM");
  for (std::size_t i = 0; i < model.param_names.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (model.param_names[i] == model.param_names[j])
        bad(file, file.hdu_label(),
            "parameter " + model.param_names[i] + " has two rows (" + std::to_string(j) + " and " +
                std::to_string(i) + ")");
    }
  }
  const long long repeat = file.column_repeat("COEFF");
  if (model.nspec <= 0 || repeat % model.nspec != 0) {
    bad(file, file.hdu_label(),
        "column COEFF holds " + std::to_string(repeat) +
            " values per row, not a multiple of nspec = " + std::to_string(model.nspec));
  }
  model.ncoef = static_cast<int>(repeat / model.nspec);
  if (model.ncoef < 1) bad(file, file.hdu_label(), "column COEFF is empty");
  model.params = file.read_column_double("COEFF");
  for (std::size_t i = 0; i < model.params.size(); ++i) {
    if (!std::isfinite(model.params[i])) {
      const std::size_t row = i / static_cast<std::size_t>(repeat);
      bad(file, file.hdu_label(),
          "column COEFF, parameter " + model.param_names[row] + ", fibre " +
              std::to_string((i % repeat) / model.ncoef) + " holds a non-finite coefficient");
    }
  }
}

std::vector<double> param_row(const FitsFile& file, const PsfModel& model, const std::string& name) {
  const int index = model.param_index(name);
  if (index < 0) bad(file, "PSF table", "parameter " + name + " is missing");
  const std::size_t size = static_cast<std::size_t>(model.nspec) * model.ncoef;
  return std::vector<double>(model.params.begin() + index * size, model.params.begin() + (index + 1) * size);
}

void fill_shape(const FitsFile& file, PsfModel& model) {
  std::vector<std::string> rows = {"GHSIGX",   "GHSIGY",   "TAILAMP", "TAILCORE",
                                   "TAILXSCA", "TAILYSCA", "TAILINDE"};
  for (int a = 0; a <= model.ghdeg_x; ++a) {
    for (int b = 0; b <= model.ghdeg_y; ++b)
      rows.push_back("GH-" + std::to_string(a) + "-" + std::to_string(b));
  }
  model.shape.clear();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<double> values;
    if (r >= 2 && r <= 6 && model.param_index(rows[r]) < 0) {
      // A PSF without tail rows has no tail: amplitude 0, harmless unit scales.
      const double fill = (r == 2) ? 0.0 : (r == 6 ? 2.0 : 1.0);
      values.assign(static_cast<std::size_t>(model.nspec) * model.ncoef, 0.0);
      for (int f = 0; f < model.nspec; ++f) values[static_cast<std::size_t>(f) * model.ncoef] = fill;
    } else {
      values = param_row(file, model, rows[r]);
    }
    model.shape.insert(model.shape.end(), values.begin(), values.end());
  }
}

void read_trace_image(FitsFile& file, const PsfModel& model, const std::string& extname,
                      std::vector<double>& coeff, int& ncoef, double& wmin, double& wmax) {
  file.move_to(extname);
  const auto shape = file.image_shape();
  if (shape.size() != 2 || shape[0] != model.nspec) {
    bad(file, "HDU " + extname, "expected a [nspec=" + std::to_string(model.nspec) + "][ncoef] image");
  }
  ncoef = static_cast<int>(shape[1]);
  coeff = file.read_image_double();
  for (double c : coeff) {
    if (!std::isfinite(c)) bad(file, "HDU " + extname, "holds a non-finite coefficient");
  }
  wmin = file.require_key_double("WAVEMIN");
  wmax = file.require_key_double("WAVEMAX");
  if (!(wmax > wmin)) bad(file, "HDU " + extname, "WAVEMAX must exceed WAVEMIN");
}

PsfModel read_v3(FitsFile& file, PsfModel model) {
  if (!file.try_move_to("PSF")) bad(file, "HDU PSF", "is missing (a v3 PSF needs XTRACE, YTRACE and PSF)");
  check_psftype(file);
  read_common_keys(file, model);
  model.wavemin = file.require_key_double("WAVEMIN");
  model.wavemax = file.require_key_double("WAVEMAX");
  if (!(model.wavemax > model.wavemin)) bad(file, file.hdu_label(), "WAVEMAX must exceed WAVEMIN");
  const auto legdeg = file.read_key_int("LEGDEG");
  read_param_table(file, model);
  // Every stored coefficient is used (spec §1.1), so their count must be what LEGDEG
  // says: a table that contradicts it would be read with the wrong fibre stride.
  if (legdeg && *legdeg + 1 != model.ncoef) {
    bad(file, file.hdu_label(),
        "column COEFF holds " + std::to_string(model.ncoef) + " coefficients per fibre but LEGDEG = " +
            std::to_string(*legdeg) + " means " + std::to_string(*legdeg + 1));
  }
  fill_shape(file, model);
  int ncx = 0, ncy = 0;
  read_trace_image(file, model, "XTRACE", model.trace_x, ncx, model.trace_x_wmin, model.trace_x_wmax);
  read_trace_image(file, model, "YTRACE", model.trace_y, ncy, model.trace_y_wmin, model.trace_y_wmax);
  if (ncx != ncy) bad(file, "HDU YTRACE", "has a different number of coefficients than XTRACE");
  model.trace_ncoef = ncx;
  return model;
}

PsfModel read_v2(FitsFile& file, PsfModel model) {
  file.move_to(1);
  read_common_keys(file, model);
  read_param_table(file, model);
  // Every row carries WAVEMIN/WAVEMAX; the reference applies the last row's domain
  // to all of them (quirk Q6), so do we.
  const auto wmins = file.read_column_double("WAVEMIN");
  const auto wmaxs = file.read_column_double("WAVEMAX");
  if (wmins.empty()) bad(file, file.hdu_label(), "the parameter table is empty");
  model.wavemin = wmins.back();
  model.wavemax = wmaxs.back();
  if (!(model.wavemax > model.wavemin)) bad(file, file.hdu_label(), "WAVEMAX must exceed WAVEMIN");
  fill_shape(file, model);
  model.trace_x = param_row(file, model, "X");
  model.trace_y = param_row(file, model, "Y");
  model.trace_ncoef = model.ncoef;
  model.trace_x_wmin = model.trace_y_wmin = model.wavemin;
  model.trace_x_wmax = model.trace_y_wmax = model.wavemax;
  return model;
}

}  // namespace

PsfModel read_psf_file(const std::string& path) {
  FitsFile file = FitsFile::open_read(path);
  PsfModel model;
  model.path = path;
  file.move_to(0);
  check_psftype(file);
  const auto version_text = file.read_key_string("PSFVER");
  if (!version_text) bad(file, "HDU 0", "keyword PSFVER is missing");
  double version = 0;
  try {
    version = std::stod(*version_text);
  } catch (const std::exception&) {
    bad(file, "HDU 0", "keyword PSFVER = '" + *version_text + "' is not a number");
  }
  model.format_version = static_cast<int>(version);
  if (version >= 3) return read_v3(file, std::move(model));
  if (version >= 1) return read_v2(file, std::move(model));
  bad(file, "HDU 0", "PSFVER = " + *version_text + " is not a supported GAUSS-HERMITE layout");
}

int PsfModel::param_index(const std::string& name) const {
  for (std::size_t i = 0; i < param_names.size(); ++i) {
    if (param_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

kernels::PsfView PsfModel::view() const {
  kernels::PsfView v{};
  v.nspec = nspec;
  v.hsize_x = hsize_x;
  v.hsize_y = hsize_y;
  v.ghdeg_x = ghdeg_x;
  v.ghdeg_y = ghdeg_y;
  v.trace_x = trace_x.data();
  v.trace_y = trace_y.data();
  v.trace_ncoef = trace_ncoef;
  v.trace_x_wmin = trace_x_wmin;
  v.trace_x_wmax = trace_x_wmax;
  v.trace_y_wmin = trace_y_wmin;
  v.trace_y_wmax = trace_y_wmax;
  v.shape = shape.data();
  v.ncoef = ncoef;
  v.wmin = wavemin;
  v.wmax = wavemax;
  v.fiber_wmin = fiber_wmin.data();
  v.fiber_wmax = fiber_wmax.data();
  return v;
}

// ---- Psf::load_from_memory ----
// The bytes go into an anonymous in-memory file (memfd; elsewhere an unlinked file in
// TMPDIR) that the same reader opens through /proc/self/fd, so a PSF from memory is
// the one Psf::load makes, .gz included, without touching the shared file system.

namespace {

[[noreturn]] void memory_failure(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::io_error,
              path + ": cannot hold the PSF in memory (" + what + ": " + std::strerror(errno) + ")");
}

// An open descriptor and, for the fallback, the file name to unlink.
struct MemoryFile {
  int fd = -1;
  std::string unlink_path;
  ~MemoryFile() {
    if (fd >= 0) ::close(fd);
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
  }
};

void open_memory_file(const std::string& path, MemoryFile& file) {
#if defined(__linux__) && defined(MFD_CLOEXEC)
  file.fd = ::memfd_create("libextract-psf", MFD_CLOEXEC);
  if (file.fd >= 0) return;
#endif
  const char* base = std::getenv("TMPDIR");
  std::string name = std::string(base && *base ? base : "/tmp") + "/libextract-psf-XXXXXX";
  file.fd = ::mkstemp(&name[0]);
  if (file.fd < 0) memory_failure(path, "mkstemp");
  file.unlink_path = name;
}

}  // namespace

}  // namespace detail

Psf Psf::load_from_memory(const std::string& path, const void* data, std::size_t size) {
  detail::MemoryFile file;
  detail::open_memory_file(path, file);
  const auto* bytes = static_cast<const char*>(data);
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(file.fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) detail::memory_failure(path, "write");
    done += static_cast<std::size_t>(n);
  }
  const std::string name =
      file.unlink_path.empty() ? "/proc/self/fd/" + std::to_string(file.fd) : file.unlink_path;
  detail::PsfModel model;
  try {
    model = detail::read_psf_file(name);
  } catch (const Error& e) {
    // Name the PSF the caller knows, not the in-memory file.
    std::string message = e.what();
    for (std::size_t at = 0; (at = message.find(name, at)) != std::string::npos; at += path.size()) {
      message.replace(at, name.size(), path);
    }
    throw Error(e.code(), message);
  }
  model.path = path;
  auto shared = std::make_shared<detail::PsfModel>(std::move(model));
  detail::build_inverse_map(*shared);
  return Psf(std::move(shared));
}

}  // namespace libextract
