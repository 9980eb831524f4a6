// The `libextract._libextract` extension module: a thin nanobind layer over the public
// C++ API. The user-facing functions, their argument checks and docstrings are in the
// Python package (libextract/_core.py, _psf.py); this file converts arrays once at the
// boundary, releases the GIL around the work, hands results back as numpy arrays that
// own the C++ buffers (no copy), and maps libextract::Error to libextract.Error.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "libextract/extract_parts.hpp"
#include "libextract/libextract.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// ----------------------------------------------------------------------------- errors

// libextract.Error (a RuntimeError) and its kinds, each also the built-in exception a
// Python caller expects: InvalidArgumentError and FormatError are ValueErrors, FileError
// an OSError, MissingFileError (raised by the package's path checks) a
// FileNotFoundError. Created in module init; instances carry .code (the stable name,
// e.g. "io_error"), .code_value (its integer) and .message.
PyObject* g_error = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_format_error = nullptr;
PyObject* g_file_error = nullptr;
PyObject* g_missing_file = nullptr;

PyObject* error_class(libextract::ErrorCode code) {
  switch (code) {
    case libextract::ErrorCode::invalid_argument:
      return g_invalid_argument;
    case libextract::ErrorCode::format_error:
      return g_format_error;
    case libextract::ErrorCode::io_error:
      return g_file_error;
    default:
      return g_error;
  }
}

void raise_libextract_error(const libextract::Error& e) {
  PyObject* cls = error_class(e.code());
  nb::object inst = nb::steal(PyObject_CallFunction(cls, "s", e.what()));
  if (!inst.is_valid()) return;  // the call itself raised; keep that error
  inst.attr("code") = nb::str(libextract::to_string(e.code()));
  inst.attr("code_value") = nb::int_(static_cast<int>(e.code()));
  inst.attr("message") = nb::str(e.what());
  PyErr_SetObject(cls, inst.ptr());
}

// Thrown by the progress callback when Python has a pending signal (Ctrl-C): the Python
// error indicator is set; it is raised once the GIL is held again.
struct Interrupted {};

// ----------------------------------------------------------------------------- arrays

using AnyArray2 = nb::ndarray<nb::ro, nb::ndim<2>, nb::device::cpu>;
using IntArray1 = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using RealArray1 = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// A numpy array that owns `values` (moved, not copied).
template <class T>
nb::object to_numpy(std::vector<T>&& values, std::initializer_list<std::size_t> shape) {
  auto* heap = new std::vector<T>(std::move(values));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(heap->data(), shape, owner).cast();
}

template <class T>
nb::object to_numpy(std::vector<T>&& values) {
  const std::size_t n = values.size();
  return to_numpy(std::move(values), {n});
}

bool is_f64(const AnyArray2& a) {
  return a.dtype() == nb::dtype<double>();
}
bool is_f32(const AnyArray2& a) {
  return a.dtype() == nb::dtype<float>();
}

void check_real(const AnyArray2& a, const char* name) {
  if (!is_f64(a) && !is_f32(a)) {
    throw nb::type_error((std::string(name) + ": expected a float32 or float64 array").c_str());
  }
}

// Writes plane `a` (float32/float64, any strides) as float64 into `out` (row-major,
// `ncols` wide) at row y0, column x0. Called without the GIL.
void place_plane(const AnyArray2& a, std::vector<double>& out, int ncols, int y0, int x0) {
  const std::size_t rows = a.shape(0), cols = a.shape(1);
  const std::int64_t s0 = a.stride(0), s1 = a.stride(1);
  if (is_f64(a)) {
    const double* src = static_cast<const double*>(a.data());
    for (std::size_t y = 0; y < rows; ++y) {
      double* dst = out.data() + (static_cast<std::size_t>(y0) + y) * ncols + x0;
      const double* row = src + static_cast<std::int64_t>(y) * s0;
      if (s1 == 1) {
        std::memcpy(dst, row, cols * sizeof(double));
      } else {
        for (std::size_t x = 0; x < cols; ++x) dst[x] = row[static_cast<std::int64_t>(x) * s1];
      }
    }
  } else {
    const float* src = static_cast<const float*>(a.data());
    for (std::size_t y = 0; y < rows; ++y) {
      double* dst = out.data() + (static_cast<std::size_t>(y0) + y) * ncols + x0;
      const float* row = src + static_cast<std::int64_t>(y) * s0;
      for (std::size_t x = 0; x < cols; ++x)
        dst[x] = static_cast<double>(row[static_cast<std::int64_t>(x) * s1]);
    }
  }
}

