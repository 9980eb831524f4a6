// `libextract extract`: one frame from a preproc image and a PSF, with the options and
// defaults of DESI's desi_extract_spectra, a progress line, logs with timings and an
// optional JSON timing report.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "cmd_extract_mpi.hpp"
#include "commands.hpp"
#include "libextract/libextract.hpp"

namespace libextract {
namespace app {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void add_extract_options(ArgParser& parser) {
  parser.add_file_option("--input", "-i", "PREPROC",
                         "preprocessed image (IMAGE, IVAR, MASK HDUs; .fits.gz too)");
  parser.add_file_option("--psf", "-p", "PSF", "GAUSS-HERMITE PSF file");
  parser.add_file_option("--output", "-o", "FRAME", "output frame file");
  parser.add_file_option("--model", "-m", "MODEL", "also write the model image to this file");
  parser.add_option("--wavelength", "-w", "WMIN,WMAX,DW",
                    "wavelength grid (default: the PSF's range, dw 0.8)");
  parser.add_option("--specmin", "-s", "N", "first fibre", "0");
  parser.add_option("--nspec", "-n", "N", "number of fibres (default: to the PSF's last)");
  parser.add_option("--regularize", "-r", "X", "ridge regularisation added to the normal equations", "0.0");
  parser.add_option("--bundlesize", "", "N", "fibres per independent bundle", "25");
  parser.add_option("--nsubbundles", "", "N", "sub-bundles per bundle", "5");
  parser.add_option("--nwavestep", "", "N", "core wavelength bins per patch", "50");
  parser.add_option("--wavepad", "", "N", "wavelength padding in bins (gpu_specter rules)", "10");
  parser.add_option("--pixpad-frac", "", "X", "fraction of the padding pixel rows kept", "0.8");
  parser.add_option("--wavepad-frac", "", "X", "extra wavelength padding fraction", "0.2");
  parser.add_option("--psferr", "", "X",
                    "fractional PSF error in chi2pix (default: the PSF's PSFERR, else 0.01)");
  parser.add_flag("--decorrelate-fibers", "",
                  "decorrelate noise across fibres (full iCov^1/2; not recommended)");
  parser.add_option("--compat", "", "MODE", "decomposition rules: gpu_specter (DESI production) or specter",
                    "gpu_specter");
  parser.add_option("--backend", "", "NAME", "auto, cpu or cuda", "auto");
  parser.add_option("--device", "", "N", "CUDA device", "0");
  parser.add_option("--threads", "", "N", "CPU threads (0: all cores)", "0");
  parser.add_option("--batch-patches", "", "N", "patches per backend batch (0: one bundle)", "0");
  parser.add_option("--dtype", "", "f4|f8", "float type of the output HDUs (f8 for validation)", "f4");
  parser.add_file_option("--timing", "", "FILE.json", "write per-stage wall times and work counts as JSON");
  parser.add_flag("--verbose", "-v", "log every stage");
  parser.add_flag("--quiet", "-q", "print errors only");
  add_extract_mpi_options(parser);  // MPI hook: --mpi, --jobs, ... (cmd_extract_mpi.cpp)
}

ExtractOptions options_from(const ArgParser& parser) {
  ExtractOptions o;
  if (parser.has("--wavelength")) {
    o.grid = parse_wavelength_grid(parser.get("--wavelength"));
  }
  o.specmin = parser.get_int("--specmin");
  if (parser.has("--nspec")) o.nspec = parser.get_int("--nspec");
  o.regularize = parser.get_double("--regularize");
  o.bundlesize = parser.get_int("--bundlesize");
  o.nsubbundles = parser.get_int("--nsubbundles");
  o.nwavestep = parser.get_int("--nwavestep");
  o.wavepad = parser.get_int("--wavepad");
  o.pixpad_frac = parser.get_double("--pixpad-frac");
  o.wavepad_frac = parser.get_double("--wavepad-frac");
  if (parser.has("--psferr")) o.psferr = parser.get_double("--psferr");
  o.decorrelate_fibers = parser.flag("--decorrelate-fibers");
  o.model = parser.has("--model");
  o.compat = parse_compat(parser.get("--compat"));
  o.backend.kind = parse_backend_kind(parser.get("--backend"));
  o.backend.device = parser.get_int("--device");
  o.backend.threads = parser.get_int("--threads");  // ranged by resolve_backend
  o.batch_patches = parser.get_int("--batch-patches");
  if (o.batch_patches < 0) throw Error(ErrorCode::invalid_argument, "--batch-patches must be >= 0");
  return o;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string timing_json(const ExtractReport& report, double read_s, double write_s, double total_s,
                        const std::string& input, const std::string& psf, const std::string& output) {
  std::ostringstream j;
  j << std::setprecision(6);
  j << "{\n  \"libextract_version\": \"" << LIBEXTRACT_VERSION_STRING << "\",\n"
    << "  \"input\": \"" << json_escape(input) << "\",\n  \"psf\": \"" << json_escape(psf) << "\",\n"
    << "  \"output\": \"" << json_escape(output) << "\",\n"
    << "  \"backend\": \"" << report.backend << "\",\n  \"threads\": " << report.threads << ",\n"
    << "  \"patches\": " << report.patches << ",\n  \"retried_patches\": " << report.retried_patches << ",\n"
    << "  \"failed_patches\": " << report.failed_patches << ",\n"
    << "  \"read_seconds\": " << read_s << ",\n  \"extract_seconds\": " << report.seconds << ",\n"
    << "  \"write_seconds\": " << write_s << ",\n  \"total_seconds\": " << total_s << ",\n"
    << "  \"stages\": [\n";
  for (std::size_t i = 0; i < report.stages.size(); ++i) {
    const StageTiming& s = report.stages[i];
    j << "    {\"name\": \"" << s.name << "\", \"backend\": \"" << s.backend
      << "\", \"seconds\": " << s.seconds << ", \"launches\": " << s.launches << ", \"flops\": " << s.flops
      << "}" << (i + 1 < report.stages.size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  return j.str();
}

// A one-line progress report on a terminal: patches done, elapsed, rate, ETA.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && ::isatty(2)), start_(Clock::now()) {}
  void operator()(int done, int total) const {
    if (!enabled_) return;
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double eta = rate > 0 ? (total - done) / rate : 0.0;
    std::fprintf(stderr, "\rlibextract extract: %d/%d patches  %.1f s  %.0f patches/s  ETA %.0f s   ", done,
                 total, elapsed, rate, eta);
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  Clock::time_point start_;
};

}  // namespace

int run_extract_command(const std::vector<std::string>& args) {
  ArgParser parser("libextract extract",
                   "Extract the spectra of a DESI frame by spectroperfectionism (Bolton & Schlegel 2010).");
  add_extract_options(parser);
  parser.set_epilog(
      "example:\n  libextract extract -i preproc-r0.fits -p psf-r0.fits -o frame-r0.fits -w "
      "5760.0,7620.0,0.8");
  if (!parser.parse(args)) return 0;
  const auto t_start = Clock::now();
  const bool quiet = parser.flag("--quiet");
  const bool verbose = parser.flag("--verbose") && !quiet;
  const ExtractOptions options = options_from(parser);
  FrameWriteOptions write_options;
  const std::string dtype = parser.get("--dtype");
  if (dtype == "f4") {
    write_options.dtype = FloatType::f4;
  } else if (dtype == "f8") {
    write_options.dtype = FloatType::f8;
  } else {
    throw Error(ErrorCode::invalid_argument, "--dtype: '" + dtype + "' is not one of f4, f8");
  }
  // ---- MPI hook (libextract/dispatch via cmd_extract_mpi.cpp): --mpi runs the whole command there ----
  if (const int status = run_extract_mpi(parser, args, options, write_options); status >= 0) return status;
  // ---- end of the MPI hook ----
  const std::string input = parser.get("--input");
  const std::string psf_path = parser.get("--psf");
  const std::string output = parser.get("--output");

  auto t0 = Clock::now();
  const Psf psf = Psf::load(psf_path);
  const Image image = read_preproc(input);
  const double read_s = seconds_since(t0);
  if (!quiet && image.nonfinite_pixels > 0) {
    std::cerr << "libextract extract: warning: " << image.nonfinite_pixels << " NaN/Inf pixels in " << input
              << " were masked\n";
  }
  if (verbose) {
    std::cerr << "libextract extract: read " << input << " (" << image.nrows << " x " << image.ncols << ", "
              << image.masked_pixels << " masked) and " << psf_path << " in " << std::fixed
              << std::setprecision(2) << read_s << " s\n";
  }

  ExtractReport report;
  const Progress progress(!quiet);
  const Frame frame = extract_frame(image, psf, options, &report, [&](int d, int t) { progress(d, t); });

  t0 = Clock::now();
  if (image.has_fibermap) write_options.fibermap_source = input;
  FrameOutputs outputs;  // all or nothing; the frame is renamed last
  if (options.model) outputs.stage_model(parser.get("--model"), frame);
  outputs.stage_frame(output, frame, write_options);
  const double write_s = seconds_since(t0);
  const double total_s = seconds_since(t_start);
  if (parser.has("--timing")) {
    outputs.stage_text(parser.get("--timing"),
                       timing_json(report, read_s, write_s, total_s, input, psf_path, output));
  }
  outputs.commit();
  if (verbose) {
    for (const StageTiming& s : report.stages) {
      std::cerr << "  stage " << std::left << std::setw(17) << s.name << std::right << std::setw(5)
                << s.backend << "  " << std::fixed << std::setprecision(2) << std::setw(8) << s.seconds
                << " s";
      if (s.flops > 0 && s.seconds > 0)
        std::cerr << "  " << std::setprecision(2) << s.flops / s.seconds * 1e-9 << " GFLOP/s";
      std::cerr << "\n";
    }
  }
  if (!quiet) {
    std::cerr << "libextract extract: " << frame.nspec << " fibres x " << frame.nwave << " wavelengths, "
              << report.patches << " patches on " << report.backend << " in " << std::fixed
              << std::setprecision(2) << report.seconds << " s (read " << read_s << " s, write " << write_s
              << " s)";
    if (report.retried_patches) std::cerr << ", " << report.retried_patches << " patches retried";
    if (report.failed_patches) std::cerr << ", " << report.failed_patches << " patches FAILED (ivar 0)";
    std::cerr << " -> " << output << "\n";
  }
  return 0;
}

}  // namespace app
}  // namespace libextract
