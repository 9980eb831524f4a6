// labels: cli
// Bad input never crashes, never destroys a file, never passes silently: headers are
// checked before CFITSIO trusts them, size-like options are ranged, two file options
// naming one file are refused before anything is written, names are literal, and
// outputs appear whole or not at all, also when the process is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fitsio.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "atomic_output.hpp"
#include "common/cli_run.hpp"
#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace {

using libextract_test::file_exists;
using libextract_test::run_cli;

struct Inputs {
  std::string dir, psf, preproc;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs i;
    i.dir = libextract_test::scratch_dir() + "/bad-input";
    ::mkdir(i.dir.c_str(), 0755);
    i.psf = i.dir + "/psf.fits";
    libextract::SyntheticPsfOptions o;
    o.nspec = 10;
    o.npix_x = 200;  // a small CCD keeps every run short
    o.npix_y = 1000;
    libextract::write_synthetic_psf(i.psf, o);
    const libextract::Psf psf = libextract::Psf::load(i.psf);
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{6000.0, 6039.2, 0.8};
    sim.nspec = 5;
    const auto result = libextract::simulate_image(psf, sim);
    i.preproc = i.dir + "/preproc.fits";
    libextract::write_preproc(i.preproc, result.image, result.fibers);
    return i;
  }();
  return in;
}

std::string extract_args(const std::string& output) {
  return "extract -i " + inputs().preproc + " -p " + inputs().psf + " -o " + output +
         " -w 6000.0,6039.2,0.8 -n 5 -q";
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A FITS primary header of the given cards, padded to whole blocks, plus `data_bytes`.
void write_header_file(const std::string& path, const std::vector<std::string>& cards,
                       std::size_t data_bytes) {
  std::string text;
  for (const std::string& c : cards) text += (c + std::string(80, ' ')).substr(0, 80);
  text += (std::string("END") + std::string(80, ' ')).substr(0, 80);
  text.resize((text.size() + 2879) / 2880 * 2880, ' ');
  text.append(data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << text;
}

std::string card(const std::string& key, const std::string& value) {
  std::string k = (key + "        ").substr(0, 8);
  return k + "= " + std::string(20 - std::min<std::size_t>(20, value.size()), ' ') + value;
}

std::string leftovers(const std::string& dir) {
  return run_cli("version >/dev/null; ls " + dir + " | grep '\\.tmp-' || true").output;
}

TEST(BadInput, HeaderThatWouldCrashCfitsioIsRefusedFirst) {
  const std::string path = inputs().dir + "/naxis500.fits";
  std::vector<std::string> cards = {card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "500")};
  for (int i = 1; i <= 500; ++i) cards.push_back(card("NAXIS" + std::to_string(i), "1"));
  write_header_file(path, cards, 2880);
  try {
    libextract::Psf::load(path);
    FAIL() << "accepted NAXIS = 500";
  } catch (const libextract::Error& e) {
    EXPECT_EQ(e.code(), libextract::ErrorCode::format_error);
    EXPECT_NE(std::string(e.what()).find(path + ", HDU 0: NAXIS = 500"), std::string::npos) << e.what();
  }
  const auto r = run_cli("psf info " + path);
  EXPECT_EQ(r.status, 1) << r.output;  // not 139
  EXPECT_NE(r.output.find("NAXIS = 500"), std::string::npos) << r.output;
}

TEST(BadInput, SizesClaimedByAHeaderAreCheckedAgainstTheFile) {
  // 5.8 KB claiming a 30000 x 30000 float image: refused at once, before any allocation.
  const std::string path = inputs().dir + "/claims-30000.fits";
  write_header_file(path,
                    {card("SIMPLE", "T"), card("BITPIX", "-32"), card("NAXIS", "2"), card("NAXIS1", "30000"),
                     card("NAXIS2", "30000")},
                    2880);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r =
      run_cli(extract_args(inputs().dir + "/never.fits").replace(11, inputs().preproc.size(), path));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(path + ", HDU 0: the header claims 3600000000 bytes"), std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 5.0);
  EXPECT_FALSE(file_exists(inputs().dir + "/never.fits"));
  // A negative axis and a BITPIX FITS does not have.
  write_header_file(
      path, {card("SIMPLE", "T"), card("BITPIX", "-32"), card("NAXIS", "1"), card("NAXIS1", "-4")}, 0);
  EXPECT_THROW(libextract::Psf::load(path), libextract::Error);
  write_header_file(path, {card("SIMPLE", "T"), card("BITPIX", "12"), card("NAXIS", "0")}, 0);
  EXPECT_THROW(libextract::Psf::load(path), libextract::Error);
}