// Builds the engine's whole-CCD Image from `image`/`ivar`, placed at (y0, x0) in a
// zero image (ivar 0) of the PSF's CCD size, with read_preproc's pixel rules
// (libextract::apply_pixel_rules). Called without the GIL; throws nb::
// value_error naming the argument.
libextract::Image make_image(const AnyArray2& image, const AnyArray2& ivar, int nrows, int ncols, int y0,
                             int x0) {
  libextract::Image img;
  img.nrows = nrows;
  img.ncols = ncols;
  const std::size_t n = static_cast<std::size_t>(nrows) * ncols;
  img.pixels.assign(n, 0.0);
  img.ivar.assign(n, 0.0);
  place_plane(image, img.pixels, ncols, y0, x0);
  place_plane(ivar, img.ivar, ncols, y0, x0);
  long long bad_values = 0;
  for (double v : img.pixels) bad_values += !std::isfinite(v);
  libextract::apply_pixel_rules(img);  // the CLI's rules: NaN/Inf and ivar outside 0..1e20 masked, counted
  long long usable = 0;
  for (double w : img.ivar) usable += (w > 0.0);
  if (bad_values == static_cast<long long>(image.shape(0) * image.shape(1))) {
    throw nb::value_error("image: no finite pixel (the image is all NaN/Inf)");
  }
  if (usable == 0) {
    throw nb::value_error("ivar: no pixel has ivar > 0 (and a finite value); nothing to extract");
  }
  return img;
}

// ----------------------------------------------------------------------------- results

nb::dict report_dict(const libextract::ExtractReport& r) {
  nb::dict d;
  d["patches"] = r.patches;
  d["retried_patches"] = r.retried_patches;
  d["failed_patches"] = r.failed_patches;
  d["backend"] = r.backend;
  d["threads"] = r.threads;
  d["seconds"] = r.seconds;
  nb::list stages;
  for (const auto& s : r.stages) {
    nb::dict st;
    st["name"] = s.name;
    st["backend"] = s.backend;
    st["seconds"] = s.seconds;
    st["launches"] = s.launches;
    st["flops"] = s.flops;
    stages.append(st);
  }
  d["stages"] = stages;
  const std::size_t np = r.patch_diagnostics.size();
  std::vector<std::int32_t> flo(np), fhi(np), wlo(np), whi(np), status(np);
  std::vector<double> rcond(np);
  for (std::size_t i = 0; i < np; ++i) {
    const auto& p = r.patch_diagnostics[i];
    flo[i] = p.core_fiber_lo;
    fhi[i] = p.core_fiber_hi;
    wlo[i] = p.wave_lo;
    whi[i] = p.wave_hi;
    rcond[i] = p.rcond;
    status[i] = p.status;
  }
  d["patch_fiber_lo"] = to_numpy(std::move(flo));
  d["patch_fiber_hi"] = to_numpy(std::move(fhi));
  d["patch_wave_lo"] = to_numpy(std::move(wlo));
  d["patch_wave_hi"] = to_numpy(std::move(whi));
  d["patch_rcond"] = to_numpy(std::move(rcond));
  d["patch_status"] = to_numpy(std::move(status));
  return d;
}

// gpu_specter's extract_frame dictionary, nspec rows. `model_window`: cut the model image
// to this rectangle (ex2d with an xyrange), else the whole CCD.
nb::dict frame_dict(libextract::Frame&& f, bool want_model,
                    const std::optional<libextract::PixelWindow>& model_window) {
  const std::size_t ns = f.nspec, nw = f.nwave, nd = 2 * f.ndiag + 1;
  nb::dict d;
  d["wave"] = to_numpy(std::move(f.wave));
  d["specflux"] = to_numpy(std::move(f.flux), {ns, nw});
  d["specivar"] = to_numpy(std::move(f.ivar), {ns, nw});
  d["specmask"] = to_numpy(std::move(f.mask), {ns, nw});
  d["Rdiags"] = to_numpy(std::move(f.resolution), {ns, nd, nw});
  d["chi2pix"] = to_numpy(std::move(f.chi2pix), {ns, nw});
  d["pixmask_fraction"] = to_numpy(std::move(f.pixmask_fraction), {ns, nw});
  if (want_model && f.has_model) {
    if (model_window) {
      const auto& w = *model_window;
      const std::size_t rows = w.ymax - w.ymin, cols = w.xmax - w.xmin;
      std::vector<double> cut(rows * cols);
      for (std::size_t y = 0; y < rows; ++y) {
        std::memcpy(cut.data() + y * cols,
                    f.model.data() + (static_cast<std::size_t>(w.ymin) + y) * f.model_cols + w.xmin,
                    cols * sizeof(double));
      }
      f.model.clear();
      f.model.shrink_to_fit();
      d["modelimage"] = to_numpy(std::move(cut), {rows, cols});
    } else {
      d["modelimage"] = to_numpy(std::move(f.model), {static_cast<std::size_t>(f.model_rows),
                                                      static_cast<std::size_t>(f.model_cols)});
    }
  } else {
    d["modelimage"] = nb::none();
  }
  return d;
}

// ExtractOptions' rows as dicts (field, cli, python, kind, min, max, help, default), for
// the Python layer's docs and tests; the defaults themselves are the bound struct's.
nb::list option_table() {
  static const char* const kinds[] = {"integer", "real", "flag", "choice", "grid"};
  nb::list rows;
  for (const libextract::ExtractOptionSpec& spec : libextract::extract_option_table()) {
    nb::dict row;
    row["field"] = spec.field;
    row["cli"] = libextract::option_name(spec.field, libextract::OptionSpelling::cli);
    row["python"] = spec.python;
    row["kind"] = kinds[static_cast<int>(spec.kind)];
    row["min"] = spec.min;
    row["max"] = spec.max;
    row["help"] = spec.help;
    rows.append(row);
  }
  return rows;
}

