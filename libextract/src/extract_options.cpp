// The one table of ExtractOptions' user-settable fields (spellings, help, ranges) and the
// one function that validates them. Defaults are not repeated here: they are read from
// ExtractOptions{} (options.hpp), the only place they are written.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "libextract/errors.hpp"
#include "libextract/options.hpp"
#include "libextract/psf.hpp"

namespace libextract {

namespace {

using Kind = ExtractOptionSpec::Kind;
constexpr double unbounded = std::numeric_limits<double>::infinity();

// Accessors of the numeric fields, as the table's get/set pointers.
#define LIBEXTRACT_NUMERIC_FIELD(member)                                                          \
  [](const ExtractOptions& o) -> std::optional<double> { return static_cast<double>(o.member); }, \
      [](ExtractOptions& o, double v) { o.member = static_cast<decltype(o.member)>(v); }

std::vector<ExtractOptionSpec> make_table() {
  const auto no_get = static_cast<std::optional<double> (*)(const ExtractOptions&)>(nullptr);
  const auto no_set = static_cast<void (*)(ExtractOptions&, double)>(nullptr);
  // To add a range to a numeric option: change its min / max here; validate_extract_options,
  // the CLI and the Python layer all follow. Rules between fields go in validate_extract_options.
  return {
      {"grid", "--wavelength", "-w", "wavelengths", "WMIN,WMAX,DW",
       "wavelength grid (default, desispec's: gpu_specter WAVEMIN,WAVEMAX,0.8 of the PSF; specter "
       "ceil(wmin_all),floor(wmax_all),0.7)",
       Kind::grid, 0, 0, no_get, no_set},
      {"specmin", "--specmin", "-s", "specmin", "N", "first fibre", Kind::integer, 0, unbounded,
       LIBEXTRACT_NUMERIC_FIELD(specmin)},
      {"nspec", "--nspec", "-n", "nspec", "N", "number of fibres (default: to the PSF's last)", Kind::integer,
       1, unbounded,
       [](const ExtractOptions& o) -> std::optional<double> {
         if (o.nspec == -1) return std::nullopt;  // -1: to the PSF's last fibre
         return static_cast<double>(o.nspec);
       },
       [](ExtractOptions& o, double v) { o.nspec = static_cast<int>(v); }},
      {"regularize", "--regularize", "-r", "regularize", "X",
       "ridge regularisation added to the normal equations", Kind::real, 0, unbounded,
       LIBEXTRACT_NUMERIC_FIELD(regularize)},
      {"bundlesize", "--bundlesize", "", "bundlesize", "N", "fibres per independent bundle", Kind::integer, 1,
       unbounded, LIBEXTRACT_NUMERIC_FIELD(bundlesize)},
      {"nsubbundles", "--nsubbundles", "", "nsubbundles", "N", "sub-bundles per bundle", Kind::integer, 1,
       unbounded, LIBEXTRACT_NUMERIC_FIELD(nsubbundles)},
      {"nwavestep", "--nwavestep", "", "nwavestep", "N", "core wavelength bins per patch", Kind::integer, 1,
       unbounded, LIBEXTRACT_NUMERIC_FIELD(nwavestep)},
      {"wavepad", "--wavepad", "", "wavepad", "N", "wavelength padding in bins (gpu_specter rules)",
       Kind::integer, 0, unbounded, LIBEXTRACT_NUMERIC_FIELD(wavepad)},
      {"pixpad_frac", "--pixpad-frac", "", "pixpad_frac", "X", "fraction of the padding pixel rows kept",
       Kind::real, 0, 1, LIBEXTRACT_NUMERIC_FIELD(pixpad_frac)},
      {"wavepad_frac", "--wavepad-frac", "", "wavepad_frac", "X", "extra wavelength padding fraction",
       Kind::real, 0, 10, LIBEXTRACT_NUMERIC_FIELD(wavepad_frac)},
      {"psferr", "--psferr", "", "psferr", "X",
       "fractional PSF error in chi2pix (default: the PSF's PSFERR, else 0.01)", Kind::real, 0, unbounded,
       [](const ExtractOptions& o) { return o.psferr; }, [](ExtractOptions& o, double v) { o.psferr = v; }},
      {"decorrelate_fibers", "--decorrelate-fibers", "", "decorrelate_fibers", "",
       "decorrelate noise across fibres (full iCov^1/2; not recommended)", Kind::flag, 0, 0, no_get, no_set},
      {"model", "--model", "-m", "model", "MODEL", "also write the model image to this file", Kind::flag, 0,
       0, no_get, no_set},
      {"compat", "--compat", "", "compat", "MODE",
       "decomposition rules: gpu_specter (DESI production) or specter", Kind::choice, 0, 0, no_get, no_set},
      {"backend.kind", "--backend", "", "backend", "NAME", "auto, cpu or cuda", Kind::choice, 0, 0, no_get,
       no_set},
      {"backend.device", "--device", "", "device", "N", "CUDA device", Kind::integer, 0, unbounded,
       LIBEXTRACT_NUMERIC_FIELD(backend.device)},
      {"backend.threads", "--threads", "", "threads", "N", "CPU threads (0: all cores)", Kind::integer, 0,
       unbounded, LIBEXTRACT_NUMERIC_FIELD(backend.threads)},
      {"batch_patches", "--batch-patches", "", "batch_patches", "N",
       "patches per backend batch (0: one bundle)", Kind::integer, 0, unbounded,
       LIBEXTRACT_NUMERIC_FIELD(batch_patches)},
  };
}

#undef LIBEXTRACT_NUMERIC_FIELD

std::string number_text(double value, Kind kind) {
  if (kind == Kind::integer && std::isfinite(value)) return std::to_string(static_cast<long long>(value));
  std::ostringstream text;
  text << value;
  return text.str();
}

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, name + ": " + what);
}

