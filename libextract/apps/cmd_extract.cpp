// `libextract extract`: one frame from a preproc image and a PSF, with the options and
// defaults of DESI's desi_extract_spectra, a progress line, logs with timings and an
// optional JSON timing report.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "cmd_extract_mpi.hpp"
#include "commands.hpp"
#include "json_writer.hpp"
#include "stage_json.hpp"
#include "libextract/libextract.hpp"

namespace libextract {
namespace app {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The options of ExtractOptions come from its one table (options.hpp): spellings, help and
// the defaults --help shows, read from ExtractOptions{}.
void add_extract_options(ArgParser& parser) {
  parser.add_file_option("--input", "-i", "PREPROC",
                         "preprocessed image (IMAGE, IVAR, MASK HDUs; .fits.gz too)");
  parser.add_file_option("--psf", "-p", "PSF", "GAUSS-HERMITE PSF file");
  parser.add_file_option("--output", "-o", "FRAME", "output frame file");
  parser.add_option(
      "--mask-bits", "", "N",
      "preproc MASK bits that exclude a pixel (desispec's extractmaskval: all but BADREADNOISE 256)",
      std::to_string(default_extract_mask_bits));
  const ExtractOptions defaults;
  for (const ExtractOptionSpec& spec : extract_option_table()) {
    switch (spec.kind) {
      case ExtractOptionSpec::Kind::flag:
        if (*spec.metavar) {  // --model FILE: a flag of ExtractOptions, a path here
          parser.add_file_option(spec.cli, spec.cli_short, spec.metavar, spec.help);
        } else {
          parser.add_flag(spec.cli, spec.cli_short, spec.help);
        }
        break;
      case ExtractOptionSpec::Kind::choice:
        parser.add_option(spec.cli, spec.cli_short, spec.metavar, spec.help,
                          std::string(spec.field) == "compat" ? to_string(defaults.compat)
                                                              : to_string(defaults.backend.kind));
        break;
      default:
        parser.add_option(spec.cli, spec.cli_short, spec.metavar, spec.help, option_default_text(spec));
    }
  }
  // desi_extract_spectra's options that libextract's own spell otherwise, so that its
  // command lines run unchanged.
  parser.add_file_option("--fibermap", "-f", "FILE",
                         "rows specmin..specmin+nspec-1 of this file's FIBERMAP replace the preproc's");
  parser.add_flag("--use-specter", "", "same as --compat specter");
  parser.add_flag("--no-gpu", "", "same as --backend cpu");
  parser.add_flag("--no-scores", "",
                  "accepted: this command writes no SCORES HDU (libextract-desi-extract does)");
  parser.add_flag(
      "--barycentric-correction", "",
      "refused: libextract-desi-extract applies it (desispec's desi_extract_spectra on libextract)");
  parser.add_option("--dtype", "", "f4|f8", "float type of the output HDUs (f8 for validation)", "f4");
  parser.add_file_option("--timing", "", "FILE.json", "write per-stage wall times and work counts as JSON");
  parser.add_flag("--verbose", "-v", "log level debug: every stage (default: DESI_LOGLEVEL, else info)");
  parser.add_flag("--quiet", "-q", "log level error: errors only, no progress");
  add_extract_mpi_options(parser);  // MPI hook: --mpi, --jobs, ... (cmd_extract_mpi.cpp)
}

ExtractOptions options_from(const ArgParser& parser) {
  ExtractOptions o;
  for (const ExtractOptionSpec& spec : extract_option_table()) {
    if (!spec.set || !parser.has(spec.cli)) continue;
    if (spec.kind == ExtractOptionSpec::Kind::integer) {
      spec.set(o, parser.get_int(spec.cli));
    } else {
      spec.set(o, parser.get_double(spec.cli));
    }
  }
  if (parser.has("--nspec") && o.nspec < 1) {  // the library reads -1 as "to the last fibre"
    throw Error(ErrorCode::invalid_argument, "-n/--nspec: " + std::to_string(o.nspec) + " is below 1");
  }
  if (parser.has("--wavelength")) {
    o.grid = parse_wavelength_grid(parser.get("--wavelength"), option_name("grid", OptionSpelling::cli));
  }
  o.decorrelate_fibers = parser.flag("--decorrelate-fibers");
  o.model = parser.has("--model");
  o.compat = parse_compat(parser.get("--compat"));
  o.backend.kind = parse_backend_kind(parser.get("--backend"));
  if (parser.flag("--use-specter")) {
    if (parser.given("--compat") && o.compat != Compat::specter) {
      throw Error(ErrorCode::invalid_argument,
                  "--use-specter: contradicts --compat " + parser.get("--compat"));
    }
    o.compat = Compat::specter;
  }
  if (parser.flag("--no-gpu")) {
    if (parser.given("--backend") && o.backend.kind == BackendKind::cuda) {
      throw Error(ErrorCode::invalid_argument, "--no-gpu: contradicts --backend cuda");
    }
    o.backend.kind = BackendKind::cpu;
  }
  if (parser.flag("--barycentric-correction")) {
    // desispec's factor needs the barycentric velocity at the header's RA, DEC and
    // MJD-OBS (astropy's ephemerides); its own script applies it on libextract.
    throw Error(ErrorCode::invalid_argument,
                "--barycentric-correction: not applied by libextract extract; run libextract-desi-extract "
                "(desispec's desi_extract_spectra on libextract) with the same options");
  }
  validate_extract_options(o, OptionSpelling::cli);
  return o;
}

std::string timing_json(const ExtractReport& report, double read_s, double write_s, double total_s,
                        const std::string& input, const std::string& psf, const std::string& output) {
  json::Writer j;
  j.begin_object()
      .member("libextract_version", version())
      .member("input", input)
      .member("psf", psf)
      .member("output", output)
      .member("backend", report.backend)
      .member("threads", report.threads)
      .member("patches", report.patches)
      .member("retried_patches", report.retried_patches)
      .member("failed_patches", report.failed_patches)
      .member("read_seconds", read_s)
      .member("extract_seconds", report.seconds)
      .member("write_seconds", write_s)
      .member("total_seconds", total_s);
  json::write_stages(j, "stages", report.stages);
  j.end_object();
  return j.text();
}

// Progress of the patches: on a terminal one line rewritten in place; otherwise (a
// Slurm log, a file) timestamped log lines per tenth of the patches or per 30 s
// (ProgressLog). Both only at log level info or below, so -q silences them.
class Progress {
 public:
  explicit Progress(const std::string& output)
      : terminal_(::isatty(2) != 0), start_(Clock::now()), log_(output) {}
  void operator()(int done, int total) {
    if (!log_enabled(LogLevel::info)) return;
    if (!terminal_) {
      log_.update(done, total);
      return;
    }
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double eta = rate > 0 ? (total - done) / rate : 0.0;
    std::fprintf(stderr, "\rlibextract extract: %d/%d patches  %.1f s  %.0f patches/s  ETA %.0f s   ", done,
                 total, elapsed, rate, eta);
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool terminal_;
  Clock::time_point start_;
  ProgressLog log_;
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
  apply_log_flags(parser);
  const ExtractOptions options = options_from(parser);
  const std::uint32_t mask_bits = checked_mask_bits(parser.get_int64("--mask-bits"), "--mask-bits");
  FrameWriteOptions write_options;
  if (parser.has("--fibermap")) {
    write_options.fibermap_source = parser.get("--fibermap");
    write_options.fibermap_rows_from_specmin = true;
  }
  const std::string dtype = parser.get("--dtype");
  if (dtype == "f4") {
    write_options.dtype = FloatType::f4;
  } else if (dtype == "f8") {
    write_options.dtype = FloatType::f8;
  } else {
    throw Error(ErrorCode::invalid_argument, "--dtype: '" + dtype + "' is not one of f4, f8");
  }
  // ---- MPI hook (libextract/dispatch via cmd_extract_mpi.cpp): --mpi runs the whole command there ----
  if (const int status = run_extract_mpi(parser, args, options, write_options, mask_bits); status >= 0)
    return status;
  // ---- end of the MPI hook ----
  const std::string input = parser.get("--input");
  const std::string psf_path = parser.get("--psf");
  const std::string output = parser.get("--output");

  auto t0 = Clock::now();
  const Psf psf = Psf::load(psf_path);
  const Image image = read_preproc(input, mask_bits);
  const double read_s = seconds_since(t0);
  if (log_enabled(LogLevel::debug)) {
    std::ostringstream line;
    line << "libextract extract: read " << input << " (" << image.nrows << " x " << image.ncols << ", "
         << image.masked_pixels << " masked) and " << psf_path << " in " << std::fixed << std::setprecision(2)
         << read_s << " s";
    LIBEXTRACT_LOG_DEBUG(line.str());
  }

  ExtractReport report;
  Progress progress(output);
  const Frame frame = extract_frame(image, psf, options, &report, [&](int d, int t) { progress(d, t); });

  t0 = Clock::now();
  if (image.has_fibermap && write_options.fibermap_source.empty()) write_options.fibermap_source = input;
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
  if (log_enabled(LogLevel::debug)) {
    for (const StageTiming& s : report.stages) {
      std::ostringstream line;
      line << "stage " << std::left << std::setw(17) << s.name << std::right << std::setw(5) << s.backend
           << "  " << std::fixed << std::setprecision(2) << std::setw(8) << s.seconds << " s";
      if (s.flops > 0 && s.seconds > 0)
        line << "  " << std::setprecision(2) << s.flops / s.seconds * 1e-9 << " GFLOP/s";
      LIBEXTRACT_LOG_DEBUG(line.str());
    }
  }
  if (log_enabled(LogLevel::info)) {
    std::ostringstream line;
    line << "libextract extract: " << frame.nspec << " fibres x " << frame.nwave << " wavelengths, "
         << report.patches << " patches on " << report.backend << " (" << report.threads << " threads) in "
         << std::fixed << std::setprecision(2) << report.seconds << " s (read " << read_s << " s, write "
         << write_s << " s)";
    if (report.retried_patches) line << ", " << report.retried_patches << " patches retried";
    if (report.failed_patches) line << ", " << report.failed_patches << " patches FAILED (ivar 0)";
    line << " -> " << output;
    LIBEXTRACT_LOG_INFO(line.str());
  }
  return 0;
}

}  // namespace app
}  // namespace libextract
