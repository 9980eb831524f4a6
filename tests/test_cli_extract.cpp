// labels: cli
// `libextract extract` end to end on small simulated inputs: a good run writes a frame
// that reads back; every kind of bad input gives a message naming the file, HDU or
// option at fault, a non-zero exit, and no output file; NaN pixels are masked with a
// warning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include <fitsio.h>

#include "common/cli_run.hpp"
#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace {

struct Inputs {
  std::string dir, psf, preproc;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs i;
    i.dir = libextract_test::scratch_dir() + "/cli-extract";
    ::mkdir(i.dir.c_str(), 0755);
    i.psf = i.dir + "/psf.fits";
    libextract::SyntheticPsfOptions o;
    o.nspec = 30;
    libextract::write_synthetic_psf(i.psf, o);
    const libextract::Psf psf = libextract::Psf::load(i.psf);
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{6000.0, 6079.2, 0.8};
    sim.nspec = 5;
    sim.badpix = 5;
    const auto result = libextract::simulate_image(psf, sim);
    i.preproc = i.dir + "/preproc.fits";
    libextract::write_preproc(i.preproc, result.image, result.fibers);
    return i;
  }();
  return in;
}

using libextract_test::CliResult;

CliResult run(const std::string& args) {
  return libextract_test::run_cli("extract " + args);
}

std::string base_args(const std::string& output) {
  return "-i " + inputs().preproc + " -p " + inputs().psf + " -o " + output + " -w 6000.0,6079.2,0.8 -n 5 -q";
}

void expect_failure(const std::string& args, const std::string& output, const std::string& must_mention) {
  std::remove(output.c_str());
  const CliResult r = run(args);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(must_mention), std::string::npos)
      << "message does not name '" << must_mention << "':\n"
      << r.output;
  EXPECT_FALSE(libextract_test::file_exists(output)) << "partial output left behind: " << output;
}

TEST(CliExtract, GoodRunWritesAReadableFrame) {
  const std::string out = inputs().dir + "/frame.fits";
  const CliResult r = run(base_args(out) + " --dtype f8 --timing " + inputs().dir + "/t.json");
  ASSERT_EQ(r.status, 0) << r.output;
  const libextract::Frame frame = libextract::read_frame(out);
  EXPECT_EQ(frame.nspec, 5);
  EXPECT_EQ(frame.nwave, 100);
  double ivar_sum = 0;
  for (double v : frame.ivar) ivar_sum += v;
  EXPECT_GT(ivar_sum, 0.0);
  std::ifstream timing(inputs().dir + "/t.json");
  std::string json((std::istreambuf_iterator<char>(timing)), std::istreambuf_iterator<char>());
  EXPECT_NE(json.find("\"patches\": 2,"), std::string::npos) << json;  // one 5-fibre subbundle x 2 chunks
  EXPECT_NE(json.find("normal_equations"), std::string::npos) << json;
}

// The --timing report is valid JSON whatever the file names hold (a tab, quotes,
// non-ASCII), keeps every digit of its numbers and reports the threads really used.
// Python's json module is the parser.
TEST(CliExtract, TimingJsonParsesWithOddFileNames) {
  const std::string dir = inputs().dir;
  const std::string odd = "\t\"\xc3\xa9\xe2\x82\xac\"";  // tab, quotes, e-acute, euro sign
  const std::string preproc = dir + "/pre" + odd + ".fits", psf = dir + "/psf" + odd + ".fits";
  const std::string out = dir + "/frame" + odd + ".fits", timing = dir + "/timing" + odd + ".json";
  const auto quoted = [](const std::string& path) { return "'" + path + "'"; };  // no ' in the names
  ASSERT_EQ(std::system(("cp " + inputs().preproc + " " + quoted(preproc)).c_str()), 0);
  ASSERT_EQ(std::system(("cp " + inputs().psf + " " + quoted(psf)).c_str()), 0);
  const CliResult r = run("-i " + quoted(preproc) + " -p " + quoted(psf) + " -o " + quoted(out) +
                          " -w 6000.0,6079.2,0.8 -n 5 -q --threads 2 --timing " + quoted(timing));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string check =
      "import json, sys\n"
      "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
      "assert (d['input'], d['psf'], d['output']) == tuple(sys.argv[2:5]), d\n"
      "assert d['threads'] == 2, d['threads']\n"
      "assert d['patches'] == 2 and [s['name'] for s in d['stages']][0] == 'plan', d\n"
      "assert all(isinstance(d[k], float) and d[k] > 0 for k in ('read_seconds', 'total_seconds')), d\n"
      "print('timing json ok')\n";
  const std::string script = dir + "/check_timing.py";
  std::ofstream(script) << check;
  const std::string command = "python3 " + script + " " + quoted(timing) + " " + quoted(preproc) + " " +
                              quoted(psf) + " " + quoted(out) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string said;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) said += buffer;
  EXPECT_EQ(::pclose(pipe), 0) << said;
  EXPECT_NE(said.find("timing json ok"), std::string::npos) << said;
  for (const std::string& f : {preproc, psf, out, timing}) std::remove(f.c_str());
}

