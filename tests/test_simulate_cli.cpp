// labels: cli
// `libextract simulate` end to end: outputs, the summary line, --help, and errors that
// name the option and leave no file behind.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract_test::cli_path;
using libextract_test::file_exists;
using libextract_test::scratch_dir;

struct CliRun {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

CliRun run(const std::string& arguments) {
  const std::string out = scratch_dir() + "/cli.out", err = scratch_dir() + "/cli.err";
  const std::string command = cli_path() + " " + arguments + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  CliRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

const std::string& psf_path() {
  static const std::string path = [] {
    libextract::SyntheticPsfOptions options = libextract::synthetic_psf_for_camera('r');
    options.nspec = 25;
    const std::string p = scratch_dir() + "/cli-psf.fits";
    libextract::write_synthetic_psf(p, options);
    return p;
  }();
  return path;
}

TEST(SimulateCli, WritesPreprocAndTruth) {
  const std::string image = scratch_dir() + "/cli-preproc.fits", truth = scratch_dir() + "/cli-truth.fits";
  const CliRun r = run("simulate --psf " + psf_path() + " -o " + image + " --truth " + truth +
                       " -w 6000,6039.2,0.8 -s 2 -n 3 --seed 5 --cosmics 1 --badpix 4");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("libextract simulate: fibres 2..4"), std::string::npos) << r.err;
  const libextract::Image preproc = libextract::read_preproc(image);
  EXPECT_TRUE(preproc.has_fibermap);
  long long masked = 0;
  for (int m : preproc.mask) masked += (m != 0);
  EXPECT_GE(masked, 4 + 10);
  const libextract::SimulationTruth t = libextract::read_truth(truth);
  EXPECT_EQ(t.specmin, 2);
  EXPECT_EQ(t.nspec, 3);
  EXPECT_EQ(t.nsim(), 50 + 2 * 62);
  EXPECT_EQ(t.seed, 5u);
  std::remove(image.c_str());
  std::remove(truth.c_str());
}

TEST(SimulateCli, DefaultGridAndNoiseless) {
  const std::string image = scratch_dir() + "/cli-noiseless.fits.gz",
                    truth = scratch_dir() + "/cli-nl-truth.fits";
  const CliRun r =
      run("simulate --psf " + psf_path() + " -o " + image + " --truth " + truth + " -n 2 --noiseless");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("5760.0,5919.2,0.8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("noiseless"), std::string::npos) << r.err;
  const libextract::SimulationTruth t = libextract::read_truth(truth);
  EXPECT_TRUE(t.noiseless);
  const libextract::Image preproc = libextract::read_preproc(image);
  // The stored image is the float32 model.
  const auto& w = t.model_window;
  long long mismatches = 0;
  for (int y = w.ymin; y < w.ymax; ++y)
    for (int x = w.xmin; x < w.xmax; ++x)
      mismatches +=
          preproc.pixel(y, x) !=
          static_cast<double>(static_cast<float>(t.model[(y - w.ymin) * (w.xmax - w.xmin) + (x - w.xmin)]));
  EXPECT_EQ(mismatches, 0);
  std::remove(image.c_str());
  std::remove(truth.c_str());
}

TEST(SimulateCli, HelpListsTheOptions) {
  const CliRun r = run("simulate --help");
  EXPECT_EQ(r.rc, 0);
  for (const char* option :
       {"--psf", "--truth", "--wavelength", "--nspec", "--seed", "--noiseless", "--cosmics"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST(SimulateCli, ErrorsNameTheOptionAndLeaveNothing) {
  const std::string image = scratch_dir() + "/cli-bad.fits", truth = scratch_dir() + "/cli-bad-truth.fits";
  const std::string outputs = " -o " + image + " --truth " + truth;
  CliRun r = run("simulate --psf " + psf_path() + outputs + " -n 40");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("-n/--nspec"), std::string::npos) << r.err;
  r = run("simulate --psf " + psf_path() + outputs + " -w 3000,3100,0.8");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("-w/--wavelength"), std::string::npos) << r.err;
  r = run("simulate --psf " + psf_path() + outputs + " -w 6000,6100");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("-w/--wavelength"), std::string::npos) << r.err;
  r = run("simulate -o " + image + " --truth " + truth);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--psf"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(image));
  EXPECT_FALSE(file_exists(truth));

  // An unwritable truth path: neither output survives.
  const std::string missing = scratch_dir() + "/no-such-dir/truth.fits";
  r = run("simulate --psf " + psf_path() + " -o " + image + " --truth " + missing + " -n 2");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("truth.fits"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(image));
}

}  // namespace