// The Python layer's errors name the Python arguments.
constexpr libextract::OptionSpelling python = libextract::OptionSpelling::python;

// Between batches (no OpenMP region running): let Ctrl-C stop a long extraction, and
// call the user's progress(done, total) when given. Made while the GIL is held; the
// Python callable is shared, never copied, so copies of the callback made without the
// GIL touch no reference count. An exception from progress stops the extraction and is
// raised to the caller.
libextract::ProgressCallback interruptible(const nb::object& progress = nb::none()) {
  std::shared_ptr<nb::object> callable;
  if (!progress.is_none()) callable = std::make_shared<nb::object>(progress);
  return [callable](int done, int total) {
    nb::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw Interrupted{};
    if (callable) {
      try {
        (*callable)(done, total);
      } catch (nb::python_error& e) {
        e.restore();
        throw Interrupted{};
      }
    }
  };
}

// libextract's log records to a Python function emit(level, file, line, function,
// message) (libextract/_log.py); None restores the C++ default (stderr).
void set_python_log_sink(const nb::object& emit) {
  if (emit.is_none()) {
    libextract::set_log_sink({});
    return;
  }
  // Freed with the GIL held, whichever thread drops the last copy.
  std::shared_ptr<nb::object> callable(new nb::object(emit), [](nb::object* p) {
    if (Py_IsInitialized()) {
      nb::gil_scoped_acquire acquire;
      delete p;
    }
  });
  libextract::set_log_sink([callable](const libextract::LogRecord& r) {
    if (!Py_IsInitialized()) return;
    nb::gil_scoped_acquire acquire;
    // Messages may carry file names that are not UTF-8: decoded as Python decodes paths.
    nb::object message = nb::steal(
        PyUnicode_DecodeUTF8(r.message.data(), static_cast<Py_ssize_t>(r.message.size()), "surrogateescape"));
    if (!message.is_valid()) {
      PyErr_Clear();
      return;
    }
    try {
      (*callable)(static_cast<int>(r.level), r.file, r.line, r.function, message);
    } catch (nb::python_error& e) {
      e.discard_as_unraisable("libextract log sink");
    }
  });
}

// ----------------------------------------------------------------------------- Psf

using libextract::Psf;

void check_fibers(const Psf& psf, const IntArray1& fibers) {
  const std::int64_t* f = fibers.data();
  for (std::size_t i = 0; i < fibers.shape(0); ++i) {
    if (f[i] < 0 || f[i] >= psf.nspec()) {
      throw nb::value_error(("fiber: " + std::to_string(f[i]) + " is outside the PSF's fibres 0.." +
                             std::to_string(psf.nspec() - 1))
                                .c_str());
    }
  }
}

// Evaluates a per-(fibre, value) function of the PSF over paired 1-D arrays.
nb::object psf_eval(const Psf& psf, const std::string& what, const IntArray1& fibers,
                    const RealArray1& values) {
  if (fibers.shape(0) != values.shape(0)) throw nb::value_error("fiber and value arrays differ in length");
  check_fibers(psf, fibers);
  const std::size_t n = fibers.shape(0);
  std::vector<double> out(n);
  const std::int64_t* f = fibers.data();
  const double* v = values.data();
  {
    nb::gil_scoped_release release;
    if (what == "x") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.x(static_cast<int>(f[i]), v[i]);
    } else if (what == "y") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.y(static_cast<int>(f[i]), v[i]);
    } else if (what == "wavelength") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.wavelength(static_cast<int>(f[i]), v[i]);
    } else if (what == "angstroms_per_pixel") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.angstroms_per_pixel(static_cast<int>(f[i]), v[i]);
    } else if (what == "wdisp") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.wdisp(static_cast<int>(f[i]), v[i]);
    } else if (what == "wavemin_fiber") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.wavemin_fiber(static_cast<int>(f[i]));
    } else if (what == "wavemax_fiber") {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.wavemax_fiber(static_cast<int>(f[i]));
    } else {
      for (std::size_t i = 0; i < n; ++i) out[i] = psf.param(what, static_cast<int>(f[i]), v[i]);
    }
  }
  return to_numpy(std::move(out));
}