void check_range(const ExtractOptionSpec& spec, const ExtractOptions& o, OptionSpelling spelling) {
  const std::optional<double> value = spec.get(o);
  if (!value) return;  // unset: the field's documented default applies
  const double v = *value;
  const bool finite_ok = spec.kind == Kind::integer || std::isfinite(v);
  if (finite_ok && v >= spec.min && v <= spec.max) return;
  const std::string name = option_name(spec.field, spelling);
  const std::string what = spec.kind == Kind::real ? "a finite number " : "";
  if (spec.max == unbounded) {
    bad(name, number_text(v, spec.kind) + " must be " + what + ">= " + number_text(spec.min, spec.kind));
  }
  bad(name, number_text(v, spec.kind) + " must be " + what + "in [" + number_text(spec.min, spec.kind) +
                ", " + number_text(spec.max, spec.kind) + "]");
}

}  // namespace

const std::vector<ExtractOptionSpec>& extract_option_table() {
  static const std::vector<ExtractOptionSpec> table = make_table();
  return table;
}

const ExtractOptionSpec& extract_option(const std::string& field) {
  for (const ExtractOptionSpec& spec : extract_option_table()) {
    if (field == spec.field) return spec;
  }
  throw Error(ErrorCode::internal_error,
              "extract_option: no ExtractOptions field '" + field + "' in the table");
}

std::string option_name(const std::string& field, OptionSpelling spelling) {
  const ExtractOptionSpec& spec = extract_option(field);
  switch (spelling) {
    case OptionSpelling::cli:
      return *spec.cli_short ? std::string(spec.cli_short) + "/" + spec.cli : std::string(spec.cli);
    case OptionSpelling::python:
      return spec.python;
    case OptionSpelling::field:
      break;
  }
  return spec.field;
}

std::string option_default_text(const ExtractOptionSpec& spec) {
  if (spec.kind != Kind::integer && spec.kind != Kind::real) return "";
  const std::optional<double> value = spec.get(ExtractOptions{});
  return value ? number_text(*value, spec.kind) : "";
}

void validate_extract_options(const ExtractOptions& o, OptionSpelling spelling, const Psf* psf) {
  for (const ExtractOptionSpec& spec : extract_option_table()) {
    if (spec.get) check_range(spec, o, spelling);
  }
  if (o.nsubbundles > o.bundlesize) {
    bad(option_name("nsubbundles", spelling), std::to_string(o.nsubbundles) + " must be in 1.." +
                                                  option_name("bundlesize", spelling) + " (" +
                                                  std::to_string(o.bundlesize) + ")");
  }
  if (o.compat == Compat::gpu_specter) {
    // gpu_specter splits a bundle into sub-bundles of bundlesize // nsubbundles fibres.
    const int per_subbundle = o.bundlesize / o.nsubbundles;
    if (o.bundlesize % per_subbundle != 0) {
      bad(option_name("nsubbundles", spelling),
          option_name("bundlesize", spelling) + " " + std::to_string(o.bundlesize) + " // " +
              option_name("nsubbundles", spelling) + " " + std::to_string(o.nsubbundles) + " = " +
              std::to_string(per_subbundle) + " fibres per subbundle does not divide the bundle");
    }
  }
  if (psf == nullptr) return;
  if (o.specmin >= psf->nspec()) {
    bad(option_name("specmin", spelling),
        std::to_string(o.specmin) + " is outside the PSF's fibres 0.." + std::to_string(psf->nspec() - 1));
  }
  const int nspec = o.nspec == -1 ? psf->nspec() - o.specmin : o.nspec;
  if (nspec > psf->nspec() - o.specmin) {
    bad(option_name("nspec", spelling),
        std::to_string(nspec) + " is outside 1.." + std::to_string(psf->nspec() - o.specmin) +
            " (the PSF's " + std::to_string(psf->nspec()) + " fibres from " +
            option_name("specmin", spelling) + " " + std::to_string(o.specmin) + ")");
  }
  // A bundle larger than the PSF (or DESI's 25) only costs memory.
  if (o.bundlesize > std::max(psf->nspec(), 25)) {
    bad(option_name("bundlesize", spelling), std::to_string(o.bundlesize) + " is outside 1..max(the PSF's " +
                                                 std::to_string(psf->nspec()) + " fibres, 25)");
  }
}

}  // namespace libextract
