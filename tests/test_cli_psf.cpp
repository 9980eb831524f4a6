// labels: cli reference
// `libextract psf info|make|spots` as a user runs them: the built executable, its exit
// status, what it prints, and the files it writes (read back and compared bit for bit
// with the library), plus the failures a user can provoke, each of which must exit
// non-zero, name what is wrong and leave no output file behind.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::Compat;
using libextract::Psf;
using libextract::SpotBatch;
using libextract::SpotRequest;
using libextract::detail::FitsFile;
using libextract_test::shared_file;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

// Runs `libextract <args>` with stdout and stderr captured in files beside `dir`.
RunResult run_cli(const std::string& args, const std::string& dir) {
  const std::string out = dir + ".stdout", err = dir + ".stderr";
  const std::string command =
      quote(libextract_test::cli_path()) + " " + args + " > " + quote(out) + " 2> " + quote(err);
  const int status = std::system(command.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

// A fresh, empty folder for one test's files.
std::string fresh_dir(const std::string& name) {
  const std::string dir = libextract_test::scratch_dir() + "/cli-" + name;
  std::system(("rm -rf " + quote(dir) + " && mkdir -p " + quote(dir)).c_str());
  return dir;
}

std::set<std::string> dir_entries(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.insert(name);
    }
    ::closedir(d);
  }
  return names;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliPsf, InfoDescribesBothReferencePsfs) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  const std::string dir = fresh_dir("info");
  const RunResult r0 = run_cli("psf info " + quote(shared_file("psf-r0-00051060.fits")), dir);
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  EXPECT_TRUE(contains(r0.out, "GAUSS-HERMITE v3")) << r0.out;
  EXPECT_TRUE(contains(r0.out, "500 (0..499)")) << r0.out;
  EXPECT_TRUE(contains(r0.out, "4114 columns x 4128 rows")) << r0.out;
  EXPECT_TRUE(contains(r0.out, "11 rows x 17 columns")) << r0.out;
  EXPECT_TRUE(contains(r0.out, "5545.887613 .. 7801.212473")) << r0.out;  // psf.wmin/wmax of specter
  const RunResult v2 = run_cli("psf info " + quote(shared_file("psf-gausshermite-v2.fits")), dir);
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_TRUE(contains(v2.out, "GAUSS-HERMITE v2")) << v2.out;
  EXPECT_TRUE(contains(v2.out, "25 (0..24)")) << v2.out;
  EXPECT_TRUE(contains(v2.out, "17 rows x 29 columns")) << v2.out;
}

// `psf make` writes the same PSF as the library call with the same options.
TEST(CliPsf, MakeWritesALoadableSyntheticPsf) {
  const std::string dir = fresh_dir("make");
  const std::string path = dir + "/made.fits";
  const RunResult r =
      run_cli("psf make -o " + quote(path) + " --camera b --seed 5 --nspec 60 --hsize-x 7", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "60 fibres")) << r.err;
  const Psf made = Psf::load(path);
  EXPECT_EQ(made.nspec(), 60);
  EXPECT_EQ(made.hsize_x(), 7);
  EXPECT_EQ(made.hsize_y(), 5);
  EXPECT_EQ(made.trace_wavemin(), 3520.0);  // the b camera, wide enough for the 3600-5800 grid
  EXPECT_EQ(made.trace_wavemax(), 5949.0);

  libextract::SyntheticPsfOptions options = libextract::synthetic_psf_for_camera('b');
  options.seed = 5;
  options.nspec = 60;
  options.hsize_x = 7;
  libextract::write_synthetic_psf(dir + "/library.fits", options);
  const Psf library = Psf::load(dir + "/library.fits");
  for (int f : {0, 31, 59}) {
    for (double w : {3700.0, 4800.0, 5900.0}) {
      EXPECT_EQ(made.x(f, w), library.x(f, w));
      EXPECT_EQ(made.y(f, w), library.y(f, w));
      EXPECT_EQ(made.param("GHSIGY", f, w), library.param("GHSIGY", f, w));
      EXPECT_EQ(made.param("GH-2-1", f, w), library.param("GH-2-1", f, w));
    }
  }
}