nb::tuple psf_spots(const Psf& psf, const IntArray1& fibers, const RealArray1& waves,
                    const std::string& compat, const std::string& backend,
                    std::optional<std::tuple<int, int, int, int>> window) {
  if (fibers.shape(0) != waves.shape(0)) throw nb::value_error("fibers and waves differ in length");
  check_fibers(psf, fibers);
  const std::size_t n = fibers.shape(0);
  std::vector<libextract::SpotRequest> requests(n);
  for (std::size_t i = 0; i < n; ++i) {
    requests[i].fiber = static_cast<int>(fibers.data()[i]);
    requests[i].wavelength = waves.data()[i];
    if (window) {
      requests[i].has_window = true;
      requests[i].window = libextract::PixelWindow{std::get<0>(*window), std::get<1>(*window),
                                                   std::get<2>(*window), std::get<3>(*window)};
    }
  }
  const libextract::Compat c = libextract::parse_compat(compat, "compat");
  libextract::Backend b;
  b.kind = libextract::parse_backend_kind(backend, "backend");
  libextract::SpotBatch spots;
  {
    nb::gil_scoped_release release;
    spots = libextract::evaluate_spots(psf, requests, c, b);
  }
  std::vector<std::int32_t> xlo(spots.xlo.begin(), spots.xlo.end()), ylo(spots.ylo.begin(), spots.ylo.end()),
      nx(spots.nx.begin(), spots.nx.end()), ny(spots.ny.begin(), spots.ny.end());
  const std::size_t rows = spots.ny_max, cols = spots.nx_max;
  return nb::make_tuple(to_numpy(std::move(spots.values), {n, rows, cols}), to_numpy(std::move(xlo)),
                        to_numpy(std::move(ylo)), to_numpy(std::move(nx)), to_numpy(std::move(ny)),
                        to_numpy(std::move(spots.x)), to_numpy(std::move(spots.y)));
}

// The plan of an extraction as one numpy array per PlannedPatch field (plan order).
nb::dict plan_dict(libextract::PatchPlan&& plan) {
  const std::size_t n = plan.patches.size();
  std::vector<std::int32_t> bundle(n), flo(n), fhi(n), clo(n), chi(n), wlo(n), whi(n), nwave(n), xmin(n),
      xmax(n), ymin(n), ymax(n);
  std::vector<double> wfirst(n), wlast(n);
  for (std::size_t i = 0; i < n; ++i) {
    const libextract::PlannedPatch& p = plan.patches[i];
    bundle[i] = p.bundle;
    flo[i] = p.fiber_lo;
    fhi[i] = p.fiber_hi;
    clo[i] = p.core_fiber_lo;
    chi[i] = p.core_fiber_hi;
    wlo[i] = p.wave_lo;
    whi[i] = p.wave_hi;
    nwave[i] = p.nwave;
    wfirst[i] = p.wave_first;
    wlast[i] = p.wave_last;
    xmin[i] = p.pixels.xmin;
    xmax[i] = p.pixels.xmax;
    ymin[i] = p.pixels.ymin;
    ymax[i] = p.pixels.ymax;
  }
  nb::dict d;
  d["compat"] = std::string(libextract::to_string(plan.compat));
  d["specmin"] = plan.specmin;
  d["nspec"] = plan.nspec;
  d["ndiag"] = plan.ndiag;
  d["wave"] = to_numpy(std::move(plan.wave));
  d["bundle"] = to_numpy(std::move(bundle));
  d["fiber_lo"] = to_numpy(std::move(flo));
  d["fiber_hi"] = to_numpy(std::move(fhi));
  d["core_fiber_lo"] = to_numpy(std::move(clo));
  d["core_fiber_hi"] = to_numpy(std::move(chi));
  d["wave_lo"] = to_numpy(std::move(wlo));
  d["wave_hi"] = to_numpy(std::move(whi));
  d["nwave"] = to_numpy(std::move(nwave));
  d["wave_first"] = to_numpy(std::move(wfirst));
  d["wave_last"] = to_numpy(std::move(wlast));
  d["xmin"] = to_numpy(std::move(xmin));
  d["xmax"] = to_numpy(std::move(xmax));
  d["ymin"] = to_numpy(std::move(ymin));
  d["ymax"] = to_numpy(std::move(ymax));
  return d;
}

// ----------------------------------------------------------------------------- parts

// One frame extracted in parts (libextract::ExtractionParts), for the gpu_specter
// stand-in's MPI path: every rank builds the same plan, solves a range of patches into
// bytes, and one rank stitches every range in plan order, so the frame is bitwise that
// of extract() whatever the split. Holds the image and the PSF the parts refer to.
class FrameParts {
 public:
  FrameParts(const Psf& psf, const AnyArray2& image, const AnyArray2& ivar,
             const libextract::ExtractOptions& options)
      : psf_(psf), options_(options) {
    libextract::validate_extract_options(options_, python, &psf_);
    check_real(image, "image");
    check_real(ivar, "ivar");
    const std::size_t rows = static_cast<std::size_t>(psf_.npix_y()),
                      cols = static_cast<std::size_t>(psf_.npix_x());
    for (const AnyArray2* a : {&image, &ivar}) {
      if (a->shape(0) != rows || a->shape(1) != cols) {
        throw nb::value_error(("image/ivar: shape (" + std::to_string(a->shape(0)) + ", " +
                               std::to_string(a->shape(1)) + ") is not the PSF's whole CCD")
                                  .c_str());
      }
    }
    nb::gil_scoped_release release;
    image_ = make_image(image, ivar, psf_.npix_y(), psf_.npix_x(), 0, 0);
    parts_ = std::make_unique<libextract::ExtractionParts>(image_, psf_, options_);
  }

  int patch_count() const { return parts_->patch_count(); }

