// labels: unit reference
// Frame files: desispec's HDU order and dtypes, exact round trips (float64) and
// float32 casts, checksums, provenance keywords, FIBERMAP handling, refusal of NaN,
// atomic writes, and desispec's spectrum mask bits on a hand-made example.
#include <gtest/gtest.h>

#include <fitsio.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::Error;
using libextract::ErrorCode;
using libextract::FloatType;
using libextract::Frame;
using libextract::FrameWriteOptions;
using libextract::detail::FitsFile;
using libextract_test::file_exists;
using libextract_test::scratch_dir;

// Values that float32 cannot hold exactly, so the f4/f8 difference is visible.
Frame make_frame(int nspec = 3, int nwave = 7, int ndiag = 2) {
  Frame f;
  f.specmin = 25;
  f.nspec = nspec;
  f.nwave = nwave;
  f.ndiag = ndiag;
  f.wave = libextract::make_wavelength_grid({5760.0, 5760.0 + 0.8 * (nwave - 1), 0.8});
  f.grid = libextract::WavelengthGrid{5760.0, 5760.0 + 0.8 * (nwave - 1), 0.8};
  const std::size_t plane = static_cast<std::size_t>(nspec) * nwave;
  for (std::size_t k = 0; k < plane; ++k) {
    f.flux.push_back(1000.0 / 3.0 + 0.1 * k);
    f.ivar.push_back(1.0 / (7.0 + k));
    f.mask.push_back(static_cast<std::uint32_t>(k % 3 == 0 ? 0x80000001u : 0u));
    f.chi2pix.push_back(0.7 + 0.01 * k);
    f.pixmask_fraction.push_back(k % 5 == 0 ? 1.0 / 3.0 : 0.0);
  }
  for (std::size_t k = 0; k < plane * (2 * ndiag + 1); ++k) f.resolution.push_back(std::sqrt(0.01 * (k + 1)));
  f.psf_path = "/a/rather/long/folder/name/that/does/not/fit/in/one/card/psf-r0-00051060.fits";
  f.image_path = "preproc-r0-00051060.fits.gz";
  f.compat = "gpu_specter";
  f.psferr = 0.01;
  f.header_cards = {FitsFile::make_card("CAMERA", std::string("r0")), FitsFile::make_card("EXPID", 51060LL)};
  return f;
}

void expect_equal_frames(const Frame& a, const Frame& b) {
  EXPECT_EQ(a.specmin, b.specmin);
  EXPECT_EQ(a.nspec, b.nspec);
  EXPECT_EQ(a.nwave, b.nwave);
  EXPECT_EQ(a.ndiag, b.ndiag);
  EXPECT_EQ(a.wave, b.wave);
  EXPECT_EQ(a.flux, b.flux);
  EXPECT_EQ(a.ivar, b.ivar);
  EXPECT_EQ(a.mask, b.mask);
  EXPECT_EQ(a.resolution, b.resolution);
  EXPECT_EQ(a.chi2pix, b.chi2pix);
  EXPECT_EQ(a.pixmask_fraction, b.pixmask_fraction);
  EXPECT_EQ(a.psf_path, b.psf_path);
  EXPECT_EQ(a.image_path, b.image_path);
  EXPECT_EQ(a.compat, b.compat);
  EXPECT_EQ(a.psferr, b.psferr);
}

TEST(FrameFile, Float64RoundTripIsBitwise) {
  const Frame frame = make_frame();
  const std::string path = scratch_dir() + "/frame-f8.fits";
  FrameWriteOptions options;
  options.dtype = FloatType::f8;
  libextract::write_frame(path, frame, options);
  const Frame back = libextract::read_frame(path);
  expect_equal_frames(frame, back);
  ASSERT_TRUE(back.grid.has_value());
  EXPECT_EQ(back.grid->wmin, 5760.0);
  EXPECT_EQ(back.grid->wmax, frame.grid->wmax);
  EXPECT_EQ(back.grid->dw, 0.8);
  std::remove(path.c_str());
}

std::vector<double> as_float32(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) out.push_back(static_cast<double>(static_cast<float>(v)));
  return out;
}