// A copy of the test PSF with one edit made through CFITSIO in HDU PSF.
std::string edited_psf(const std::string& name, const std::function<void(fitsfile*, int*)>& edit) {
  const std::string path = inputs().dir + "/" + name;
  EXPECT_EQ(std::system(("cp " + inputs().psf + " " + path).c_str()), 0);
  fitsfile* f = nullptr;
  int status = 0;
  fits_open_file(&f, path.c_str(), READWRITE, &status);
  char extname[] = "PSF";
  fits_movnam_hdu(f, BINARY_TBL, extname, 0, &status);
  edit(f, &status);
  fits_close_file(f, &status);
  EXPECT_EQ(status, 0) << name;
  return path;
}

std::string load_error(const std::string& path) {
  try {
    libextract::Psf::load(path);
  } catch (const libextract::Error& e) {
    return e.what();
  }
  return "";
}

TEST(BadInput, InconsistentPsfTablesAreErrors) {
  // COEFF's length per fibre contradicts LEGDEG.
  const std::string legdeg = edited_psf("legdeg.fits", [](fitsfile* f, int* status) {
    long long wrong = 5;
    fits_update_key(f, TLONGLONG, "LEGDEG", &wrong, nullptr, status);
  });
  std::string what = load_error(legdeg);
  EXPECT_NE(what.find(legdeg), std::string::npos) << what;
  EXPECT_NE(what.find("LEGDEG = 5"), std::string::npos) << what;
  // Two rows for one parameter.
  const std::string twice = edited_psf("duplicate-row.fits", [](fitsfile* f, int* status) {
    char* names[1] = {nullptr};
    char text[32] = {0};
    names[0] = text;
    int column = 0;
    char param[] = "PARAM";
    fits_get_colnum(f, CASEINSEN, param, &column, status);
    fits_read_col(f, TSTRING, column, 1, 1, 1, nullptr, names, nullptr, status);
    fits_write_col(f, TSTRING, column, 2, 1, 1, names, status);
  });
  what = load_error(twice);
  EXPECT_NE(what.find("has two rows"), std::string::npos) << what;
  // A missing parameter row.
  const std::string missing = edited_psf("missing-row.fits", [](fitsfile* f, int* status) {
    char* names[1] = {nullptr};
    char text[] = "UNUSED";
    names[0] = text;
    int column = 0;
    char param[] = "PARAM";
    fits_get_colnum(f, CASEINSEN, param, &column, status);
    fits_write_col(f, TSTRING, column, 1, 1, 1, names, status);
  });
  what = load_error(missing);
  EXPECT_NE(what.find("is missing"), std::string::npos) << what;
}

