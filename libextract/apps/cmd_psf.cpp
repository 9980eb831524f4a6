// `libextract psf info|spots|make`.
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "libextract/libextract.hpp"

namespace libextract {
namespace app {

namespace {

int psf_info(const std::vector<std::string>& args) {
  ArgParser parser("libextract psf info", "Print a summary of a GAUSS-HERMITE PSF file.");
  parser.add_positional("PSF", "PSF file (FITS, optionally .gz)");
  if (!parser.parse(args)) return 0;
  const Psf psf = Psf::load(parser.get("PSF"));
  std::cout << std::setprecision(10);
  std::cout << "PSF file ............ " << psf.path() << "\n"
            << "format ............... GAUSS-HERMITE v" << psf.format_version() << "\n"
            << "fibres ............... " << psf.nspec() << " (0.." << psf.nspec() - 1 << ")\n"
            << "CCD .................. " << psf.npix_x() << " columns x " << psf.npix_y() << " rows\n"
            << "stamp ................ " << 2 * psf.hsize_y() + 1 << " rows x " << 2 * psf.hsize_x() + 1
            << " columns (HSIZEY " << psf.hsize_y() << ", HSIZEX " << psf.hsize_x() << ")\n"
            << "Hermite degrees ...... GHDEGX " << psf.ghdeg_x() << ", GHDEGY " << psf.ghdeg_y() << "\n"
            << "Legendre coefficients  " << psf.legendre_ncoef() << " per parameter, " << psf.trace_ncoef()
            << " per trace\n"
            << "parameter domain ..... " << psf.wavemin() << " .. " << psf.wavemax() << " A\n"
            << "trace domain ......... " << psf.trace_wavemin() << " .. " << psf.trace_wavemax() << " A\n"
            << "valid range (any) .... " << psf.wmin() << " .. " << psf.wmax() << " A\n"
            << "valid range (all) .... " << psf.wmin_all() << " .. " << psf.wmax_all() << " A\n"
            << "PSF error ............ " << psf.psferr()
            << (psf.psferr_in_file() ? " (PSFERR keyword)" : " (default; no PSFERR keyword)") << "\n";
  const int fibers[] = {0, psf.nspec() / 2, psf.nspec() - 1};
  std::cout << "fibre  wavemin      wavemax      x(mid)      y(mid)\n";
  for (int f : fibers) {
    const double mid = 0.5 * (psf.wavemin_fiber(f) + psf.wavemax_fiber(f));
    std::cout << std::setw(5) << f << "  " << std::fixed << std::setprecision(4) << psf.wavemin_fiber(f)
              << "  " << psf.wavemax_fiber(f) << "  " << psf.x(f, mid) << "  " << psf.y(f, mid) << "\n";
    std::cout.unsetf(std::ios::fixed);
  }
  return 0;
}

std::vector<SpotRequest> read_points(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, path + ": cannot open the points file");
  std::vector<SpotRequest> requests;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::vector<std::string> tokens;
    for (std::string t; fields >> t;) tokens.push_back(t);
    if (tokens.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_number);
    if (tokens.size() != 2 && tokens.size() != 6) {
      throw Error(ErrorCode::invalid_argument,
                  where + ": expected 'fiber wavelength [wxmin wxmax wymin wymax]', got " +
                      std::to_string(tokens.size()) + " fields");
    }
    SpotRequest r;
    try {
      std::size_t used = 0;
      r.fiber = std::stoi(tokens[0], &used);
      if (used != tokens[0].size()) throw std::invalid_argument("fiber");
      r.wavelength = std::stod(tokens[1], &used);
      if (used != tokens[1].size()) throw std::invalid_argument("wavelength");
      if (tokens.size() == 6) {
        r.has_window = true;
        r.window.xmin = std::stoi(tokens[2]);
        r.window.xmax = std::stoi(tokens[3]);
        r.window.ymin = std::stoi(tokens[4]);
        r.window.ymax = std::stoi(tokens[5]);
      }
    } catch (const std::exception&) {
      throw Error(ErrorCode::invalid_argument, where + ": cannot parse '" + line + "'");
    }
    requests.push_back(r);
  }
  if (requests.empty()) throw Error(ErrorCode::invalid_argument, path + ": no points");
  return requests;
}

int psf_spots(const std::vector<std::string>& args) {
  ArgParser parser("libextract psf spots",
                   "Evaluate PSF spots at (fiber, wavelength) points into a FITS table.");
  parser.add_file_option("--psf", "-p", "PSF", "PSF file");
  parser.add_file_option("--points", "", "FILE",
                         "text file, one 'fiber wavelength [wxmin wxmax wymin wymax]' per line");
  parser.add_file_option("--output", "-o", "SPOTS.fits", "output table (HDUs SPOTS and WRANGE)");
  parser.add_option("--compat", "", "MODE",
                    "stamp rules: specter (trunc start, cut to the CCD) or gpu_specter", "specter");
  parser.add_option("--backend", "", "NAME", "auto, cpu or cuda", "auto");
  parser.add_option("--device", "", "N", "CUDA device", "0");
  parser.add_option("--threads", "", "N", "CPU threads (0: all)", "0");
  if (!parser.parse(args)) return 0;
  const Psf psf = Psf::load(parser.get("--psf"));
  const auto requests = read_points(parser.get("--points"));
  const Compat compat = parse_compat(parser.get("--compat"));
  Backend backend;
  backend.kind = parse_backend_kind(parser.get("--backend"));
  backend.device = parser.get_int("--device");
  backend.threads = parser.get_int("--threads");
  const SpotBatch spots = evaluate_spots(psf, requests, compat, backend);
  write_spot_table(parser.get("--output"), psf, requests, spots, compat);
  int empty = 0;
  for (std::size_t s = 0; s < spots.size(); ++s) empty += (spots.nx[s] == 0);
  LIBEXTRACT_LOG_INFO("libextract psf spots: " + std::to_string(spots.size()) + " spots (" +
                      std::to_string(empty) + " empty) on " + to_string(resolve_backend(backend)) + " -> " +
                      parser.get("--output"));
  return 0;
}

int psf_make(const std::vector<std::string>& args) {
  ArgParser parser("libextract psf make", "Write a synthetic DESI-like GAUSS-HERMITE PSF (v3 layout).");
  parser.add_file_option("--output", "-o", "PSF.fits", "output PSF file");
  parser.add_option("--camera", "", "b|r|z", "DESI camera whose wavelength domain to use", "r");
  parser.add_option("--seed", "", "N", "random seed", "1");
  parser.add_option("--nspec", "", "N", "number of fibres", "500");
  parser.add_option("--npix-x", "", "N", "CCD columns", "4114");
  parser.add_option("--npix-y", "", "N", "CCD rows", "4128");
  parser.add_option("--wavemin", "", "A", "trace domain start (default: the camera's)");
  parser.add_option("--wavemax", "", "A", "trace domain end (default: the camera's)");
  parser.add_option("--hsize-x", "", "N", "stamp half width", "8");
  parser.add_option("--hsize-y", "", "N", "stamp half height", "5");
  parser.add_option("--ghdeg", "", "N", "Hermite degree", "6");
  parser.add_option("--legdeg", "", "N", "Legendre degree of the shape parameters", "3");
  if (!parser.parse(args)) return 0;
  const std::string camera = parser.get("--camera");
  if (camera.size() != 1)
    throw Error(ErrorCode::invalid_argument, "--camera: '" + camera + "' is not one of b, r, z");
  SyntheticPsfOptions options = synthetic_psf_for_camera(camera[0]);
  options.seed = static_cast<std::uint64_t>(parser.get_int64("--seed"));
  options.nspec = parser.get_int("--nspec");
  options.npix_x = parser.get_int("--npix-x");
  options.npix_y = parser.get_int("--npix-y");
  if (parser.has("--wavemin")) options.wavemin = parser.get_double("--wavemin");
  if (parser.has("--wavemax")) options.wavemax = parser.get_double("--wavemax");
  options.hsize_x = parser.get_int("--hsize-x");
  options.hsize_y = parser.get_int("--hsize-y");
  options.ghdeg = parser.get_int("--ghdeg");
  options.legdeg = parser.get_int("--legdeg");
  const std::string output = parser.get("--output");
  write_synthetic_psf(output, options);
  std::ostringstream line;
  line << "libextract psf make: " << options.nspec << " fibres, " << options.wavemin << ".."
       << options.wavemax << " A, seed " << options.seed << " -> " << output;
  LIBEXTRACT_LOG_INFO(line.str());
  return 0;
}

}  // namespace

int run_psf_command(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: libextract psf <info|spots|make> [options]\n"
      "  info PSF     summary of a PSF file\n"
      "  spots ...    evaluate spots into a FITS table\n"
      "  make ...     write a synthetic DESI-like PSF\n";
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "info") return psf_info(rest);
  if (args[0] == "spots") return psf_spots(rest);
  if (args[0] == "make") return psf_make(rest);
  throw Error(ErrorCode::invalid_argument, "libextract psf: unknown subcommand '" + args[0] + "'\n" + usage);
}

}  // namespace app
}  // namespace libextract