  nb::bytes solve(int first, int count) const {
    if (first < 0 || count < 0 || first + count > parts_->patch_count()) {
      throw nb::value_error(("solve: patches [" + std::to_string(first) + ", " +
                             std::to_string(first + count) + ") are not within the plan's " +
                             std::to_string(parts_->patch_count()))
                                .c_str());
    }
    std::vector<unsigned char> bytes;
    {
      nb::gil_scoped_release release;
      parts_->solve_range(first, count, [&](libextract::SolvedPatches&& block) { block.pack(bytes); });
    }
    return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  // Stitches every block packed in `data` (what solve() returned), in plan order.
  void stitch(const nb::bytes& data) {
    const auto* p = static_cast<const unsigned char*>(data.data());
    std::size_t offset = 0;
    nb::gil_scoped_release release;
    while (offset < data.size()) {
      std::size_t used = 0;
      const libextract::SolvedPatches block =
          libextract::SolvedPatches::unpack(p + offset, data.size() - offset, used);
      parts_->stitch(block);
      offset += used;
    }
  }

  nb::dict finish() {
    libextract::Frame frame;
    {
      nb::gil_scoped_release release;
      frame = parts_->finish();
    }
    return frame_dict(std::move(frame), options_.model, std::nullopt);
  }

 private:
  Psf psf_;
  libextract::ExtractOptions options_;
  libextract::Image image_;
  std::unique_ptr<libextract::ExtractionParts> parts_;
};

}  // namespace