// Runs `env libextract extract args` with stderr alone captured (stdout dropped).
CliResult run_stderr(const std::string& env, const std::string& args) {
  const std::string command =
      "env " + env + " " + libextract_test::cli_path() + " extract " + args + " 2>&1 >/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

int count_lines(const std::string& text, const std::regex& pattern) {
  int n = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) n += std::regex_search(line, pattern);
  return n;
}

std::string quiet_free_args(const std::string& output) {
  return "-i " + inputs().preproc + " -p " + inputs().psf + " -o " + output + " -w 6000.0,6079.2,0.8 -n 5";
}

// Every stderr line is desiutil's LEVEL:file:line:function:timestamp: message; -v and -q
// choose the level over DESI_LOGLEVEL, which chooses it over the default (info).
TEST(CliExtract, LogLinesAndLevels) {
  const std::string out = inputs().dir + "/frame-log.fits";
  const std::regex any_line(
      "^(DEBUG|INFO|WARNING|ERROR):[a-z_]+\\.cpp:[0-9]+:[a-z_]+:"
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}: ");
  const std::regex summary(
      "^INFO:cmd_extract\\.cpp:[0-9]+:run_extract_command:[-0-9T:]+: libextract extract: 5 "
      "fibres x 100 wavelengths, 2 patches on cpu \\([0-9]+ threads\\)");
  const std::regex debug("^DEBUG:"), info("^INFO:");
  const auto lines = [](const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  CliResult r = run_stderr("-u DESI_LOGLEVEL", quiet_free_args(out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count_lines(r.output, summary), 1) << r.output;
  EXPECT_EQ(count_lines(r.output, any_line), lines(r.output)) << r.output;
  EXPECT_EQ(count_lines(r.output, debug), 0) << r.output;
  r = run_stderr("-u DESI_LOGLEVEL", quiet_free_args(out) + " -v");
  EXPECT_GT(count_lines(r.output, debug), 0) << r.output;
  EXPECT_EQ(count_lines(r.output, any_line), lines(r.output)) << r.output;
  r = run_stderr("-u DESI_LOGLEVEL", quiet_free_args(out) + " -q");
  EXPECT_EQ(r.output, "");
  r = run_stderr("DESI_LOGLEVEL=debug", quiet_free_args(out));
  EXPECT_GT(count_lines(r.output, debug), 0) << r.output;
  r = run_stderr("DESI_LOGLEVEL=WARNING", quiet_free_args(out));
  EXPECT_EQ(count_lines(r.output, info), 0) << r.output;
  r = run_stderr("DESI_LOGLEVEL=WARNING", quiet_free_args(out) + " -v");  // the flag wins
  EXPECT_GT(count_lines(r.output, debug), 0) << r.output;
  r = run_stderr("DESI_LOGLEVEL=DEBUG", quiet_free_args(out) + " -q");
  EXPECT_EQ(r.output, "");
  std::remove(out.c_str());
}

// stderr to a file (no terminal): timestamped progress lines, one per tenth of the
// patches (here one patch per batch, ten patches), each with done, rate and ETA; -q
// silences them.
TEST(CliExtract, ProgressLinesWhenStderrIsAFile) {
  const std::string out = inputs().dir + "/frame-progress.fits";
  const std::string args = quiet_free_args(out) + " --nwavestep 10 --batch-patches 1";
  const std::regex progress(
      "^INFO:progress\\.cpp:[0-9]+:update:[-0-9T:]+: .*/frame-progress\\.fits"
      ": [0-9]+/10 patches \\([0-9]+%\\), [0-9.]+ patches/s, (ETA [0-9]+ s|done in [0-9.]+ s)$");
  CliResult r = run_stderr("-u DESI_LOGLEVEL", args);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count_lines(r.output, progress), 10) << r.output;
  EXPECT_EQ(count_lines(r.output, std::regex(": 10/10 patches \\(100%\\), [0-9.]+ patches/s, done in")), 1)
      << r.output;
  EXPECT_EQ(count_lines(r.output, std::regex(": 5/10 patches \\(50%\\).*ETA [0-9]+ s$")), 1) << r.output;
  r = run_stderr("-u DESI_LOGLEVEL", args + " -q");
  EXPECT_EQ(r.output, "");
  std::remove(out.c_str());
}

TEST(CliExtract, HelpListsDesiOptions) {
  const CliResult r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* option : {"--nsubbundles", "--nwavestep", "--pixpad-frac", "--wavepad-frac", "--psferr",
                             "--decorrelate-fibers", "--compat", "--backend", "--dtype", "--timing"}) {
    EXPECT_NE(r.output.find(option), std::string::npos) << option;
  }
}

