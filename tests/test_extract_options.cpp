// labels: unit cli
// ExtractOptions' one table and one validation function: every numeric row's range is
// enforced and the error names the field as each boundary spells it; the rules between
// fields and against the PSF; the CLI's --help shows the struct's defaults.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::ExtractOptions;
using libextract::ExtractOptionSpec;
using libextract::OptionSpelling;

// The message of the invalid_argument error `options` raises, or "" when it passes.
std::string rejection(const ExtractOptions& options, OptionSpelling spelling,
                      const libextract::Psf* psf = nullptr) {
  try {
    libextract::validate_extract_options(options, spelling, psf);
  } catch (const libextract::Error& e) {
    EXPECT_EQ(e.code(), libextract::ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

bool numeric(const ExtractOptionSpec& spec) {
  return spec.kind == ExtractOptionSpec::Kind::integer || spec.kind == ExtractOptionSpec::Kind::real;
}

TEST(ExtractOptions, DefaultsPassAndSpellingsAreDistinct) {
  EXPECT_EQ(rejection(ExtractOptions{}, OptionSpelling::cli), "");
  EXPECT_EQ(libextract::option_name("nwavestep", OptionSpelling::cli), "--nwavestep");
  EXPECT_EQ(libextract::option_name("nwavestep", OptionSpelling::python), "nwavestep");
  EXPECT_EQ(libextract::option_name("grid", OptionSpelling::cli), "-w/--wavelength");
  EXPECT_EQ(libextract::option_name("grid", OptionSpelling::python), "wavelengths");
  EXPECT_EQ(libextract::option_name("pixpad_frac", OptionSpelling::cli), "--pixpad-frac");
  EXPECT_EQ(libextract::option_name("backend.threads", OptionSpelling::field), "backend.threads");
  EXPECT_THROW(libextract::option_name("no_such_field", OptionSpelling::cli), libextract::Error);
}

TEST(ExtractOptions, EveryNumericRangeIsEnforcedAndNamed) {
  int checked = 0;
  for (const ExtractOptionSpec& spec : libextract::extract_option_table()) {
    if (!numeric(spec)) continue;
    ASSERT_TRUE(spec.get && spec.set) << spec.field;
    std::vector<double> bad{spec.min - 1};
    if (std::isfinite(spec.max)) bad.push_back(spec.max + 1);
    if (spec.kind == ExtractOptionSpec::Kind::real) bad.push_back(std::nan(""));
    for (double value : bad) {
      ExtractOptions o;
      spec.set(o, value);
      for (OptionSpelling spelling : {OptionSpelling::cli, OptionSpelling::python, OptionSpelling::field}) {
        const std::string name = libextract::option_name(spec.field, spelling);
        const std::string message = rejection(o, spelling);
        EXPECT_EQ(message.rfind(name + ": ", 0), 0u) << spec.field << " = " << value << ": " << message;
      }
      ++checked;
    }
    // The bounds themselves are allowed (unless a rule between fields forbids them).
    for (double value : {spec.min, std::isfinite(spec.max) ? spec.max : spec.min + 1}) {
      ExtractOptions o;
      o.compat = libextract::Compat::specter;  // no sub-bundle divisibility rule
      spec.set(o, value);
      if (std::string(spec.field) == "bundlesize") o.nsubbundles = 1;
      EXPECT_EQ(rejection(o, OptionSpelling::cli), "") << spec.field << " = " << value;
    }
  }
  EXPECT_GE(checked, 15);
}

TEST(ExtractOptions, RulesBetweenFields) {
  ExtractOptions o;
  o.bundlesize = 4;
  o.nsubbundles = 5;  // more sub-bundles than fibres
  EXPECT_EQ(rejection(o, OptionSpelling::python).rfind("nsubbundles: ", 0), 0u);
  o.bundlesize = 25;
  o.nsubbundles = 3;  // 25 // 3 = 8 fibres per sub-bundle does not divide 25 (gpu_specter)
  EXPECT_EQ(rejection(o, OptionSpelling::cli).rfind("--nsubbundles: ", 0), 0u);
  o.compat = libextract::Compat::specter;  // specter splits unevenly: allowed
  EXPECT_EQ(rejection(o, OptionSpelling::cli), "");
  o.nspec = -1;  // unset: every fibre to the PSF's last
  EXPECT_EQ(rejection(o, OptionSpelling::cli), "");
}

TEST(ExtractOptions, FibresAgainstThePsf) {
  const std::string path = libextract_test::scratch_dir() + "/options-psf.fits";
  libextract::SyntheticPsfOptions synthetic;
  synthetic.nspec = 30;
  libextract::write_synthetic_psf(path, synthetic);
  const libextract::Psf psf = libextract::Psf::load(path);
  ExtractOptions o;
  EXPECT_EQ(rejection(o, OptionSpelling::cli, &psf), "");
  o.specmin = 30;
  EXPECT_EQ(rejection(o, OptionSpelling::python, &psf).rfind("specmin: 30 is outside", 0), 0u);
  EXPECT_EQ(rejection(o, OptionSpelling::cli), "");  // without a PSF nothing to compare with
  o.specmin = 20;
  o.nspec = 11;
  EXPECT_EQ(rejection(o, OptionSpelling::cli, &psf).rfind("-n/--nspec: 11 is outside 1..10", 0), 0u);
  o.nspec = 10;
  EXPECT_EQ(rejection(o, OptionSpelling::cli, &psf), "");
  o.specmin = 0;
  o.nspec = -1;
  o.bundlesize = 31;  // more than max(the PSF's 30 fibres, 25)
  o.nsubbundles = 1;
  EXPECT_EQ(rejection(o, OptionSpelling::python, &psf).rfind("bundlesize: 31 is outside", 0), 0u);
}

TEST(ExtractOptions, CliHelpShowsTheStructDefaults) {
  FILE* pipe = ::popen((libextract_test::cli_path() + " extract --help 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string help;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) help += buffer;
  ASSERT_EQ(::pclose(pipe), 0);
  for (const ExtractOptionSpec& spec : libextract::extract_option_table()) {
    // "  --nwavestep N\n      core wavelength bins per patch (default: 50)\n"
    std::size_t at = help.find(std::string(spec.cli) + (*spec.metavar ? " " : "\n"));
    ASSERT_NE(at, std::string::npos) << spec.cli << " missing from --help:\n" << help;
    at = help.find('\n', at) + 1;
    const std::string line = help.substr(at, help.find('\n', at) - at);
    EXPECT_NE(line.find(spec.help), std::string::npos) << spec.cli << ": " << line;
    const std::string expected = libextract::option_default_text(spec);
    if (!expected.empty()) {
      EXPECT_NE(line.find("(default: " + expected + ")"), std::string::npos) << line;
    }
  }
  EXPECT_NE(help.find("(default: " + std::to_string(ExtractOptions{}.nsubbundles) + ")"), std::string::npos);
}

}  // namespace
