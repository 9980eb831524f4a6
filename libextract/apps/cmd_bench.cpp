// `libextract bench`: the same extraction on every backend (after a warm-up), the
// agreement between them, and a table of wall times, throughput and stage times.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace libextract {
namespace app {

namespace {

using Clock = std::chrono::steady_clock;

// desi_proc's grids per camera.
WavelengthGrid camera_grid(char camera) {
  switch (camera) {
    case 'b':
      return WavelengthGrid{3600.0, 5800.0, 0.8};
    case 'r':
      return WavelengthGrid{5760.0, 7620.0, 0.8};
    case 'z':
      return WavelengthGrid{7520.0, 9824.0, 0.8};
    default:
      throw Error(ErrorCode::invalid_argument,
                  std::string("--simulate: '") + camera + "' is not one of b, r, z");
  }
}

struct Run {
  std::string backend, where, status;
  double best = 0, median = 0;
  ExtractReport report;
  Frame frame;
  bool ran = false;
};

// Both backends run one pipeline, so their frames are the same bits; where they are
// not, the largest differences say how far apart (relative; R absolute).
struct Agreement {
  double flux = 0, ivar = 0, chi2 = 0, resolution = 0;
  long differing = 0;  // output values whose bits differ (flux, ivar, chi2pix, pmf, R)
};

Agreement compare(const Frame& a, const Frame& b) {
  Agreement g;
  auto rel = [](double x, double y) { return y != 0 ? std::fabs(x - y) / std::fabs(y) : std::fabs(x - y); };
  auto differ = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) != 0; };
  if (a.flux.size() != b.flux.size() || a.resolution.size() != b.resolution.size()) {
    g.differing = -1;
    return g;
  }
  for (std::size_t i = 0; i < a.flux.size(); ++i) {
    g.flux = std::max(g.flux, rel(a.flux[i], b.flux[i]));
    g.ivar = std::max(g.ivar, rel(a.ivar[i], b.ivar[i]));
    g.chi2 = std::max(g.chi2, rel(a.chi2pix[i], b.chi2pix[i]));
    g.differing += differ(a.flux[i], b.flux[i]) + differ(a.ivar[i], b.ivar[i]) +
                   differ(a.chi2pix[i], b.chi2pix[i]) + differ(a.pixmask_fraction[i], b.pixmask_fraction[i]);
  }
  for (std::size_t i = 0; i < a.resolution.size(); ++i) {
    g.resolution = std::max(g.resolution, std::fabs(a.resolution[i] - b.resolution[i]));
    g.differing += differ(a.resolution[i], b.resolution[i]);
  }
  return g;
}

}  // namespace

