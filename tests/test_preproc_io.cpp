// labels: unit reference
// Preproc images: the shared case's file read against a direct CFITSIO read, exact
// round trips, the ivar range rule, and the errors for damaged files (shapes, missing MASK).
#include <gtest/gtest.h>

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
using libextract::Image;
using libextract::detail::FitsFile;
using libextract_test::scratch_dir;

bool has_card(const std::vector<std::string>& cards, const std::string& prefix) {
  for (const auto& c : cards)
    if (c.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(Preproc, SharedCaseMatchesDirectRead) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-small/preproc.fits.gz");
  const std::string path = libextract_test::shared_file("case-small/preproc.fits.gz");
  const Image image = libextract::read_preproc(path);
  ASSERT_EQ(image.nrows, 4128);
  ASSERT_EQ(image.ncols, 4114);
  EXPECT_TRUE(image.has_fibermap);
  EXPECT_EQ(image.nonfinite_pixels, 0);
  EXPECT_EQ(image.path, path);

  FitsFile file = FitsFile::open_read(path);
  file.move_to("IMAGE");
  const std::vector<float> pixels = file.read_image_float();
  file.move_to("IVAR");
  const std::vector<float> ivar = file.read_image_float();
  file.move_to("MASK");
  const std::vector<int> mask = file.read_image_int();
  ASSERT_EQ(pixels.size(), image.pixels.size());
  long long masked = 0, mask_set = 0, pixel_mismatch = 0, ivar_mismatch = 0;
  for (std::size_t k = 0; k < pixels.size(); ++k) {
    mask_set += (mask[k] != 0);
    masked += (mask[k] != 0 || ivar[k] == 0.0f);
    pixel_mismatch += (image.pixels[k] != static_cast<double>(pixels[k]));
    const double want = mask[k] != 0 ? 0.0 : static_cast<double>(ivar[k]);
    ivar_mismatch += (image.ivar[k] != want);
  }
  EXPECT_EQ(mask_set, 169);  // n_masked of case.json
  EXPECT_EQ(image.masked_pixels, masked);
  EXPECT_EQ(pixel_mismatch, 0);
  EXPECT_EQ(ivar_mismatch, 0);
  ASSERT_EQ(image.mask.size(), mask.size());
  EXPECT_TRUE(std::equal(mask.begin(), mask.end(), image.mask.begin()));

  // Provenance cards are kept; structural ones are not.
  EXPECT_TRUE(has_card(image.header_cards, "PACKXMIN"));
  EXPECT_TRUE(has_card(image.header_cards, "CAMERA"));
  EXPECT_FALSE(has_card(image.header_cards, "NAXIS"));
  EXPECT_FALSE(has_card(image.header_cards, "EXTNAME"));
  EXPECT_FALSE(has_card(image.header_cards, "BITPIX"));
}

std::string trimmed(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

Image small_image() {
  Image image;
  image.nrows = 7;
  image.ncols = 5;
  const std::size_t n = 35;
  for (std::size_t k = 0; k < n; ++k) {
    image.pixels.push_back(static_cast<double>(static_cast<float>(100.0 + 17.25 * k - 0.001 * k * k)));
    image.ivar.push_back(static_cast<double>(static_cast<float>(1.0 / (9.0 + k))));
    image.mask.push_back(0);
  }
  image.mask[3] = 1;
  image.ivar[3] = 0.0;
  image.mask[11] = 16;
  image.ivar[11] = 0.0;
  image.ivar[20] = 0.0;  // ivar 0 without a mask bit (outside a packed region)
  image.header_cards = {FitsFile::make_card("CAMERA", std::string("r0")),
                        FitsFile::make_card("EXPID", 51060LL), FitsFile::make_card("EXPTIME", 900.5)};
  return image;
}

void expect_same(const Image& a, const Image& b) {
  ASSERT_EQ(a.nrows, b.nrows);
  ASSERT_EQ(a.ncols, b.ncols);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.ivar, b.ivar);
  EXPECT_EQ(a.mask, b.mask);
}

TEST(Preproc, RoundTripIsExact) {
  const Image image = small_image();
  for (const std::string name : {"roundtrip.fits", "roundtrip.fits.gz"}) {
    const std::string path = scratch_dir() + "/" + name;
    libextract::write_preproc(path, image, std::vector<int>{3, 4});
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) {
      std::FILE* raw = std::fopen(path.c_str(), "rb");
      ASSERT_NE(raw, nullptr);
      const int b0 = std::fgetc(raw), b1 = std::fgetc(raw);
      std::fclose(raw);
      EXPECT_TRUE(b0 == 0x1f && b1 == 0x8b) << path << " is not gzip-compressed";
    }
    const Image back = libextract::read_preproc(path);
    expect_same(image, back);
    EXPECT_TRUE(back.has_fibermap);
    EXPECT_EQ(back.masked_pixels, 3);
    for (const std::string& card : image.header_cards)
      EXPECT_TRUE(has_card(back.header_cards, trimmed(card))) << card;
    FitsFile file = FitsFile::open_read(path);
    file.move_to("FIBERMAP");
    EXPECT_EQ(file.read_column_int("FIBER"), (std::vector<long long>{3, 4}));
    for (int hdu = 0; hdu < 4; ++hdu) {
      file.move_to(hdu);
      EXPECT_TRUE(file.checksums_verify()) << "HDU " << hdu;
    }
    std::remove(path.c_str());
  }
}