TEST(FrameFile, Float32EqualsTheCast) {
  const Frame frame = make_frame();
  const std::string path = scratch_dir() + "/frame-f4.fits";
  libextract::write_frame(path, frame);
  const Frame back = libextract::read_frame(path);
  EXPECT_EQ(back.flux, as_float32(frame.flux));
  EXPECT_NE(back.flux, frame.flux);
  EXPECT_EQ(back.ivar, as_float32(frame.ivar));
  EXPECT_EQ(back.resolution, as_float32(frame.resolution));
  EXPECT_EQ(back.chi2pix, as_float32(frame.chi2pix));
  EXPECT_EQ(back.pixmask_fraction, as_float32(frame.pixmask_fraction));
  EXPECT_EQ(back.wave, frame.wave);  // WAVELENGTH is always float64
  EXPECT_EQ(back.mask, frame.mask);  // uint32, including the top bit

  FitsFile file = FitsFile::open_read(path);
  const struct {
    const char* hdu;
    int type;
  } types[] = {{"FLUX", FLOAT_IMG},
               {"IVAR", FLOAT_IMG},
               {"MASK", ULONG_IMG},
               {"WAVELENGTH", DOUBLE_IMG},
               {"RESOLUTION", FLOAT_IMG},
               {"CHI2PIX", FLOAT_IMG},
               {"PIXMASK_FRACTION", FLOAT_IMG}};
  for (const auto& t : types) {
    file.move_to(t.hdu);
    EXPECT_EQ(file.image_equivalent_type(), t.type) << t.hdu;
  }
  file.move_to("RESOLUTION");
  EXPECT_EQ(file.image_shape(), (std::vector<long>{3, 5, 7}));
  std::remove(path.c_str());
}

TEST(FrameFile, HduOrderChecksumsAndHeader) {
  const Frame frame = make_frame();
  const std::string path = scratch_dir() + "/frame-layout.fits";
  libextract::write_frame(path, frame);
  FitsFile file = FitsFile::open_read(path);
  const char* order[] = {"FLUX",       "IVAR",     "MASK",    "WAVELENGTH",
                         "RESOLUTION", "FIBERMAP", "CHI2PIX", "PIXMASK_FRACTION"};
  ASSERT_EQ(file.hdu_count(), 8);
  for (int hdu = 0; hdu < 8; ++hdu) {
    file.move_to(hdu);
    EXPECT_EQ(file.read_key_string("EXTNAME").value_or(""), order[hdu]);
    EXPECT_TRUE(file.read_key_string("CHECKSUM").has_value()) << order[hdu];
    EXPECT_TRUE(file.read_key_string("DATASUM").has_value()) << order[hdu];
    EXPECT_TRUE(file.checksums_verify()) << order[hdu];
  }
  file.move_to("FLUX");
  EXPECT_EQ(file.read_key_string("BUNIT").value_or(""), "electron/Angstrom");
  EXPECT_EQ(file.read_key_int("NSPEC").value_or(-1), 3);
  EXPECT_EQ(file.read_key_int("FIBERMIN").value_or(-1), 25);
  EXPECT_EQ(file.read_key_double("WAVEMIN").value_or(0), 5760.0);
  EXPECT_EQ(file.read_key_double("WAVESTEP").value_or(0), 0.8);
  EXPECT_EQ(file.read_key_int("SPECMIN").value_or(-1), 25);
  EXPECT_EQ(file.read_key_string("WAVEGRID").value_or(""), "5760.0,5764.8,0.8");
  EXPECT_EQ(file.read_key_long_string("IN_PSF").value_or(""), frame.psf_path);
  EXPECT_EQ(file.read_key_long_string("IN_IMG").value_or(""), frame.image_path);
  EXPECT_EQ(file.read_key_string("CAMERA").value_or(""), "r0");
  EXPECT_EQ(file.read_key_int("EXPID").value_or(0), 51060);
  EXPECT_TRUE(file.read_key_string("LIBEXTV").has_value());
  EXPECT_EQ(file.read_key_string("COMPAT").value_or(""), "gpu_specter");
  EXPECT_EQ(file.read_key_double("PSFERR").value_or(0), 0.01);
  file.move_to("WAVELENGTH");
  EXPECT_EQ(file.read_key_string("BUNIT").value_or(""), "Angstrom");
  file.move_to("FIBERMAP");
  EXPECT_EQ(file.read_column_int("FIBER"), (std::vector<long long>{25, 26, 27}));
  std::remove(path.c_str());
}