int run_bench_command(const std::vector<std::string>& args) {
  ArgParser parser(
      "libextract bench",
      "Run the same extraction on each backend after a warm-up, check that the outputs agree, and\n"
      "print wall times, frames per node-hour and per-stage times.");
  parser.add_file_option("--psf", "-p", "PSF",
                         "PSF file (default: a synthetic PSF of the --simulate camera)");
  parser.add_option("--simulate", "", "b|r|z", "simulate a frame on desi_proc's grid of this camera", "r");
  parser.add_file_option("--input", "-i", "PREPROC", "extract this preproc image instead of simulating one");
  parser.add_option("--wavelength", "-w", "WMIN,WMAX,DW", "grid (default: the camera's)");
  parser.add_option("--nspec", "-n", "N", "fibres", "500");
  parser.add_option("--backends", "", "LIST", "comma-separated backends to run", "cpu,cuda");
  parser.add_option("--repeat", "", "N", "timed runs per backend", "1");
  parser.add_option("--threads", "", "N", "CPU threads (0: all cores)", "0");
  parser.add_option("--device", "", "N", "CUDA device", "0");
  parser.add_option("--compat", "", "MODE", "gpu_specter or specter", "gpu_specter");
  parser.add_flag("--decorrelate-fibers", "", "decorrelate noise across fibres (full iCov^1/2)");
  parser.add_file_option("--json", "", "OUT.json", "write the results as JSON");
  if (!parser.parse(args)) return 0;

  const std::string camera_text = parser.get("--simulate");
  if (camera_text.size() != 1) throw Error(ErrorCode::invalid_argument, "--simulate: expected b, r or z");
  const char camera = camera_text[0];
  WavelengthGrid grid = camera_grid(camera);
  if (parser.has("--wavelength")) {
    grid = parse_wavelength_grid(parser.get("--wavelength"));
  }
  const int nspec = parser.get_int("--nspec");
  const int repeat = parser.get_int("--repeat");
  if (repeat < 1) throw Error(ErrorCode::invalid_argument, "--repeat must be at least 1");

  std::string psf_path;
  if (parser.has("--psf")) {
    psf_path = parser.get("--psf");
  } else {
    psf_path = "/tmp/libextract-bench-psf-" + camera_text + ".fits";
    write_synthetic_psf(psf_path, synthetic_psf_for_camera(camera));
  }
  const Psf psf = Psf::load(psf_path);
  Image image;
  std::string source;
  if (parser.has("--input")) {
    image = read_preproc(parser.get("--input"));
    source = parser.get("--input");
  } else {
    SimulationOptions sim;
    sim.grid = grid;
    sim.nspec = nspec;
    sim.seed = 1;
    sim.badpix = 200;
    sim.cosmics = 20;
    std::ostringstream line;
    line << "libextract bench: simulating " << nspec << " fibres on " << grid.wmin << "," << grid.wmax << ","
         << grid.dw << " through " << psf_path;
    LIBEXTRACT_LOG_INFO(line.str());
    image = simulate_image(psf, sim).image;
    source = "simulated " + camera_text + " frame";
  }

  ExtractOptions options;
  options.grid = grid;
  options.nspec = nspec;
  options.compat = parse_compat(parser.get("--compat"));
  options.decorrelate_fibers = parser.flag("--decorrelate-fibers");
  options.backend.threads = parser.get_int("--threads");
  options.backend.device = parser.get_int("--device");

  std::vector<Run> runs;
  std::stringstream list(parser.get("--backends"));
  for (std::string name; std::getline(list, name, ',');) {
    Run run;
    run.backend = name;
    ExtractOptions o = options;
    o.backend.kind = parse_backend_kind(name, "--backends");
    try {
      resolve_backend(o.backend);
    } catch (const Error& e) {
      run.status = "not available";
      run.where = e.what();
      runs.push_back(run);
      continue;
    }
    try {
      ExtractOptions warm = o;  // warm-up: one bundle (library loading, caches, device context)
      warm.nspec = std::min(nspec, options.bundlesize);
      extract_frame(image, psf, warm);
      std::vector<double> walls;
      for (int r = 0; r < repeat; ++r) {
        const auto t0 = Clock::now();
        run.frame = extract_frame(image, psf, o, &run.report);
        walls.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      std::sort(walls.begin(), walls.end());
      run.best = walls.front();
      run.median = walls[walls.size() / 2];
      run.ran = true;
      run.status = "ok";
      run.where = name == "cuda"
                      ? "device " + std::to_string(o.backend.device)
                      : std::to_string(o.backend.threads > 0 ? o.backend.threads : 0) + " threads (0 = all)";
    } catch (const BackendUnavailable& e) {
      run.status = "not available";
      run.where = e.what();
    }
    runs.push_back(std::move(run));
  }

  std::cout << "libextract bench: " << source << ", " << nspec << " fibres, grid " << grid.wmin << ","
            << grid.wmax << "," << grid.dw << ", compat " << to_string(options.compat) << "\n\n";
  std::cout << std::left << std::setw(8) << "backend" << std::setw(16) << "status" << std::right
            << std::setw(10) << "wall s" << std::setw(12) << "median s" << std::setw(18) << "frames/node-hour"
            << "  where\n";
  for (const Run& r : runs) {
    std::cout << std::left << std::setw(8) << r.backend << std::setw(16) << r.status << std::right
              << std::fixed << std::setprecision(2) << std::setw(10) << (r.ran ? r.best : 0.0)
              << std::setw(12) << (r.ran ? r.median : 0.0) << std::setw(18) << std::setprecision(0)
              << (r.ran ? 3600.0 / r.best : 0.0) << "  " << r.where << "\n";
  }
  for (const Run& r : runs) {
    if (!r.ran) continue;
    std::cout << "\nstages (" << r.backend << ", " << r.report.patches << " patches):\n";
    for (const StageTiming& s : r.report.stages) {
      std::cout << "  " << std::left << std::setw(18) << s.name << std::right << std::setprecision(3)
                << std::setw(9) << s.seconds << " s";
      if (s.flops > 0 && s.seconds > 0)
        std::cout << std::setprecision(1) << std::setw(9) << s.flops / s.seconds * 1e-9 << " GFLOP/s";
      std::cout << "\n";
    }
  }
  const Run* reference = nullptr;
  bool agree = true;
  for (const Run& r : runs) {
    if (!r.ran) continue;
    if (!reference) {
      reference = &r;
      continue;
    }
    const Agreement g = compare(r.frame, reference->frame);
    const bool ok = g.differing == 0;
    agree = agree && ok;
    std::cout << "\nagreement " << r.backend << " vs " << reference->backend << ": "
              << (ok                ? "bitwise"
                  : g.differing < 0 ? "DIFFERENT SHAPES"
                                    : "DIFFERS")
              << std::scientific << std::setprecision(1) << " (" << g.differing << " values differ; max flux "
              << g.flux << ", ivar " << g.ivar << ", chi2pix " << g.chi2 << " relative, R " << g.resolution
              << " absolute)\n";
    std::cout.unsetf(std::ios::scientific);
  }

  if (parser.has("--json")) {
    std::ofstream out(parser.get("--json"));
    out << "{\n  \"source\": \"" << source << "\",\n  \"nspec\": " << nspec << ",\n  \"grid\": \""
        << to_string(grid) << "\",\n  \"nwave\": " << make_wavelength_grid(grid).size()
        << ",\n  \"runs\": [\n";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const Run& r = runs[i];
      out << "    {\"backend\": \"" << r.backend << "\", \"status\": \"" << r.status
          << "\", \"best_seconds\": " << r.best << ", \"median_seconds\": " << r.median
          << ", \"threads\": " << r.report.threads << ", \"patches\": " << r.report.patches
          << ", \"stages\": [";
      for (std::size_t k = 0; k < r.report.stages.size(); ++k) {
        const StageTiming& s = r.report.stages[k];
        out << (k ? ", " : "") << "{\"name\": \"" << s.name << "\", \"seconds\": " << s.seconds
            << ", \"flops\": " << s.flops << "}";
      }
      out << "]}" << (i + 1 < runs.size() ? "," : "") << "\n";
    }
    out << "  ],\n  \"agree\": " << (agree ? "true" : "false") << "\n}\n";
    if (!out) throw Error(ErrorCode::io_error, parser.get("--json") + ": cannot write");
  }
  return agree ? 0 : 1;
}

}  // namespace app
}  // namespace libextract