TEST(CliExtract, BadInputsAreClearErrorsWithoutOutput) {
  const std::string out = inputs().dir + "/bad.fits";
  const std::string& dir = inputs().dir;
  // The image and the PSF describe different CCDs.
  const std::string small_psf = dir + "/small-psf.fits";
  libextract::SyntheticPsfOptions o;
  o.nspec = 30;
  o.npix_y = 2000;
  libextract::write_synthetic_psf(small_psf, o);
  expect_failure("-i " + inputs().preproc + " -p " + small_psf + " -o " + out + " -w 6000.0,6079.2,0.8 -n 5",
                 out, "PSF " + small_psf);
  // Grids off the PSF, not increasing, or malformed.
  expect_failure(base_args(out) + " -w 3000.0,3100.0,0.8", out, "-w/--wavelength");
  expect_failure(base_args(out) + " -w 6000.0,5900.0,0.8", out, "-w/--wavelength");
  expect_failure(base_args(out) + " -w 6000.0,6079.2", out, "-w/--wavelength");
  // Fibres past the PSF's last.
  expect_failure(base_args(out) + " -n 31", out, "--nspec");
  // Options with bad values.
  expect_failure(base_args(out) + " --nsubbundles 3", out, "--nsubbundles");
  expect_failure(base_args(out) + " --compat spectre", out, "--compat");
  expect_failure(base_args(out) + " --dtype f2", out, "--dtype");
  expect_failure(base_args(out) + " --threads -1", out, "--threads");
  // Missing, non-FITS and truncated inputs.
  expect_failure(base_args(out) + " -i " + dir + "/missing.fits", out, dir + "/missing.fits");
  const std::string text = dir + "/text.fits";
  std::ofstream(text) << "not a FITS file\n";
  expect_failure(base_args(out) + " -i " + text, out, text);
  const std::string truncated = dir + "/truncated.fits";
  {
    std::ifstream src(inputs().preproc, std::ios::binary);
    std::ofstream dst(truncated, std::ios::binary);
    std::vector<char> head(2880 * 20);
    src.read(head.data(), static_cast<std::streamsize>(head.size()));
    dst.write(head.data(), src.gcount());
  }
  expect_failure(base_args(out) + " -i " + truncated, out, truncated);
  // An output folder that does not exist.
  const std::string nowhere = dir + "/no/such/folder/frame.fits";
  expect_failure(base_args(nowhere), nowhere, nowhere);
}

TEST(CliExtract, NanPixelsAreMaskedWithAWarning) {
  // Copy the preproc and poison three weighted IMAGE pixels inside the fibres' footprint.
  const libextract::Image image = libextract::read_preproc(inputs().preproc);
  const std::string nan_preproc = inputs().dir + "/nan-preproc.fits";
  ASSERT_EQ(std::system(("cp " + inputs().preproc + " " + nan_preproc).c_str()), 0);
  fitsfile* f = nullptr;
  int status = 0;
  fits_open_file(&f, nan_preproc.c_str(), READWRITE, &status);
  char extname[] = "IMAGE";
  fits_movnam_hdu(f, ANY_HDU, extname, 0, &status);
  int poisoned = 0;
  for (std::size_t i = 0; i < image.pixels.size() && poisoned < 3; ++i) {
    if (image.ivar[i] > 0 && image.pixels[i] > 100.0) {
      float nan = std::nanf("");
      fits_write_img(f, TFLOAT, static_cast<long long>(i) + 1, 1, &nan, &status);
      ++poisoned;
    }
  }
  fits_close_file(f, &status);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(poisoned, 3);
  const std::string out = inputs().dir + "/nan-frame.fits";
  const CliResult r =
      run("-i " + nan_preproc + " -p " + inputs().psf + " -o " + out + " -w 6000.0,6079.2,0.8 -n 5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("3 NaN/Inf pixels"), std::string::npos) << r.output;
  const libextract::Frame frame = libextract::read_frame(out);
  for (std::size_t i = 0; i < frame.flux.size(); ++i) {
    ASSERT_TRUE(std::isfinite(frame.flux[i]) && std::isfinite(frame.ivar[i])) << "bin " << i;
  }
}

}  // namespace
