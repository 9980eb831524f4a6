// labels: cli
// `libextract simulate` writes a preproc desispec accepts: a science exposure's header
// (FLAVOR, OBSTYPE, EXPID, NIGHT, MJD-OBS, EXPTIME, CAMERA, DETECTOR) and a FIBERMAP of
// every fibre of the PSF with the columns desispec reads, in its types. (desispec itself
// reads it in bindings/python/tests/desispec/test_desispec.py.)
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fitsio.h>

#include "common/test_data.hpp"
#include "fits_file.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::detail::FitsFile;

std::string simulate(const std::string& psf, const std::string& name, const std::string& grid) {
  const std::string out = libextract_test::scratch_dir() + "/" + name;
  const std::string command = libextract_test::cli_path() + " simulate --psf " + psf + " -o " + out +
                              " --truth " + out + ".truth.fits -w " + grid +
                              " -s 3 -n 2 --seed 2 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return out;
}

// TFORMn of column `name` in the current table HDU.
std::string tform(const std::string& path, const std::string& name) {
  fitsfile* f = nullptr;
  int status = 0, col = 0;
  fits_open_file(&f, path.c_str(), READONLY, &status);
  char hdu[] = "FIBERMAP";
  fits_movnam_hdu(f, BINARY_TBL, hdu, 0, &status);
  fits_get_colnum(f, CASEINSEN, const_cast<char*>(name.c_str()), &col, &status);
  char key[FLEN_KEYWORD], value[FLEN_VALUE] = {0};
  std::snprintf(key, sizeof key, "TFORM%d", col);
  fits_read_key(f, TSTRING, key, value, nullptr, &status);
  fits_close_file(f, &status);
  EXPECT_EQ(status, 0) << path << " " << name;
  return value;
}

TEST(SimulateDesi, HeaderOfAScienceExposure) {
  const std::string psf = libextract_test::scratch_dir() + "/sim-desi-psf-r.fits";
  libextract::SyntheticPsfOptions o = libextract::synthetic_psf_for_camera('r');
  o.nspec = 50;
  libextract::write_synthetic_psf(psf, o);
  const std::string path = simulate(psf, "sim-desi-r.fits", "6000.0,6039.2,0.8");
  FitsFile file = FitsFile::open_read(path);
  file.move_to("IMAGE");
  EXPECT_EQ(file.read_key_string("FLAVOR").value_or(""), "science");  // desispec's frame vetting
  EXPECT_EQ(file.read_key_string("OBSTYPE").value_or(""), "SCIENCE");
  EXPECT_EQ(file.read_key_string("CAMERA").value_or(""), "r0");  // the PSF names none: its wavelengths
  EXPECT_EQ(file.read_key_int("SPECGRPH").value_or(-1), 0);
  EXPECT_GT(file.read_key_int("EXPID").value_or(-1), 0);
  EXPECT_EQ(file.read_key_int("NIGHT").value_or(0), 20201214);
  EXPECT_GT(file.read_key_double("MJD-OBS").value_or(0.0), 59000.0);
  EXPECT_GT(file.read_key_double("EXPTIME").value_or(0.0), 0.0);
  EXPECT_TRUE(file.read_key_string("DETECTOR").has_value());
  EXPECT_GT(file.read_key_double("RDNOISE").value_or(0.0), 0.0);  // desispec's read_image needs it
}

TEST(SimulateDesi, FibermapOfEveryFibreInDesispecsTypes) {
  const std::string psf = libextract_test::scratch_dir() + "/sim-desi-psf-b.fits";
  libextract::SyntheticPsfOptions o = libextract::synthetic_psf_for_camera('b');
  o.nspec = 500;
  libextract::write_synthetic_psf(psf, o);
  const std::string path = simulate(psf, "sim-desi-b.fits", "5000.0,5039.2,0.8");
  FitsFile file = FitsFile::open_read(path);
  file.move_to("IMAGE");
  EXPECT_EQ(file.read_key_string("CAMERA").value_or(""), "b0");
  file.move_to("FIBERMAP");
  ASSERT_EQ(file.row_count(), 500);
  const std::vector<long long> fiber = file.read_column_int("FIBER");
  for (int i = 0; i < 500; ++i) ASSERT_EQ(fiber[i], i);
  const std::vector<long long> targetid = file.read_column_int("TARGETID");
  EXPECT_EQ(targetid[3], 1000003);
  const std::vector<long long> petal = file.read_column_int("PETAL_LOC");
  const std::vector<long long> device = file.read_column_int("DEVICE_LOC");
  const std::vector<long long> location = file.read_column_int("LOCATION");
  EXPECT_EQ(location[499], petal[499] * 1000 + device[499]);
  for (long long status : file.read_column_int("FIBERSTATUS")) ASSERT_EQ(status, 0);
  int sky = 0;
  for (const std::string& t : file.read_column_string("OBJTYPE")) {
    ASSERT_TRUE(t == "SKY" || t == "TGT") << t;
    sky += t == "SKY";
  }
  EXPECT_EQ(sky, 50);
  const std::vector<double> ra = file.read_column_double("TARGET_RA");
  const std::vector<double> dec = file.read_column_double("TARGET_DEC");
  EXPECT_NE(ra[0], ra[1]);
  EXPECT_TRUE(dec[0] > -90.0 && dec[0] < 90.0);
  // desispec's annotate_fibermap logs an ERROR for another type than its table's.
  const std::vector<std::pair<std::string, std::string>> types = {
      {"TARGETID", "K"}, {"PETAL_LOC", "I"},     {"DEVICE_LOC", "J"},   {"LOCATION", "K"},
      {"FIBER", "J"},    {"FIBERSTATUS", "J"},   {"TARGET_RA", "D"},    {"TARGET_DEC", "D"},
      {"OBJTYPE", "3A"}, {"FIBERASSIGN_X", "E"}, {"FIBERASSIGN_Y", "E"}};
  for (const auto& [name, form] : types) {
    const std::string got = tform(path, name);
    EXPECT_TRUE(got == form || got == "1" + form) << name << ": " << got;
  }
}

}  // namespace