// The points file of the spots tests: comments, blank lines, tabs, windowed lines,
// an empty stamp (below the valid range) and a bottom-edge stamp.
std::vector<SpotRequest> write_points(const Psf& psf, const std::string& path) {
  std::vector<SpotRequest> requests = {
      {0, 6000.0, false, {}},
      {250, 6690.0, false, {}},
      {499, 7500.0, false, {}},
      {0, psf.wavemin_fiber(0) + 1.0, false, {}},  // bottom edge: a short / cut stamp
      {1, psf.wavemin_fiber(1) - 1.0, false, {}},  // below the valid range: empty in specter
  };
  for (SpotRequest& r : requests) r.fiber = r.fiber % psf.nspec();  // the v2 file has 25 fibres
  // Windowed requests cutting each side of a stamp, and one missing it.
  const int f = psf.nspec() / 2;
  const double w = 0.5 * (psf.wavemin_fiber(f) + psf.wavemax_fiber(f));
  const int cx = static_cast<int>(std::lround(psf.x(f, w)));
  const int cy = static_cast<int>(std::lround(psf.y(f, w)));
  requests.push_back({f, w, true, {cx - 2, cx + 40, cy - 40, cy + 40}});
  requests.push_back({f, w, true, {cx - 40, cx + 3, cy - 40, cy + 40}});
  requests.push_back({f, w, true, {cx - 40, cx + 40, cy + 1, cy + 40}});
  requests.push_back({f, w, true, {cx - 40, cx + 40, cy - 40, cy - 1}});
  requests.push_back({f, w, true, {0, 10, 0, 10}});
  std::ostringstream text;
  text.precision(17);
  text << "# fiber wavelength [wxmin wxmax wymin wymax]\n\n";
  for (std::size_t s = 0; s < requests.size(); ++s) {
    const SpotRequest& r = requests[s];
    text << r.fiber << (s % 2 ? "\t" : "  ") << r.wavelength;
    if (r.has_window)
      text << " " << r.window.xmin << " " << r.window.xmax << " " << r.window.ymin << " " << r.window.ymax;
    text << (s == 1 ? "   # a trailing comment\n" : "\n");
  }
  write_text(path, text.str());
  return requests;
}

template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(T)) == 0;
}