TEST(FrameFile, HeaderKeywordsWinOverCopiedCards) {
  Frame frame = make_frame();
  frame.header_cards.push_back(FitsFile::make_card("NSPEC", 500LL));
  const std::string path = scratch_dir() + "/frame-cards.fits";
  libextract::write_frame(path, frame);
  const Frame back = libextract::read_frame(path);
  FitsFile file = FitsFile::open_read(path);
  EXPECT_EQ(file.read_key_int("NSPEC").value_or(-1), 3);
  // Reading and writing again keeps one copy of each keyword.
  libextract::write_frame(path, back);
  const Frame again = libextract::read_frame(path);
  EXPECT_EQ(again.header_cards.size(), back.header_cards.size());
  std::remove(path.c_str());
}

// Provenance: LIBEXTV is the PEP 440 version, and DEPNAMnn/DEPVERnn pairs follow
// desiutil.depend.setdep: the input's pairs first, keeping their nn.
TEST(FrameFile, ProvenanceCardsFollowSetdep) {
  const std::string version = libextract::version();
  const std::string release = LIBEXTRACT_VERSION_STRING;
  ASSERT_EQ(version.compare(0, release.size(), release), 0) << version;
  const std::string local = version.substr(release.size());  // "" (sdist) or "+g<hex>[.dirty]"
  EXPECT_TRUE(local.empty() || (local.size() > 2 && local.compare(0, 2, "+g") == 0)) << version;
  const std::string path = scratch_dir() + "/frame-depnam.fits";
  {  // no pairs in the input: libextract takes 00, CFITSIO 01
    libextract::write_frame(path, make_frame());
    FitsFile file = FitsFile::open_read(path);
    EXPECT_EQ(file.read_key_string("LIBEXTV").value_or(""), version);
    EXPECT_EQ(file.read_key_string("DEPNAM00").value_or(""), "libextract");
    EXPECT_EQ(file.read_key_string("DEPVER00").value_or(""), version);
    EXPECT_EQ(file.read_key_string("DEPNAM01").value_or(""), "cfitsio");
    EXPECT_EQ(file.read_key_string("DEPVER01").value_or(""), libextract::cfitsio_version());
    EXPECT_FALSE(file.read_key_string("DEPNAM02").has_value());
  }
  {  // the input's pairs are kept; its libextract pair is reused; CFITSIO takes the next free nn
    Frame frame = make_frame();
    frame.header_cards.push_back(FitsFile::make_card("DEPNAM00", std::string("desispec")));
    frame.header_cards.push_back(FitsFile::make_card("DEPVER00", std::string("0.68.1")));
    frame.header_cards.push_back(FitsFile::make_card("DEPNAM01", std::string("libextract")));
    frame.header_cards.push_back(FitsFile::make_card("DEPVER01", std::string("0.0.1")));
    frame.header_cards.push_back(FitsFile::make_card("DEPNAM03", std::string("numpy")));
    frame.header_cards.push_back(FitsFile::make_card("DEPVER03", std::string("1.26.4")));
    libextract::write_frame(path, frame);
    FitsFile file = FitsFile::open_read(path);
    EXPECT_EQ(file.read_key_string("DEPNAM00").value_or(""), "desispec");
    EXPECT_EQ(file.read_key_string("DEPVER00").value_or(""), "0.68.1");
    EXPECT_EQ(file.read_key_string("DEPNAM01").value_or(""), "libextract");
    EXPECT_EQ(file.read_key_string("DEPVER01").value_or(""), version);
    EXPECT_EQ(file.read_key_string("DEPNAM02").value_or(""), "cfitsio");
    EXPECT_EQ(file.read_key_string("DEPNAM03").value_or(""), "numpy");
    EXPECT_EQ(file.read_key_string("DEPVER03").value_or(""), "1.26.4");
    EXPECT_FALSE(file.read_key_string("DEPNAM04").has_value());
  }
  std::remove(path.c_str());
}

TEST(FrameFile, CfitsioVersionIsThatOfTheLibrary) {
  float number = 0.0f;
  fits_get_version(&number);
  const std::string v = libextract::cfitsio_version();
  int major = -1, minor = -1, micro = -1;
  ASSERT_EQ(std::sscanf(v.c_str(), "%d.%d.%d", &major, &minor, &micro), 3) << v;
  EXPECT_NEAR(major + minor / 100.0 + micro / 10000.0, number, 1e-5) << v;  // CFITSIO's X + Y/100 + Z/10000
}