TEST(Preproc, WithoutMaskArrayMasksZeroIvar) {
  Image image = small_image();
  image.mask.clear();
  const std::string path = scratch_dir() + "/nomask.fits";
  libextract::write_preproc(path, image);
  const Image back = libextract::read_preproc(path);
  EXPECT_FALSE(back.has_fibermap);
  for (std::size_t k = 0; k < back.mask.size(); ++k) EXPECT_EQ(back.mask[k], image.ivar[k] == 0.0 ? 1 : 0);
  std::remove(path.c_str());
}

TEST(Preproc, RefusesNonFiniteAndLeavesNothing) {
  Image image = small_image();
  image.pixels[7] = std::numeric_limits<double>::quiet_NaN();
  const std::string path = scratch_dir() + "/nan-preproc.fits";
  try {
    libextract::write_preproc(path, image);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("IMAGE"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(libextract_test::file_exists(path));
  image = small_image();
  image.ivar[2] = 1e300;  // overflows float32
  EXPECT_THROW(libextract::write_preproc(path, image), Error);
  EXPECT_FALSE(libextract_test::file_exists(path));
}

// Writes IMAGE/IVAR/MASK HDUs as given, bypassing write_preproc's checks.
void write_raw(const std::string& path, const std::vector<long>& shape, const std::vector<float>& pixels,
               const std::vector<float>& ivar, const std::vector<long>& mask_shape,
               const std::vector<int>* mask) {
  FitsFile file = FitsFile::create(path);
  file.write_image_float(shape, pixels.data());
  file.write_key("EXTNAME", std::string("IMAGE"));
  file.write_image_float(shape, ivar.data());
  file.write_key("EXTNAME", std::string("IVAR"));
  if (mask) {
    file.write_image_int32(mask_shape, mask->data());
    file.write_key("EXTNAME", std::string("MASK"));
  }
  file.close();
}

std::string error_of(const std::string& path) {
  try {
    libextract::read_preproc(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Preproc, NonFiniteInputIsMaskedAndCounted) {
  const std::string path = scratch_dir() + "/nonfinite.fits";
  std::vector<float> pixels(12, 5.0f), ivar(12, 0.25f);
  std::vector<int> mask(12, 0);
  pixels[1] = std::numeric_limits<float>::quiet_NaN();
  ivar[4] = std::numeric_limits<float>::infinity();
  pixels[9] = -std::numeric_limits<float>::infinity();
  write_raw(path, {3, 4}, pixels, ivar, {3, 4}, &mask);
  const Image image = libextract::read_preproc(path);
  EXPECT_EQ(image.nonfinite_pixels, 3);
  EXPECT_EQ(image.masked_pixels, 3);
  for (int k : {1, 4, 9}) {
    EXPECT_EQ(image.pixels[k], 0.0);
    EXPECT_EQ(image.ivar[k], 0.0);
  }
  EXPECT_EQ(image.ivar[0], 0.25);
  std::remove(path.c_str());
}

TEST(Preproc, IvarOutsideItsValidRangeIsMaskedAndCounted) {
  const std::string path = scratch_dir() + "/ivar-range.fits";
  std::vector<float> pixels(12, 5.0f), ivar(12, 0.25f);
  std::vector<int> mask(12, 0);
  ivar[5] = -1.0f;
  ivar[7] = 3e38f;  // one absurd weight would fail every patch that sees it
  ivar[8] = 9e19f;  // large but valid
  write_raw(path, {3, 4}, pixels, ivar, {3, 4}, &mask);
  const Image image = libextract::read_preproc(path);
  EXPECT_EQ(image.ivar_out_of_range, 2);
  EXPECT_EQ(image.nonfinite_pixels, 0);
  EXPECT_EQ(image.masked_pixels, 2);
  EXPECT_EQ(image.ivar[5], 0.0);
  EXPECT_EQ(image.ivar[7], 0.0);
  EXPECT_GT(image.ivar[8], 0.0);
  EXPECT_EQ(image.pixels[7], 5.0);
  std::remove(path.c_str());
}

TEST(Preproc, DamagedFilesNameTheHdu) {
  const std::string path = scratch_dir() + "/damaged.fits";
  std::vector<float> pixels(12, 5.0f), ivar(12, 0.25f);
  std::vector<int> mask(12, 0), small_mask(6, 0);

  write_raw(path, {3, 4}, pixels, ivar, {2, 3}, &small_mask);
  std::string what = error_of(path);
  EXPECT_NE(what.find("MASK"), std::string::npos) << what;
  EXPECT_NE(what.find("shape"), std::string::npos) << what;

  write_raw(path, {3, 4}, pixels, ivar, {}, nullptr);
  what = error_of(path);
  EXPECT_NE(what.find("HDU MASK is missing"), std::string::npos) << what;

  EXPECT_NE(error_of(scratch_dir() + "/no-such-file.fits").find("no-such-file"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