// Runs `psf spots` and compares every column of the output with evaluate_spots.
void check_spots_command(const std::string& psf_path, Compat compat, const std::string& tdim) {
  const Psf psf = Psf::load(psf_path);
  const std::string dir = fresh_dir(std::string("spots-") + to_string(compat));
  const std::string points = dir + "/points.txt", output = dir + "/spots.fits";
  const std::vector<SpotRequest> requests = write_points(psf, points);
  const RunResult r = run_cli("psf spots --psf " + quote(psf_path) + " --points " + quote(points) + " -o " +
                                  quote(output) + " --backend cpu --compat " + to_string(compat),
                              dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, std::to_string(requests.size()) + " spots")) << r.err;
  const SpotBatch want = libextract::evaluate_spots(psf, requests, compat);

  FitsFile file = FitsFile::open_read(output);
  ASSERT_TRUE(file.try_move_to("SPOTS"));
  const std::size_t n = requests.size();
  ASSERT_EQ(file.row_count(), static_cast<long long>(n));
  EXPECT_EQ(file.read_key_string("COMPAT").value_or(""), to_string(compat));
  EXPECT_EQ(file.read_key_string("TDIM" + std::to_string(file.column_number("SPOT"))).value_or(""), tdim);
  const auto fiber = file.read_column_int("FIBER");
  const auto wave = file.read_column_double("WAVELENGTH");
  const auto x = file.read_column_double("X");
  const auto y = file.read_column_double("Y");
  const auto xlo = file.read_column_int("XLO"), ylo = file.read_column_int("YLO");
  const auto nx = file.read_column_int("NX"), ny = file.read_column_int("NY");
  const auto wxmin = file.read_column_int("WXMIN"), wxmax = file.read_column_int("WXMAX");
  const auto wymin = file.read_column_int("WYMIN"), wymax = file.read_column_int("WYMAX");
  const auto spot = file.read_column_double("SPOT");
  ASSERT_EQ(spot.size(), want.values.size());
  EXPECT_TRUE(same_bits(x.data(), want.x.data(), n));
  EXPECT_TRUE(same_bits(y.data(), want.y.data(), n));
  EXPECT_TRUE(same_bits(spot.data(), want.values.data(), spot.size())) << "SPOT differs from evaluate_spots";
  int empty = 0;
  for (std::size_t s = 0; s < n; ++s) {
    SCOPED_TRACE("row " + std::to_string(s));
    const SpotRequest& q = requests[s];
    EXPECT_EQ(fiber[s], q.fiber);
    EXPECT_EQ(wave[s], q.wavelength);  // printed with 17 digits: the same double
    EXPECT_EQ(xlo[s], want.xlo[s]);
    EXPECT_EQ(ylo[s], want.ylo[s]);
    EXPECT_EQ(nx[s], want.nx[s]);
    EXPECT_EQ(ny[s], want.ny[s]);
    EXPECT_EQ(wxmin[s], q.has_window ? q.window.xmin : 0);
    EXPECT_EQ(wxmax[s], q.has_window ? q.window.xmax : psf.npix_x());
    EXPECT_EQ(wymin[s], q.has_window ? q.window.ymin : 0);
    EXPECT_EQ(wymax[s], q.has_window ? q.window.ymax : psf.npix_y());
    empty += nx[s] == 0;
  }
  EXPECT_GE(empty, 1);  // the window that misses the stamp

  ASSERT_TRUE(file.try_move_to("WRANGE"));
  ASSERT_EQ(file.row_count(), psf.nspec());
  const auto wmin = file.read_column_double("WAVEMIN");
  const auto wmax = file.read_column_double("WAVEMAX");
  for (int f = 0; f < psf.nspec(); ++f) {
    EXPECT_EQ(wmin[f], psf.wavemin_fiber(f));
    EXPECT_EQ(wmax[f], psf.wavemax_fiber(f));
  }
  EXPECT_EQ(dir_entries(dir), (std::set<std::string>{"points.txt", "spots.fits"}));  // no temporary left
}

TEST(CliPsf, SpotsMatchLibrarySpecterR0) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  check_spots_command(shared_file("psf-r0-00051060.fits"), Compat::specter, "(17,11)");
}

TEST(CliPsf, SpotsMatchLibraryGpuSpecterR0) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  check_spots_command(shared_file("psf-r0-00051060.fits"), Compat::gpu_specter, "(17,11)");
}

TEST(CliPsf, SpotsMatchLibrarySpecterV2) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  check_spots_command(shared_file("psf-gausshermite-v2.fits"), Compat::specter, "(29,17)");
}

// --- failures -------------------------------------------------------------------

// A synthetic PSF for the failure cases, so they need no shared data.
std::string small_psf(const std::string& dir) {
  libextract::SyntheticPsfOptions options;
  options.nspec = 30;
  const std::string path = dir + "/psf.fits";
  libextract::write_synthetic_psf(path, options);
  return path;
}

// Runs a failing `psf spots` in `dir` and checks exit status, message and leftovers.
void expect_spots_failure(const std::string& dir, const std::string& args,
                          const std::vector<std::string>& mentions) {
  const std::set<std::string> before = dir_entries(dir);
  const RunResult r = run_cli("psf spots " + args + " -o " + quote(dir + "/out.fits"), dir);
  EXPECT_NE(r.exit_code, 0) << "args: " << args;
  EXPECT_NE(r.exit_code, 70) << "an internal error, not a diagnosed one: " << r.err;
  EXPECT_TRUE(contains(r.err, "libextract: error:")) << r.err;
  for (const std::string& m : mentions)
    EXPECT_TRUE(contains(r.err, m)) << "message lacks '" << m << "': " << r.err;
  EXPECT_EQ(dir_entries(dir), before) << "the failed run left files behind";
}