// A preproc-like file whose FIBERMAP has rows for fibres first..first+rows-1.
std::string fibermap_file(const std::string& name, int first, int rows) {
  const std::string path = scratch_dir() + "/" + name;
  libextract::Image image;
  image.nrows = 2;
  image.ncols = 2;
  image.pixels.assign(4, 1.0);
  image.ivar.assign(4, 1.0);
  std::vector<int> fibers;
  for (int i = 0; i < rows; ++i) fibers.push_back(first + i);
  libextract::write_preproc(path, image, fibers);
  return path;
}

std::vector<long long> frame_fibers(const std::string& path) {
  FitsFile file = FitsFile::open_read(path);
  file.move_to("FIBERMAP");
  EXPECT_TRUE(file.checksums_verify());
  return file.read_column_int("FIBER");
}

TEST(FrameFile, FibermapIsCopiedAndSliced) {
  Frame frame = make_frame();
  frame.specmin = 2;
  const std::string out = scratch_dir() + "/frame-fibermap.fits";
  FrameWriteOptions options;

  // A full-petal table: rows specmin..specmin+nspec-1, as desi_extract_spectra slices.
  options.fibermap_source = fibermap_file("fm-petal.fits", 0, 10);
  libextract::write_frame(out, frame, options);
  EXPECT_EQ(frame_fibers(out), (std::vector<long long>{2, 3, 4}));
  {
    FitsFile file = FitsFile::open_read(out);
    file.move_to("FIBERMAP");
    EXPECT_EQ(file.read_column_int("TARGETID"), (std::vector<long long>{1000002, 1000003, 1000004}));
  }

  // A table of exactly these fibres is taken whole.
  options.fibermap_source = fibermap_file("fm-exact.fits", 2, 3);
  libextract::write_frame(out, frame, options);
  EXPECT_EQ(frame_fibers(out), (std::vector<long long>{2, 3, 4}));

  // A table for other fibres that still holds these ones: chosen by FIBER.
  options.fibermap_source = fibermap_file("fm-offset.fits", 1, 5);
  libextract::write_frame(out, frame, options);
  EXPECT_EQ(frame_fibers(out), (std::vector<long long>{2, 3, 4}));

  // A full-petal table whose FIBER counts over petals (petal 3: 1500..): sliced by row.
  options.fibermap_source = fibermap_file("fm-petal3.fits", 1500, 10);
  libextract::write_frame(out, frame, options);
  EXPECT_EQ(frame_fibers(out), (std::vector<long long>{1502, 1503, 1504}));

  // Too short: refused before anything is written.
  std::remove(out.c_str());
  options.fibermap_source = fibermap_file("fm-short.fits", 0, 4);
  EXPECT_THROW(libextract::write_frame(out, frame, options), Error);
  EXPECT_FALSE(file_exists(out));
}

TEST(FrameFile, UnwritableFolderThrowsIoErrorAndLeavesNothing) {
  const std::string folder = scratch_dir() + "/no-such-folder";
  const std::string path = folder + "/frame.fits";
  try {
    libextract::write_frame(path, make_frame());
    FAIL() << "write into a missing folder succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find("frame.fits"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(path));
  EXPECT_FALSE(file_exists(folder));
}

TEST(FrameFile, NonFiniteValuesAreRefusedWithNoFile) {
  const std::string path = scratch_dir() + "/frame-nan.fits";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    const char* hdu;
    std::vector<double> Frame::*array;
    double value;
  } cases[] = {{"FLUX", &Frame::flux, nan},
               {"IVAR", &Frame::ivar, std::numeric_limits<double>::infinity()},
               {"RESOLUTION", &Frame::resolution, nan},
               {"CHI2PIX", &Frame::chi2pix, 1e300},  // finite, but not in float32
               {"PIXMASK_FRACTION", &Frame::pixmask_fraction, nan},
               {"WAVELENGTH", &Frame::wave, nan}};
  for (const Case& c : cases) {
    Frame frame = make_frame();
    (frame.*(c.array))[2] = c.value;
    try {
      libextract::write_frame(path, frame);
      FAIL() << c.hdu << ": non-finite value accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("HDU ") + c.hdu), std::string::npos) << e.what();
    }
    EXPECT_FALSE(file_exists(path)) << c.hdu;
  }
  // 1e300 is fine in float64.
  Frame frame = make_frame();
  frame.chi2pix[2] = 1e300;
  FrameWriteOptions f8;
  f8.dtype = FloatType::f8;
  EXPECT_NO_THROW(libextract::write_frame(path, frame, f8));
  std::remove(path.c_str());
}