TEST(BadInput, GzipInputsAreCappedWhenDecompressed) {
  const std::string gz = inputs().dir + "/psf-copy.fits.gz";
  ASSERT_EQ(std::system(("gzip -c " + inputs().psf + " > " + gz).c_str()), 0);
  EXPECT_NO_THROW(libextract::Psf::load(gz));
  ::setenv("LIBEXTRACT_MAX_GZIP_BYTES", "20000", 1);
  try {
    libextract::Psf::load(gz);
    ADD_FAILURE() << "the cap was not applied";
  } catch (const libextract::Error& e) {
    EXPECT_NE(std::string(e.what()).find("LIBEXTRACT_MAX_GZIP_BYTES"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(gz), std::string::npos) << e.what();
  }
  ::unsetenv("LIBEXTRACT_MAX_GZIP_BYTES");
}

TEST(BadInput, SizeLikeOptionsAreRangedNamingTheOption) {
  const std::string out = inputs().dir + "/ranged.fits";
  for (const auto& [option, name] :
       std::vector<std::pair<std::string, std::string>>{{"--nwavestep 100000", "--nwavestep"},
                                                        {"--threads 2000000000", "--threads"},
                                                        {"--threads 1025", "--threads"},
                                                        {"--wavepad 100000", "--wavepad"},
                                                        {"--bundlesize 100000", "--bundlesize"},
                                                        {"-n -5", "-n/--nspec"},
                                                        {"-s -1", "-s/--specmin"}}) {
    const auto r = run_cli(extract_args(out) + " " + option);
    EXPECT_EQ(r.status, 2) << option << ": " << r.output;
    EXPECT_NE(r.output.find(name), std::string::npos) << option << ": " << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    EXPECT_FALSE(file_exists(out)) << option;
  }
}

TEST(BadInput, TwoFileOptionsNamingOneFileAreRefusedBeforeAnyWrite) {
  const std::string& dir = inputs().dir;
  const std::string frame = dir + "/kept-frame.fits";
  ASSERT_EQ(run_cli(extract_args(frame)).status, 0);
  const std::string psf_before = contents(inputs().psf), preproc_before = contents(inputs().preproc);
  const std::string frame_before = contents(frame);
  const std::string link = dir + "/psf-hardlink.fits";
  std::remove(link.c_str());
  ASSERT_EQ(::link(inputs().psf.c_str(), link.c_str()), 0);
  const std::string base =
      "extract -i " + inputs().preproc + " -p " + inputs().psf + " -w 6000.0,6039.2,0.8 -n 5 -q";
  for (const auto& [args, names] : std::vector<std::pair<std::string, std::string>>{
           {" -o " + inputs().psf, "-o/--output"},
           {" -o " + dir + "/../bad-input/preproc.fits", "-i/--input"},
           {" -o " + link, "-p/--psf"},
           {" -o " + dir + "/new.fits -m " + dir + "/./new.fits", "-m/--model"},
           {" -o " + frame + " --timing " + frame, "--timing"},
           {" -o " + dir + "/f2.fits -m " + frame + " --timing " + frame, "--timing"}}) {
    const auto r = run_cli(base + args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find("is the same file as"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(names), std::string::npos) << r.output;
  }
  EXPECT_EQ(contents(inputs().psf), psf_before);
  EXPECT_EQ(contents(inputs().preproc), preproc_before);
  EXPECT_EQ(contents(frame), frame_before);
  EXPECT_FALSE(file_exists(dir + "/new.fits"));
  EXPECT_FALSE(file_exists(dir + "/f2.fits"));
  // The other commands' file options are covered by the same parser rule.
  const auto r = run_cli("simulate --psf " + inputs().psf + " -o " + dir + "/s.fits --truth " + dir +
                         "/s.fits -w 6000.0,6039.2,0.8 -n 2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--truth"), std::string::npos) << r.output;
}

TEST(BadInput, FileNamesAreTakenLiterally) {
  const std::string& dir = inputs().dir;
  for (const std::string name : {"x[1].fits", "c.fits[compress]"}) {
    const std::string out = dir + "/" + name;
    const auto r = run_cli(extract_args("'" + out + "'"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(file_exists(out)) << out;
    EXPECT_EQ(libextract::read_frame(out).nspec, 5);
  }
  EXPECT_FALSE(file_exists(dir + "/x"));
  EXPECT_FALSE(file_exists(dir + "/c.fits"));
  // A .gz output is compressed, and reads back.
  const std::string gz = dir + "/frame.fits.gz";
  ASSERT_EQ(run_cli(extract_args(gz)).status, 0);
  const std::string bytes = contents(gz);
  ASSERT_GT(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_EQ(libextract::read_frame(gz).nspec, 5);
  EXPECT_EQ(leftovers(dir), "");
}

TEST(BadInput, SigtermDuringAWriteRemovesTheTemporary) {
  const std::string out = inputs().dir + "/killed.fits";
  std::string temp;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    libextract::detail::AtomicOutput output(out);
    std::ofstream(output.temp_path()) << "half a file";
    ::raise(SIGTERM);  // the handler removes the temporary, then the default action ends us
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(leftovers(inputs().dir), "");
  EXPECT_FALSE(file_exists(out));
}

TEST(BadInput, LeftoversOfDeadProcessesOfTheSameOutputAreRemoved) {
  const std::string& dir = inputs().dir;
  const std::string out = dir + "/stale.fits";
  const pid_t dead = ::fork();
  if (dead == 0) std::_Exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string own = libextract::detail::temporary_name(out);
  const std::string host_prefix = own.substr(0, own.rfind('-') + 1);
  const std::string stale = host_prefix + std::to_string(dead);
  const std::string alive = host_prefix + "1";  // pid 1 lives
  const std::string other = dir + "/other.fits" + host_prefix.substr(out.size()) + std::to_string(dead);
  const std::string other_host = out + ".tmp-elsewhere-" + std::to_string(dead);
  for (const std::string& f : {stale, alive, other, other_host}) std::ofstream(f) << "x";
  ASSERT_EQ(run_cli(extract_args(out)).status, 0);
  EXPECT_FALSE(file_exists(stale));
  EXPECT_TRUE(file_exists(alive));
  EXPECT_TRUE(file_exists(other));
  EXPECT_TRUE(file_exists(other_host));
  for (const std::string& f : {alive, other, other_host}) std::remove(f.c_str());
}

TEST(BadInput, UncommittedOutputsLeaveTheOldFilesAndNoTemporaries) {
  const std::string& dir = inputs().dir;
  const std::string frame_path = dir + "/staged-frame.fits", model_path = dir + "/staged-model.fits";
  std::ofstream(frame_path) << "old frame";
  const libextract::Psf psf = libextract::Psf::load(inputs().psf);
  const libextract::Image image = libextract::read_preproc(inputs().preproc);
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{6000.0, 6039.2, 0.8};
  o.nspec = 5;
  o.model = true;
  const libextract::Frame frame = libextract::extract_frame(image, psf, o);
  {
    libextract::FrameOutputs outputs;
    outputs.stage_model(model_path, frame);
    outputs.stage_frame(frame_path, frame);
    outputs.stage_text(dir + "/staged.json", "{}\n");
  }  // destroyed before commit
  EXPECT_EQ(contents(frame_path), "old frame");
  EXPECT_FALSE(file_exists(model_path));
  EXPECT_EQ(leftovers(dir), "");
  {
    libextract::FrameOutputs outputs;
    outputs.stage_model(model_path, frame);
    outputs.stage_frame(frame_path, frame);
    outputs.commit();
  }
  EXPECT_EQ(libextract::read_frame(frame_path).nspec, 5);
  EXPECT_TRUE(file_exists(model_path));
}

// A copy of the test preproc with its ivar edited.
std::string edited_preproc(const std::string& name, const std::function<void(libextract::Image&)>& edit) {
  libextract::Image image = libextract::read_preproc(inputs().preproc);
  edit(image);
  const std::string path = inputs().dir + "/" + name;
  libextract::write_preproc(path, image);
  return path;
}

std::string with_input(const std::string& args, const std::string& input) {
  std::string out = args;
  return out.replace(out.find(inputs().preproc), inputs().preproc.size(), input);
}

TEST(BadInput, OneAbsurdIvarPixelIsMaskedAndCountedNotFatal) {
  const std::string path = edited_preproc("absurd-ivar.fits", [](libextract::Image& image) {
    std::size_t k = 0;
    while (!(image.ivar[k] > 0.0)) ++k;
    for (std::size_t seen = 0; seen < image.ivar.size() / 2; ++seen, ++k) {
      if (image.ivar[k] > 0 && image.pixels[k] > 50.0) break;  // a pixel on a trace
    }
    image.ivar[k] = 3e38;
  });
  const std::string out = inputs().dir + "/absurd-frame.fits", timing = inputs().dir + "/absurd.json";
  const std::string args = with_input(extract_args(out), path);
  const auto r = run_cli(args.substr(0, args.size() - 3) + " --timing " + timing);  // without -q
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 pixels of " + path + " with ivar outside 0..1e20 were masked"),
            std::string::npos)
      << r.output;
  EXPECT_NE(contents(timing).find("\"failed_patches\": 0,"), std::string::npos) << contents(timing);
  const libextract::Frame frame = libextract::read_frame(out);
  double ivar_sum = 0;
  for (double v : frame.ivar) {
    ASSERT_TRUE(std::isfinite(v));
    ivar_sum += v;
  }
  EXPECT_GT(ivar_sum, 0.0);
  EXPECT_EQ(frame.failed_patches, 0);
  EXPECT_GT(frame.patches, 0);
}

TEST(BadInput, NoDataInTheFootprintIsAnError) {
  const std::string path = edited_preproc("zero-ivar.fits", [](libextract::Image& image) {
    std::fill(image.ivar.begin(), image.ivar.end(), 0.0);
    image.mask.clear();
  });
  const std::string out = inputs().dir + "/zero-frame.fits";
  const auto r = run_cli(with_input(extract_args(out), path));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(path + ": no pixel has ivar > 0"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(out));
}

TEST(BadInput, AFrameWhosePatchesAllFailIsAnError) {
  const std::string out = inputs().dir + "/all-failed.fits";
  const auto r = run_cli(extract_args(out) + " -r 1e300");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("patches failed; no spectrum was extracted"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(out));
}

TEST(BadInput, SpecterModesDefaultGridIsDesispecs) {
  // Without -w, specter mode extracts ceil(wmin_all)..floor(wmax_all) with dw 0.7.
  const std::string out = inputs().dir + "/default-grid.fits";
  const std::string args = "extract -i " + inputs().preproc + " -p " + inputs().psf + " -o " + out +
                           " -n 2 -q --compat specter --nwavestep 200";
  const auto r = run_cli(args);
  ASSERT_EQ(r.status, 0) << r.output;
  const libextract::Psf psf = libextract::Psf::load(inputs().psf);
  const libextract::Frame frame = libextract::read_frame(out);
  const auto expected = libextract::make_wavelength_grid(
      libextract::WavelengthGrid{std::ceil(psf.wmin_all()), std::floor(psf.wmax_all()), 0.7});
  EXPECT_EQ(frame.wave, expected);
  EXPECT_EQ(frame.wave.front(), std::ceil(psf.wmin_all()));
}

}  // namespace