TEST(CliPsf, SpotsMissingPsfFile) {
  const std::string dir = fresh_dir("missing-psf");
  write_text(dir + "/points.txt", "0 6000\n");
  const std::string psf = dir + "/no-such-psf.fits";
  expect_spots_failure(dir, "--psf " + quote(psf) + " --points " + quote(dir + "/points.txt"), {psf});
}

TEST(CliPsf, SpotsPsfThatIsNotFits) {
  const std::string dir = fresh_dir("not-fits");
  write_text(dir + "/points.txt", "0 6000\n");
  write_text(dir + "/text.fits", "this is not a FITS file\n");
  expect_spots_failure(dir, "--psf " + quote(dir + "/text.fits") + " --points " + quote(dir + "/points.txt"),
                       {dir + "/text.fits"});
}

TEST(CliPsf, SpotsMissingPointsFile) {
  const std::string dir = fresh_dir("missing-points");
  const std::string psf = small_psf(dir);
  expect_spots_failure(dir, "--psf " + quote(psf) + " --points " + quote(dir + "/nope.txt"),
                       {dir + "/nope.txt"});
}

TEST(CliPsf, SpotsMalformedPointsLine) {
  const std::string dir = fresh_dir("bad-line");
  const std::string psf = small_psf(dir);
  const std::string points = dir + "/points.txt";
  write_text(points, "# header\n0 6000\n1 6000.5x\n");
  expect_spots_failure(dir, "--psf " + quote(psf) + " --points " + quote(points), {points + ":3", "6000.5x"});
  write_text(points, "0 6000\n\n2 6000 1 2 3\n");  // a window needs four numbers
  expect_spots_failure(dir, "--psf " + quote(psf) + " --points " + quote(points),
                       {points + ":3", "5 fields"});
}

TEST(CliPsf, SpotsFiberOutOfRange) {
  const std::string dir = fresh_dir("bad-fiber");
  const std::string psf = small_psf(dir);
  const std::string points = dir + "/points.txt";
  write_text(points, "0 6000\n30 6000\n");
  // The message names the fibre, the valid range and the PSF.
  expect_spots_failure(dir, "--psf " + quote(psf) + " --points " + quote(points), {"fiber 30", "0..29", psf});
}

TEST(CliPsf, SpotsUnknownOptionAndBadValues) {
  const std::string dir = fresh_dir("bad-option");
  const std::string psf = small_psf(dir);
  write_text(dir + "/points.txt", "0 6000\n");
  const std::string base = "--psf " + quote(psf) + " --points " + quote(dir + "/points.txt");
  expect_spots_failure(dir, base + " --frobnicate 3", {"--frobnicate"});
  expect_spots_failure(dir, base + " --compat speckter", {"--compat", "speckter"});
  if (!libextract::cuda_compiled()) expect_spots_failure(dir, base + " --backend cuda", {"cuda"});
}

// The output cannot be created: the failure happens while writing, after the spots
// were evaluated, and must still leave neither the file nor its temporary behind.
TEST(CliPsf, SpotsUnwritableOutput) {
  const std::string dir = fresh_dir("unwritable");
  const std::string psf = small_psf(dir);
  write_text(dir + "/points.txt", "0 6000\n");
  const std::set<std::string> before = dir_entries(dir);
  const std::string output = dir + "/no-such-folder/out.fits";
  const RunResult r = run_cli(
      "psf spots --psf " + quote(psf) + " --points " + quote(dir + "/points.txt") + " -o " + quote(output),
      dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 70) << r.err;
  EXPECT_TRUE(contains(r.err, dir + "/no-such-folder/out.fits")) << r.err;
  EXPECT_EQ(dir_entries(dir), before);
}

TEST(CliPsf, MakeRejectsBadOptionsWithoutWriting) {
  const std::string dir = fresh_dir("make-bad");
  const RunResult r = run_cli("psf make -o " + quote(dir + "/psf.fits") + " --nspec 0", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--nspec")) << r.err;
  const RunResult c = run_cli("psf make -o " + quote(dir + "/psf.fits") + " --camera q", dir);
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(contains(c.err, "--camera")) << c.err;
  EXPECT_TRUE(dir_entries(dir).empty());
}

}  // namespace