TEST(FrameFile, InconsistentSizesAreRefused) {
  Frame frame = make_frame();
  frame.resolution.pop_back();
  EXPECT_THROW(libextract::write_frame(scratch_dir() + "/bad.fits", frame), Error);
}

TEST(FrameFile, ModelImage) {
  Frame frame = make_frame();
  const std::string path = scratch_dir() + "/model.fits";
  EXPECT_THROW(libextract::write_model_image(path, frame), Error);
  EXPECT_FALSE(file_exists(path));
  frame.has_model = true;
  frame.model_rows = 4;
  frame.model_cols = 3;
  for (int k = 0; k < 12; ++k) frame.model.push_back(1.0 / (k + 1));
  libextract::write_model_image(path, frame);
  FitsFile file = FitsFile::open_read(path);
  EXPECT_EQ(file.image_shape(), (std::vector<long>{4, 3}));
  EXPECT_EQ(file.read_image_double(), frame.model);
  EXPECT_EQ(file.read_key_long_string("IN_PSF").value_or(""), frame.psf_path);
  EXPECT_TRUE(file.checksums_verify());
  std::remove(path.c_str());
}

TEST(FrameFile, ReadsTheSharedReferenceOutputs) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-small/gpu_specter.fits.gz");
  const Frame f = libextract::read_frame(libextract_test::shared_file("case-small/gpu_specter.fits.gz"));
  EXPECT_EQ(f.nspec, 5);
  EXPECT_EQ(f.nwave, 200);
  EXPECT_EQ(f.ndiag, 5);
  EXPECT_EQ(f.wave, libextract::make_wavelength_grid({5760.0, 5919.2, 0.8}));
  EXPECT_TRUE(f.mask.empty());
  EXPECT_EQ(f.chi2pix.size(), 1000u);
  EXPECT_EQ(f.pixmask_fraction.size(), 1000u);
}

TEST(SpectrumMask, DesispecRulesOnAHandMadeFrame) {
  Frame f;
  f.nspec = 4;
  f.nwave = 6;
  // Medians over fibres (even count: numpy's mean of the two middle values):
  // column 1 is {1, 2, 4, 17} -> 3, so 17 > 15 is flagged; column 2 is {1, 2, 4, 12}
  // -> 3, so 12 is not (it would be with the lower middle value, 2). Fibre 3's
  // median over wavelength is (1 + 1) / 2 = 1.
  f.chi2pix = {1, 1,  1,  1, 1, 1,  //
               2, 2,  2,  2, 2, 2,  //
               4, 4,  4,  4, 4, 4,  //
               1, 17, 12, 1, 1, 1};
  f.pixmask_fraction.assign(24, 0.0);
  f.pixmask_fraction[0] = 0.5;        // not > 0.5
  f.pixmask_fraction[1] = 0.51;       // SOMEBADPIX
  f.pixmask_fraction[2] = 1.0;        // SOMEBADPIX | ALLBADPIX
  f.pixmask_fraction[9] = 0.9999999;  // SOMEBADPIX only
  f.mask.assign(24, 0u);
  f.mask[17] = libextract::specmask_extractfail;  // kept
  libextract::compute_spectrum_mask(f);
  std::vector<std::uint32_t> want(24, 0u);
  want[1] = libextract::specmask_somebadpix;
  want[2] = libextract::specmask_somebadpix | libextract::specmask_allbadpix;
  want[9] = libextract::specmask_somebadpix;
  want[17] = libextract::specmask_extractfail;
  want[19] = libextract::specmask_bad2dfit;
  EXPECT_EQ(f.mask, want);

  // Without a mask array one is made; odd counts use the middle value.
  Frame g;
  g.nspec = 3;
  g.nwave = 3;
  g.chi2pix = {1, 1, 1, 1, 1, 1, 1, 1, 5.5};
  g.pixmask_fraction.assign(9, 0.0);
  libextract::compute_spectrum_mask(g);
  EXPECT_EQ(g.mask, (std::vector<std::uint32_t>{0, 0, 0, 0, 0, 0, 0, 0, libextract::specmask_bad2dfit}));
}

}  // namespace
