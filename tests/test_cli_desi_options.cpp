// labels: cli
// `libextract extract` takes desi_extract_spectra's command lines: --use-specter and
// --no-gpu are --compat specter and --backend cpu, -f/--fibermap's rows replace the
// preproc's FIBERMAP, --no-scores is accepted, --barycentric-correction is refused
// with a pointer to libextract-desi-extract; no simulator keyword reaches the frame.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fitsio.h>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace {

struct Inputs {
  std::string dir, psf, preproc, fibermap, short_fibermap;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs i;
    i.dir = libextract_test::scratch_dir() + "/cli-desi-options";
    ::mkdir(i.dir.c_str(), 0755);
    i.psf = i.dir + "/psf.fits";
    libextract::SyntheticPsfOptions o;
    o.nspec = 30;
    libextract::write_synthetic_psf(i.psf, o);
    const libextract::Psf psf = libextract::Psf::load(i.psf);
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{6000.0, 6079.2, 0.8};
    sim.nspec = 5;
    sim.badpix = 3;
    const auto result = libextract::simulate_image(psf, sim);
    i.preproc = i.dir + "/preproc.fits";
    libextract::write_preproc(i.preproc, result.image, result.fibers);
    // A petal-1-like fibermap: FIBER 500..529, so only its row order says which rows.
    std::vector<int> fibers;
    for (int f = 500; f < 530; ++f) fibers.push_back(f);
    i.fibermap = i.dir + "/fibermap.fits";
    libextract::write_preproc(i.fibermap, result.image, fibers);
    i.short_fibermap = i.dir + "/short-fibermap.fits";
    libextract::write_preproc(i.short_fibermap, result.image, std::vector<int>{0, 1, 2});
    return i;
  }();
  return in;
}

struct CliResult {
  int status;
  std::string output;
};

CliResult run(const std::string& args) {
  const std::string command = libextract_test::cli_path() + " extract " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string args_for(const std::string& output) {
  return "-i " + inputs().preproc + " -p " + inputs().psf + " -o " + output +
         " -w 6000.0,6079.2,0.8 -n 5 --bundlesize 5 --dtype f8 -q";
}

libextract::Frame extract_ok(const std::string& extra, const std::string& name) {
  const std::string out = inputs().dir + "/" + name;
  std::remove(out.c_str());
  const CliResult r = run(args_for(out) + " " + extra);
  EXPECT_EQ(r.status, 0) << r.output;
  return libextract::read_frame(out);
}

void expect_refused(const std::string& extra, const std::string& must_mention) {
  const std::string out = inputs().dir + "/refused.fits";
  std::remove(out.c_str());
  const CliResult r = run(args_for(out) + " " + extra);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(must_mention), std::string::npos) << r.output;
  EXPECT_FALSE(libextract_test::file_exists(out)) << extra;
}

std::vector<long long> fibermap_column(const std::string& path, const char* column) {
  fitsfile* f = nullptr;
  int status = 0, col = 0;
  long rows = 0;
  fits_open_file(&f, path.c_str(), READONLY, &status);
  char hdu[] = "FIBERMAP";
  fits_movnam_hdu(f, BINARY_TBL, hdu, 0, &status);
  fits_get_num_rows(f, &rows, &status);
  fits_get_colnum(f, CASEINSEN, const_cast<char*>(column), &col, &status);
  std::vector<long long> values(static_cast<std::size_t>(rows));
  fits_read_col(f, TLONGLONG, col, 1, 1, rows, nullptr, values.data(), nullptr, &status);
  fits_close_file(f, &status);
  EXPECT_EQ(status, 0) << path;
  return values;
}

TEST(CliDesiOptions, UseSpecterAndNoGpuAreCompatAndBackend) {
  const libextract::Frame desi = extract_ok("--use-specter --no-gpu --no-scores", "desi.fits");
  const libextract::Frame ours = extract_ok("--compat specter --backend cpu", "ours.fits");
  const libextract::Frame gpu_specter = extract_ok("--no-gpu", "gpu_specter.fits");
  EXPECT_EQ(desi.compat, "specter");
  EXPECT_EQ(desi.flux, ours.flux);
  EXPECT_EQ(desi.ivar, ours.ivar);
  EXPECT_EQ(desi.resolution, ours.resolution);
  EXPECT_NE(desi.flux, gpu_specter.flux);  // the compat mode really changed
  expect_refused("--use-specter --compat gpu_specter", "--use-specter");
  expect_refused("--no-gpu --backend cuda", "--no-gpu");
}

TEST(CliDesiOptions, FibermapRowsReplaceThePreprocs) {
  const std::string out = inputs().dir + "/with-fibermap.fits";
  extract_ok("-f " + inputs().fibermap, "with-fibermap.fits");
  EXPECT_EQ(fibermap_column(out, "FIBER"), (std::vector<long long>{500, 501, 502, 503, 504}));
  EXPECT_EQ(fibermap_column(out, "TARGETID"),
            (std::vector<long long>{1000500, 1000501, 1000502, 1000503, 1000504}));
  const std::string out2 = inputs().dir + "/with-fibermap-specmin.fits";
  std::remove(out2.c_str());
  // Fibres 2..4 of the frame: rows 2..4 of the file.
  const CliResult r = run("-i " + inputs().preproc + " -p " + inputs().psf + " -o " + out2 +
                          " -w 6000.0,6079.2,0.8 -s 2 -n 3 --bundlesize 3 --nsubbundles 1 -q --fibermap " +
                          inputs().fibermap);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(fibermap_column(out2, "FIBER"), (std::vector<long long>{502, 503, 504}));
  // Without -f the preproc's own FIBERMAP (FIBER 0..4).
  const std::string plain = inputs().dir + "/plain.fits";
  extract_ok("", "plain.fits");
  EXPECT_EQ(fibermap_column(plain, "FIBER"), (std::vector<long long>{0, 1, 2, 3, 4}));
}

TEST(CliDesiOptions, FibermapTooShortIsNamedAndNothingWritten) {
  const std::string out = inputs().dir + "/short.fits";
  std::remove(out.c_str());
  const CliResult r = run(args_for(out) + " -f " + inputs().short_fibermap);  // 3 rows for 5 fibres
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(inputs().short_fibermap), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("-f/--fibermap"), std::string::npos) << r.output;
  EXPECT_FALSE(libextract_test::file_exists(out));
}

TEST(CliDesiOptions, BarycentricCorrectionIsRefusedWithThePointer) {
  expect_refused("--barycentric-correction", "libextract-desi-extract");
}

TEST(CliDesiOptions, NoSimulatorKeywordReachesTheFrame) {
  const libextract::Frame frame = extract_ok("", "keywords.fits");
  ASSERT_FALSE(frame.header_cards.empty());
  for (const std::string& card : frame.header_cards) {
    EXPECT_FALSE(libextract::is_simulation_card(card)) << card;
    for (const char* keyword :
         {"SEED", "PACKXMIN", "PACKYMAX", "LATPAD", "IVARFROM", "NOISELES", "PSFFILE"}) {
      EXPECT_NE(card.rfind(std::string(keyword) + " ", 0), 0u) << card;
    }
  }
  // The preproc does carry them: the filter, not their absence, keeps them out.
  const libextract::Image image = libextract::read_preproc(inputs().preproc);
  int simulation_cards = 0;
  for (const std::string& card : image.header_cards) simulation_cards += libextract::is_simulation_card(card);
  EXPECT_GE(simulation_cards, 10);
}

}  // namespace
