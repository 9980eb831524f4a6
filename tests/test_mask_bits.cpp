// labels: unit cli
// Masking as desispec does it: ivar * ((MASK & 767) == 0). A band of rows flagged
// BADREADNOISE (256, an amplifier's worth) across the fibres is extracted; BAD (1)
// pixels are not, even where the file's IVAR is positive; --mask-bits overrides 767.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

namespace {

constexpr std::int32_t badreadnoise = 256, bad = 1;

struct MaskCase {
  std::string dir, psf, preproc;
  std::vector<std::size_t> readnoise_pixels, bad_pixels;  // flagged, with IVAR > 0 in the file
};

const MaskCase& mask_case() {
  static const MaskCase c = [] {
    MaskCase m;
    m.dir = libextract_test::scratch_dir() + "/mask-bits";
    ::mkdir(m.dir.c_str(), 0755);
    m.psf = m.dir + "/psf.fits";
    libextract::SyntheticPsfOptions o;
    o.nspec = 30;
    libextract::write_synthetic_psf(m.psf, o);
    const libextract::Psf psf = libextract::Psf::load(m.psf);
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{6000.0, 6079.2, 0.8};
    sim.nspec = 5;
    libextract::SimulationResult r = libextract::simulate_image(psf, sim);
    libextract::Image& img = r.image;
    // Rows of the trace between 6020 and 6040 A, every column: BADREADNOISE. Every 7th
    // weighted pixel of the band's lower half also BAD, its IVAR left positive.
    const int y0 = static_cast<int>(psf.y(0, 6020.0)), y1 = static_cast<int>(psf.y(0, 6040.0));
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < img.ncols; ++x) {
        const std::size_t k = static_cast<std::size_t>(y) * img.ncols + x;
        if (img.ivar[k] <= 0.0) continue;
        img.mask[k] |= badreadnoise;
        m.readnoise_pixels.push_back(k);
      }
    }
    for (int y = y1; y < y1 + (y1 - y0); ++y) {
      for (int x = 0; x < img.ncols; ++x) {
        const std::size_t k = static_cast<std::size_t>(y) * img.ncols + x;
        if (img.ivar[k] > 0.0 && k % 7 == 0) {
          img.mask[k] |= bad;
          m.bad_pixels.push_back(k);
        }
      }
    }
    m.preproc = m.dir + "/preproc.fits";
    libextract::write_preproc(m.preproc, img, r.fibers);
    return m;
  }();
  return c;
}

TEST(MaskBits, ReadPreprocUsesDesispecsExtractMaskValue) {
  EXPECT_EQ(libextract::default_extract_mask_bits, 767u);  // desispec.maskbits.extractmaskval
  const MaskCase& c = mask_case();
  ASSERT_GT(c.readnoise_pixels.size(), 1000u);
  ASSERT_GT(c.bad_pixels.size(), 100u);
  const libextract::Image image = libextract::read_preproc(c.preproc);
  for (std::size_t k : c.readnoise_pixels) ASSERT_GT(image.ivar[k], 0.0) << "BADREADNOISE pixel " << k;
  for (std::size_t k : c.bad_pixels) ASSERT_EQ(image.ivar[k], 0.0) << "BAD pixel " << k;
  const libextract::Image strict = libextract::read_preproc(c.preproc, 1023);
  for (std::size_t k : c.readnoise_pixels) ASSERT_EQ(strict.ivar[k], 0.0) << "pixel " << k;
  EXPECT_EQ(strict.masked_pixels - image.masked_pixels, static_cast<long long>(c.readnoise_pixels.size()));
  EXPECT_THROW(libextract::checked_mask_bits(-1, "--mask-bits"), libextract::Error);
  EXPECT_THROW(libextract::checked_mask_bits(1LL << 32, "--mask-bits"), libextract::Error);
  EXPECT_EQ(libextract::checked_mask_bits(0xffffffffLL, "--mask-bits"), 0xffffffffu);
}

std::string extract_cli(const std::string& extra, const std::string& name) {
  const MaskCase& c = mask_case();
  const std::string out = c.dir + "/" + name;
  std::remove(out.c_str());
  const std::string command = libextract_test::cli_path() + " extract -i " + c.preproc + " -p " + c.psf +
                              " -o " + out + " -w 6000.0,6079.2,0.8 -n 5 --bundlesize 5 --dtype f8 -q " +
                              extra + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return out;
}

TEST(MaskBits, CliExtractsBadReadNoisePixelsAndNotBadOnes) {
  const MaskCase& c = mask_case();
  const libextract::Psf psf = libextract::Psf::load(c.psf);
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{6000.0, 6079.2, 0.8};
  o.nspec = 5;
  o.bundlesize = 5;
  o.backend.kind = libextract::BackendKind::cpu;
  const libextract::Frame by_default = libextract::read_frame(extract_cli("", "default.fits"));
  const libextract::Frame strict = libextract::read_frame(extract_cli("--mask-bits 1023", "strict.fits"));

  // The CLI's frame is that of the image with desispec's masking ...
  libextract::Image desispec = libextract::read_preproc(c.preproc, 767);
  const libextract::Frame expected = libextract::extract_frame(desispec, psf, o);
  EXPECT_EQ(by_default.flux, expected.flux);
  EXPECT_EQ(by_default.ivar, expected.ivar);
  // ... and --mask-bits 1023 leaves the BADREADNOISE band out: other spectra, less ivar.
  EXPECT_EQ(strict.flux, libextract::extract_frame(libextract::read_preproc(c.preproc, 1023), psf, o).flux);
  double ivar_default = 0, ivar_strict = 0;
  for (std::size_t i = 0; i < strict.ivar.size(); ++i) {
    ivar_default += by_default.ivar[i];
    ivar_strict += strict.ivar[i];
  }
  EXPECT_LT(ivar_strict, 0.9 * ivar_default);
  EXPECT_NE(strict.flux, by_default.flux);

  // BAD pixels with a positive IVAR in the file: using them would change the frame.
  libextract::Image with_bad = libextract::read_preproc(c.preproc, 0);
  for (std::size_t k = 0; k < with_bad.ivar.size(); ++k) {
    if (with_bad.mask[k] & (libextract::default_extract_mask_bits & ~static_cast<std::uint32_t>(bad))) {
      with_bad.ivar[k] = 0.0;
    }
  }
  EXPECT_NE(libextract::extract_frame(with_bad, psf, o).flux, by_default.flux);
}

TEST(MaskBits, CliRejectsBadMaskBits) {
  const MaskCase& c = mask_case();
  const std::string out = c.dir + "/never.fits";
  std::remove(out.c_str());
  FILE* pipe = ::popen((libextract_test::cli_path() + " extract -i " + c.preproc + " -p " + c.psf + " -o " +
                        out + " -n 5 --mask-bits -3 2>&1")
                           .c_str(),
                       "r");
  std::string text;
  char buffer[1024];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  EXPECT_NE(::pclose(pipe), 0);
  EXPECT_NE(text.find("--mask-bits"), std::string::npos) << text;
  EXPECT_FALSE(libextract_test::file_exists(out));
}

}  // namespace