NB_MODULE(_libextract, m) {
  m.doc() = "Low-level bindings of libextract (C++); use the `libextract` package, not this module.";
  m.attr("__version__") = libextract::version();  // PEP 440, with the git commit
  m.attr("version_major") = LIBEXTRACT_VERSION_MAJOR;
  m.attr("version_minor") = LIBEXTRACT_VERSION_MINOR;
  m.attr("version_patch") = LIBEXTRACT_VERSION_PATCH;
  m.attr("default_extract_mask_bits") = libextract::default_extract_mask_bits;

  g_error = PyErr_NewExceptionWithDoc(
      "libextract.Error",
      "An error reported by the libextract C++ library.\n\n"
      "Attributes: ``code`` (stable name: 'invalid_argument', 'io_error', 'format_error',\n"
      "'numerical_error', 'backend_unavailable', 'internal_error'), ``code_value`` (its\n"
      "integer) and ``message`` (names the file, HDU, keyword or argument at fault).",
      PyExc_RuntimeError, nullptr);
  nb::object bases = nb::make_tuple(nb::handle(g_error), nb::handle(PyExc_ValueError));
  g_invalid_argument = PyErr_NewExceptionWithDoc(
      "libextract.InvalidArgumentError", "libextract.Error with code 'invalid_argument'; also a ValueError.",
      bases.ptr(), nullptr);
  const auto kind = [&](const char* name, const char* doc, PyObject* builtin) {
    nb::object kind_bases = nb::make_tuple(nb::handle(g_error), nb::handle(builtin));
    return PyErr_NewExceptionWithDoc(name, doc, kind_bases.ptr(), nullptr);
  };
  g_format_error =
      kind("libextract.FormatError",
           "libextract.Error with code 'format_error' (a file lacks an HDU, keyword or column, or "
           "holds bad values); also a ValueError.",
           PyExc_ValueError);
  g_file_error =
      kind("libextract.FileError",
           "libextract.Error with code 'io_error' (a file cannot be opened, read or written); also "
           "an OSError.",
           PyExc_OSError);
  g_missing_file =
      kind("libextract.MissingFileError",
           "libextract.Error with code 'io_error' for an input file that does not exist; also a "
           "FileNotFoundError (and so an OSError). Raised before any work starts; the message names "
           "the argument.",
           PyExc_FileNotFoundError);
  m.attr("Error") = nb::handle(g_error);
  m.attr("InvalidArgumentError") = nb::handle(g_invalid_argument);
  m.attr("FormatError") = nb::handle(g_format_error);
  m.attr("FileError") = nb::handle(g_file_error);
  m.attr("MissingFileError") = nb::handle(g_missing_file);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const libextract::Error& e) {
      raise_libextract_error(e);
    }
  });

  m.def("set_log_sink", &set_python_log_sink, "emit"_a.none(),
        "Routes log records to emit(level, file, line, function, message); None: stderr.");
  m.def(
      "set_log_level", [](int level) { libextract::set_log_level(static_cast<libextract::LogLevel>(level)); },
      "level"_a, "Drops records below this logging level (10 debug ... 40 error) before they reach Python.");
  m.def(
      "log_level", []() { return static_cast<int>(libextract::log_level()); }, "The C++ log threshold.");
  m.def("cuda_compiled", &libextract::cuda_compiled, "True when this build contains the CUDA backend.");
  m.def("cuda_device_count", &libextract::cuda_device_count,
        "Number of CUDA devices that answer (0 without CUDA).");
  m.def(
      "openmp_enabled", []() { return LIBEXTRACT_ENABLE_OPENMP != 0; },
      "True when the CPU backend uses OpenMP.");

  nb::class_<Psf>(m, "Psf", "A Gauss-Hermite PSF (C++ object); see libextract.Psf.")
      .def_static(
          "load",
          [](const std::string& path) {
            nb::gil_scoped_release release;
            return Psf::load(path);
          },
          "path"_a, "Reads a GAUSS-HERMITE PSF file (v2 or v3 layout, .fits.gz too).")
      .def_prop_ro("path", &Psf::path)
      .def_prop_ro("format_version", &Psf::format_version)
      .def_prop_ro("nspec", &Psf::nspec)
      .def_prop_ro("npix_x", &Psf::npix_x)
      .def_prop_ro("npix_y", &Psf::npix_y)
      .def_prop_ro("hsize_x", &Psf::hsize_x)
      .def_prop_ro("hsize_y", &Psf::hsize_y)
      .def_prop_ro("ghdeg_x", &Psf::ghdeg_x)
      .def_prop_ro("ghdeg_y", &Psf::ghdeg_y)
      .def_prop_ro("legendre_ncoef", &Psf::legendre_ncoef)
      .def_prop_ro("trace_ncoef", &Psf::trace_ncoef)
      .def_prop_ro("psferr", &Psf::psferr)
      .def_prop_ro("psferr_in_file", &Psf::psferr_in_file)
      .def_prop_ro("wavemin", &Psf::wavemin)
      .def_prop_ro("wavemax", &Psf::wavemax)
      .def_prop_ro("trace_wavemin", &Psf::trace_wavemin)
      .def_prop_ro("trace_wavemax", &Psf::trace_wavemax)
      .def_prop_ro("wmin", &Psf::wmin)
      .def_prop_ro("wmax", &Psf::wmax)
      .def_prop_ro("wmin_all", &Psf::wmin_all)
      .def_prop_ro("wmax_all", &Psf::wmax_all)
      .def("param_names", &Psf::param_names)
      .def("eval", &psf_eval, "what"_a, "fibers"_a, "values"_a,
           "Evaluates 'x', 'y', 'wavelength', 'angstroms_per_pixel', 'wdisp', 'wavemin_fiber', "
           "'wavemax_fiber' or a PSF parameter over paired int64/float64 1-D arrays.")
      .def("spots", &psf_spots, "fibers"_a, "waves"_a, "compat"_a, "backend"_a, "window"_a.none(),
           "Stamps (N, ny_max, nx_max) and xlo, ylo, nx, ny, x, y of each (fibre, wavelength) pair.");

  using libextract::ExtractOptions;
  nb::class_<ExtractOptions>(
      m, "ExtractOptions",
      "libextract::ExtractOptions: every choice of an extraction; its defaults are the "
      "only ones (libextract.extract's signature reads them from here).")
      .def(nb::init<>())
      .def_rw("wavelengths", &ExtractOptions::wavelengths)
      .def_prop_rw(
          "grid",
          [](const ExtractOptions& o) -> std::optional<std::tuple<double, double, double>> {
            if (!o.grid) return std::nullopt;
            return std::make_tuple(o.grid->wmin, o.grid->wmax, o.grid->dw);
          },
          [](ExtractOptions& o, std::optional<std::tuple<double, double, double>> g) {
            if (g) {
              o.grid = libextract::WavelengthGrid{std::get<0>(*g), std::get<1>(*g), std::get<2>(*g)};
            } else {
              o.grid.reset();
            }
          },
          nb::arg("grid").none())
      .def_rw("specmin", &ExtractOptions::specmin)
      .def_rw("nspec", &ExtractOptions::nspec)
      .def_rw("bundlesize", &ExtractOptions::bundlesize)
      .def_rw("nsubbundles", &ExtractOptions::nsubbundles)
      .def_rw("nwavestep", &ExtractOptions::nwavestep)
      .def_rw("wavepad", &ExtractOptions::wavepad)
      .def_rw("pixpad_frac", &ExtractOptions::pixpad_frac)
      .def_rw("wavepad_frac", &ExtractOptions::wavepad_frac)
      .def_rw("regularize", &ExtractOptions::regularize)
      .def_rw("psferr", &ExtractOptions::psferr, nb::arg("psferr").none())
      .def_rw("decorrelate_fibers", &ExtractOptions::decorrelate_fibers)
      .def_rw("model", &ExtractOptions::model)
      .def_prop_rw(
          "compat", [](const ExtractOptions& o) { return std::string(libextract::to_string(o.compat)); },
          [](ExtractOptions& o, const std::string& text) {
            o.compat = libextract::parse_compat(text, libextract::option_name("compat", python));
          })
      .def_prop_rw(
          "backend",
          [](const ExtractOptions& o) { return std::string(libextract::to_string(o.backend.kind)); },
          [](ExtractOptions& o, const std::string& text) {
            o.backend.kind =
                libextract::parse_backend_kind(text, libextract::option_name("backend.kind", python));
          })
      .def_prop_rw(
          "device", [](const ExtractOptions& o) { return o.backend.device; },
          [](ExtractOptions& o, int v) { o.backend.device = v; })
      .def_prop_rw(
          "threads", [](const ExtractOptions& o) { return o.backend.threads; },
          [](ExtractOptions& o, int v) { o.backend.threads = v; })
      .def_rw("batch_patches", &ExtractOptions::batch_patches);

  m.def("option_table", &option_table, "ExtractOptions' fields: spellings, kinds, ranges, help.");
  m.def(
      "validate_options",
      [](const ExtractOptions& o, const Psf* psf) { libextract::validate_extract_options(o, python, psf); },
      "options"_a, "psf"_a.none(),
      "Checks the options as the library does; the error names the Python argument.");

  m.def(
      "extract",
      [](const Psf& psf, const AnyArray2& image, const AnyArray2& ivar,
         std::optional<std::tuple<int, int>> origin, const ExtractOptions& options, bool diagnostics,
         const nb::object& progress) {
        libextract::validate_extract_options(options, python, &psf);
        check_real(image, "image");
        check_real(ivar, "ivar");
        if (image.shape(0) != ivar.shape(0) || image.shape(1) != ivar.shape(1)) {
          throw nb::value_error(("ivar: shape (" + std::to_string(ivar.shape(0)) + ", " +
                                 std::to_string(ivar.shape(1)) + ") differs from image's (" +
                                 std::to_string(image.shape(0)) + ", " + std::to_string(image.shape(1)) + ")")
                                    .c_str());
        }
        const int nrows = psf.npix_y(), ncols = psf.npix_x();
        int y0 = 0, x0 = 0;
        std::optional<libextract::PixelWindow> window;
        if (origin) {
          y0 = std::get<0>(*origin);
          x0 = std::get<1>(*origin);
          const long long y1 = y0 + static_cast<long long>(image.shape(0)),
                          x1 = x0 + static_cast<long long>(image.shape(1));
          if (y0 < 0 || x0 < 0 || y1 > nrows || x1 > ncols) {
            throw nb::value_error(("xyrange: the cut-out [" + std::to_string(x0) + ":" + std::to_string(x1) +
                                   ", " + std::to_string(y0) + ":" + std::to_string(y1) +
                                   "] leaves the PSF's " + std::to_string(nrows) + " x " +
                                   std::to_string(ncols) + " CCD")
                                      .c_str());
          }
          window = libextract::PixelWindow{x0, static_cast<int>(x1), y0, static_cast<int>(y1)};
        } else if (image.shape(0) != static_cast<std::size_t>(nrows) ||
                   image.shape(1) != static_cast<std::size_t>(ncols)) {
          throw nb::value_error(("image: shape (" + std::to_string(image.shape(0)) + ", " +
                                 std::to_string(image.shape(1)) + ") is not the PSF's whole CCD (" +
                                 std::to_string(nrows) + ", " + std::to_string(ncols) +
                                 ") = (NPIX_Y, NPIX_X)")
                                    .c_str());
        }
        libextract::Frame frame;
        libextract::ExtractReport report;
        long long nonfinite = 0;
        const libextract::ProgressCallback callback = interruptible(progress);
        try {
          nb::gil_scoped_release release;
          libextract::Image img = make_image(image, ivar, nrows, ncols, y0, x0);
          nonfinite = img.nonfinite_pixels + img.ivar_out_of_range;
          frame = libextract::extract_frame(img, psf, options, &report, callback);
        } catch (const Interrupted&) {
          throw nb::python_error();
        }
        nb::dict d = frame_dict(std::move(frame), options.model, window);
        if (diagnostics) d["diagnostics"] = report_dict(report);
        return nb::make_tuple(d, nonfinite);
      },
      "psf"_a, "image"_a, "ivar"_a, "origin"_a.none(), "options"_a, "diagnostics"_a,
      "progress"_a.none() = nb::none(), "Extracts a frame; returns (dict, number of NaN/Inf pixels masked).");

  m.def(
      "plan_patches",
      [](const Psf& psf, const ExtractOptions& options) {
        libextract::validate_extract_options(options, python, &psf);
        libextract::PatchPlan plan;
        {
          nb::gil_scoped_release release;
          plan = libextract::plan_patches(psf, options, psf.npix_y(), psf.npix_x());
        }
        return plan_dict(std::move(plan));
      },
      "psf"_a, "options"_a, "The patches an extraction of the PSF's whole CCD solves; a dict of arrays.");

  m.def(
      "extract_file",
      [](const std::string& preproc_path, const std::string& psf_path, const std::string& output_path,
         std::optional<std::string> model_path, ExtractOptions options, const std::string& dtype,
         long long mask_bits, const nb::object& progress) {
        options.model = model_path.has_value();
        const std::uint32_t bits = libextract::checked_mask_bits(mask_bits, "mask_bits");
        libextract::validate_extract_options(options, python);
        libextract::FrameWriteOptions write_options;
        if (dtype == "f4") {
          write_options.dtype = libextract::FloatType::f4;
        } else if (dtype == "f8") {
          write_options.dtype = libextract::FloatType::f8;
        } else {
          throw nb::value_error(("dtype: '" + dtype + "' is not one of 'f4', 'f8'").c_str());
        }
        libextract::ExtractReport report;
        long long nonfinite = 0;
        const libextract::ProgressCallback callback = interruptible(progress);
        try {
          nb::gil_scoped_release release;
          const Psf psf = Psf::load(psf_path);
          libextract::validate_extract_options(options, python, &psf);
          const libextract::Image image = libextract::read_preproc(preproc_path, bits);
          nonfinite = image.nonfinite_pixels + image.ivar_out_of_range;
          const libextract::Frame frame = libextract::extract_frame(image, psf, options, &report, callback);
          if (image.has_fibermap) write_options.fibermap_source = preproc_path;
          libextract::FrameOutputs outputs;  // all or nothing; the frame is renamed last
          if (model_path) outputs.stage_model(*model_path, frame);
          outputs.stage_frame(output_path, frame, write_options);
          outputs.commit();
        } catch (const Interrupted&) {
          throw nb::python_error();
        }
        nb::dict d = report_dict(report);
        d["nonfinite_pixels"] = nonfinite;
        return d;
      },
      "preproc_path"_a, "psf_path"_a, "output_path"_a, "model_path"_a.none(), "options"_a, "dtype"_a,
      "mask_bits"_a, "progress"_a.none() = nb::none(),
      "Reads a preproc file and a PSF, extracts, writes the frame (and model); returns the report.");
  nb::class_<FrameParts>(m, "FrameParts", "One frame extracted in parts (libextract::ExtractionParts).")
      .def(nb::init<const Psf&, const AnyArray2&, const AnyArray2&, const libextract::ExtractOptions&>(),
           "psf"_a, "image"_a, "ivar"_a, "options"_a)
      .def_prop_ro("patch_count", &FrameParts::patch_count)
      .def("solve", &FrameParts::solve, "first"_a, "count"_a,
           "Solves patches [first, first+count); the bytes.")
      .def("stitch", &FrameParts::stitch, "data"_a, "Stitches solved bytes, in plan order.")
      .def("finish", &FrameParts::finish, "The frame dict (extract()'s keys), once everything is stitched.");

  m.def(
      "write_synthetic_psf",
      [](const std::string& path, const std::string& camera, std::uint64_t seed, int nspec) {
        if (camera.size() != 1 || std::string("brz").find(camera[0]) == std::string::npos) {
          throw nb::value_error(("camera: '" + camera + "' is not one of 'b', 'r', 'z'").c_str());
        }
        libextract::SyntheticPsfOptions o = libextract::synthetic_psf_for_camera(camera[0]);
        o.seed = seed;
        o.nspec = nspec;
        nb::gil_scoped_release release;
        libextract::write_synthetic_psf(path, o);
      },
      "path"_a, "camera"_a, "seed"_a, "nspec"_a,
      "Writes a synthetic DESI-like GAUSS-HERMITE PSF (v3 layout).");

  m.def(
      "simulate",
      [](const Psf& psf, std::tuple<double, double, double> grid, int specmin, int nspec, std::uint64_t seed,
         double readnoise, int cosmics, int badpix, bool noiseless, const std::string& backend) {
        libextract::SimulationOptions o;
        o.grid = libextract::WavelengthGrid{std::get<0>(grid), std::get<1>(grid), std::get<2>(grid)};
        o.specmin = specmin;
        o.nspec = nspec;
        o.seed = seed;
        o.readnoise = readnoise;
        o.cosmics = cosmics;
        o.badpix = badpix;
        o.noiseless = noiseless;
        o.backend.kind = libextract::parse_backend_kind(backend, "backend");
        libextract::SimulationResult r;
        {
          nb::gil_scoped_release release;
          r = libextract::simulate_image(psf, o);
        }
        const std::size_t rows = r.image.nrows, cols = r.image.ncols;
        const std::size_t ns = r.truth.nspec, nsim = r.truth.wave.size();
        nb::dict d;
        d["image"] = to_numpy(std::move(r.image.pixels), {rows, cols});
        d["ivar"] = to_numpy(std::move(r.image.ivar), {rows, cols});
        d["mask"] = to_numpy(std::move(r.image.mask), {rows, cols});
        d["truth_wave"] = to_numpy(std::move(r.truth.wave));
        d["truth_flux"] = to_numpy(std::move(r.truth.flux), {ns, nsim});
        d["truth_phot"] = to_numpy(std::move(r.truth.phot), {ns, nsim});
        d["grid_offset"] = r.truth.grid_offset;
        d["footprint"] =
            nb::make_tuple(r.footprint.xmin, r.footprint.xmax, r.footprint.ymin, r.footprint.ymax);
        d["pack_window"] =
            nb::make_tuple(r.pack_window.xmin, r.pack_window.xmax, r.pack_window.ymin, r.pack_window.ymax);
        return d;
      },
      "psf"_a, "grid"_a, "specmin"_a, "nspec"_a, "seed"_a, "readnoise"_a, "cosmics"_a, "badpix"_a,
      "noiseless"_a, "backend"_a, "Simulates a preproc image with known truth; returns a dict of arrays.");
}
