// labels: unit reference
// PSF reading: traces, parameters and the inverse map against the values that
// specter computes (extraction-spec §2.2 and §3.9), for the v3 and v2 layouts, plus
// the synthetic PSF writer and the errors for bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <fitsio.h>

#include "common/test_data.hpp"
#include "libextract/libextract.hpp"

namespace {

using libextract::Psf;
using libextract_test::shared_file;

void expect_rel(double got, double want, double rel, const char* what) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want)) << what << ": got " << got << ", want " << want;
}

struct TraceCase {
  int fiber;
  double wave, x, y, sigx, sigy, gh00;
};

// extraction-spec §3.9, psf-r0-00051060.fits.
const TraceCase r0_cases[] = {
    {0, 6000.0, 120.943834933105, 801.974643466942, 1.019468861923, 1.070634222256, 0.958899757652},
    {0, 6690.0, 119.946811556363, 2071.626978493182, 1.021440661129, 1.083189033988, 0.971454569384},
    {0, 7500.0, 112.062180700222, 3648.894534002769, 1.084433570400, 1.174605923799, 1.062871459195},
    {250, 6000.0, 2040.995400722371, 695.960102002038, 1.073284968510, 1.065264562721, 0.931655534374},
    {250, 6690.0, 2040.709036581219, 1954.048638569385, 1.114763352250, 1.136170375741, 1.002561347395},
    {250, 7500.0, 2040.376995411019, 3514.042789017634, 1.045167877547, 1.208363124113, 1.074754095766},
    {499, 6000.0, 3943.745986361133, 800.696745476543, 1.017153073389, 1.050011987555, 0.936235824051},
    {499, 6690.0, 3943.688697549728, 2070.209248472349, 1.032114246711, 1.097453888728, 0.983677725225},
    {499, 7500.0, 3951.509990439270, 3647.401215977823, 1.076534115286, 1.201419148572, 1.087642985068},
};

TEST(PsfV3, TracesAndParametersMatchSpecter) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const Psf psf = Psf::load(shared_file("psf-r0-00051060.fits"));
  EXPECT_EQ(psf.format_version(), 3);
  EXPECT_EQ(psf.nspec(), 500);
  EXPECT_EQ(psf.npix_x(), 4114);
  EXPECT_EQ(psf.npix_y(), 4128);
  EXPECT_EQ(psf.hsize_x(), 8);
  EXPECT_EQ(psf.hsize_y(), 5);
  EXPECT_EQ(psf.legendre_ncoef(), 4);
  EXPECT_EQ(psf.trace_ncoef(), 7);
  EXPECT_EQ(psf.wavemin(), 5543.0);
  EXPECT_EQ(psf.wavemax(), 7827.0);
  EXPECT_EQ(psf.trace_wavemax(), 7826.0);
  EXPECT_EQ(psf.psferr(), 0.01);
  EXPECT_FALSE(psf.psferr_in_file());
  for (const auto& c : r0_cases) {
    // The values are quoted to 12 decimals, so 1e-12 relative is the check's resolution.
    expect_rel(psf.x(c.fiber, c.wave), c.x, 1e-12, "X");
    expect_rel(psf.y(c.fiber, c.wave), c.y, 1e-12, "Y");
    expect_rel(psf.param("GHSIGX", c.fiber, c.wave), c.sigx, 1e-11, "GHSIGX");
    expect_rel(psf.param("GHSIGY", c.fiber, c.wave), c.sigy, 1e-11, "GHSIGY");
    // GH-0-0 keeps its non-zero higher Legendre coefficients (spec §1.5).
    expect_rel(psf.param("GH-0-0", c.fiber, c.wave), c.gh00, 1e-11, "GH-0-0");
  }
}

TEST(PsfV3, InverseMapMatchesSpecter) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  const Psf psf = Psf::load(shared_file("psf-r0-00051060.fits"));
  expect_rel(psf.wmin(), 5545.8876127689, 1e-12, "wmin");
  expect_rel(psf.wmax(), 7801.2124725133, 1e-12, "wmax");
  expect_rel(psf.wmin_all(), 5608.1347322868, 1e-12, "wmin_all");
  expect_rel(psf.wmax_all(), 7735.6910831535, 1e-12, "wmax_all");
  struct Row {
    int fiber;
    double w_m05, w_1000, w_2000_25, w_4127_5, wd_min, wd_mid, wd_max;
  };
  const Row rows[] = {
      {0, 5545.8876127689, 6109.6909751785, 6652.0546189528, 7735.6910831535, 0.64767463724, 0.57508405314,
       0.59367881896},
      {250, 5608.0991876340, 6168.6299265311, 6714.8798602571, 7801.1302589339, 0.59780906734, 0.61199823889,
       0.58890847150},
      {499, 5546.2704347206, 6110.3734879472, 6652.7966481058, 7736.2443119182, 0.59764137737, 0.58272311050,
       0.61438647952},
  };
  const double mid = 0.5 * (psf.wmin() + psf.wmax());
  for (const auto& r : rows) {
    expect_rel(psf.wavelength(r.fiber, -0.5), r.w_m05, 1e-12, "wavelength(-0.5)");
    expect_rel(psf.wavelength(r.fiber, 1000.0), r.w_1000, 1e-12, "wavelength(1000)");
    expect_rel(psf.wavelength(r.fiber, 2000.25), r.w_2000_25, 1e-12, "wavelength(2000.25)");
    expect_rel(psf.wavelength(r.fiber, 4127.5), r.w_4127_5, 1e-12, "wavelength(4127.5)");
    expect_rel(psf.wdisp(r.fiber, psf.wmin()), r.wd_min, 1e-9, "wdisp(wmin)");
    expect_rel(psf.wdisp(r.fiber, mid), r.wd_mid, 1e-9, "wdisp(mid)");
    expect_rel(psf.wdisp(r.fiber, psf.wmax()), r.wd_max, 1e-9, "wdisp(wmax)");
  }
}

TEST(PsfV2, TracesAndInverseMapMatchSpecter) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  const Psf psf = Psf::load(shared_file("psf-gausshermite-v2.fits"));
  EXPECT_EQ(psf.format_version(), 2);
  EXPECT_EQ(psf.nspec(), 25);
  EXPECT_EQ(psf.hsize_x(), 14);
  EXPECT_EQ(psf.hsize_y(), 8);
  EXPECT_EQ(psf.ghdeg_x(), 8);
  EXPECT_EQ(psf.legendre_ncoef(), 8);
  // PSFERROR = 0 in the file is not PSFERR: the default 0.01 applies (quirk Q7).
  EXPECT_EQ(psf.psferr(), 0.01);
  expect_rel(psf.wmin(), 5569.3497866994, 1e-12, "wmin");
  expect_rel(psf.wmax(), 7756.1516230085, 1e-12, "wmax");
  expect_rel(psf.wmin_all(), 5579.5207308037, 1e-12, "wmin_all");
  expect_rel(psf.wmax_all(), 7745.8471936736, 1e-12, "wmax_all");
  expect_rel(psf.x(0, 6000.0), 172.236646651798, 1e-12, "X");
  expect_rel(psf.y(0, 6000.0), 765.216600467372, 1e-12, "Y");
  expect_rel(psf.x(12, 6690.0), 260.441756270427, 1e-12, "X");
  expect_rel(psf.y(12, 6690.0), 2029.903629723997, 1e-12, "Y");
  expect_rel(psf.x(24, 7500.0), 340.290854047646, 1e-12, "X");
  expect_rel(psf.y(24, 7500.0), 3603.171739461884, 1e-12, "Y");
}

TEST(PsfGzip, ReadsCompressedFile) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-gausshermite-v2.fits");
  const std::string gz = libextract_test::scratch_dir() + "/psf-v2.fits.gz";
  const std::string command = "gzip -c '" + shared_file("psf-gausshermite-v2.fits") + "' > '" + gz + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const Psf plain = Psf::load(shared_file("psf-gausshermite-v2.fits"));
  const Psf packed = Psf::load(gz);
  EXPECT_EQ(packed.nspec(), plain.nspec());
  EXPECT_EQ(packed.x(7, 6100.0), plain.x(7, 6100.0));
  EXPECT_EQ(packed.wavelength(7, 1234.5), plain.wavelength(7, 1234.5));
  std::remove(gz.c_str());
}

TEST(SyntheticPsf, RoundTripsAndIsDesiLike) {
  const std::string path = libextract_test::scratch_dir() + "/synthetic.fits";
  libextract::SyntheticPsfOptions options;
  options.seed = 7;
  libextract::write_synthetic_psf(path, options);
  const Psf psf = Psf::load(path);
  EXPECT_EQ(psf.format_version(), 3);
  EXPECT_EQ(psf.nspec(), 500);
  EXPECT_EQ(psf.trace_wavemax() + 1.0, psf.wavemax());
  // Every fibre covers the r grid 5760..7620 and stays at least 100 columns from the edges.
  for (int f = 0; f < psf.nspec(); ++f) {
    EXPECT_LT(psf.wavemin_fiber(f), 5760.0);
    EXPECT_GT(psf.wavemax_fiber(f), 7620.0);
    EXPECT_GT(psf.x(f, 6500.0), 100.0);
    EXPECT_LT(psf.x(f, 6500.0), psf.npix_x() - 100.0);
  }
  // Fibres are ordered in x; bundles are separated by wider gaps.
  EXPECT_GT(psf.x(25, 6500.0) - psf.x(24, 6500.0), psf.x(24, 6500.0) - psf.x(23, 6500.0) + 5.0);
  const double sigma = psf.param("GHSIGY", 250, 6500.0);
  EXPECT_GT(sigma, 0.9);
  EXPECT_LT(sigma, 1.4);
  // The same seed gives the same file contents.
  const std::string again = libextract_test::scratch_dir() + "/synthetic-again.fits";
  libextract::write_synthetic_psf(again, options);
  EXPECT_EQ(Psf::load(again).y(123, 6789.0), psf.y(123, 6789.0));
  std::remove(path.c_str());
  std::remove(again.c_str());
}

// ---- bad input: every error names the file and what is wrong ----

std::string expect_error(const std::string& path, libextract::ErrorCode code) {
  try {
    Psf::load(path);
  } catch (const libextract::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

TEST(PsfErrors, MissingFile) {
  expect_error("/nonexistent/psf.fits", libextract::ErrorCode::io_error);
}

TEST(PsfErrors, NotFits) {
  const std::string path = libextract_test::scratch_dir() + "/not-fits.fits";
  std::ofstream(path) << "this is not a FITS file\n";
  expect_error(path, libextract::ErrorCode::format_error);
  std::remove(path.c_str());
}

TEST(PsfErrors, ImageWithoutPsfHdus) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("spots-r0-00051060.fits");
  // A valid FITS file that is not a PSF: the message names the missing keyword.
  const auto message =
      expect_error(shared_file("spots-r0-00051060.fits"), libextract::ErrorCode::format_error);
  EXPECT_NE(message.find("PSFTYPE"), std::string::npos) << message;
}

}  // namespace

// ---- damaged PSF files, made by editing a synthetic one with CFITSIO ----

namespace {

std::string damaged_psf(const std::string& name, void (*damage)(fitsfile*, int*)) {
  const std::string path = libextract_test::scratch_dir() + "/" + name + ".fits";
  libextract::SyntheticPsfOptions o;
  o.nspec = 10;
  libextract::write_synthetic_psf(path, o);
  fitsfile* f = nullptr;
  int status = 0;
  fits_open_file(&f, path.c_str(), READWRITE, &status);
  damage(f, &status);
  fits_close_file(f, &status);
  EXPECT_EQ(status, 0) << "could not damage " << path;
  return path;
}

}  // namespace

TEST(PsfErrors, WrongPsfType) {
  const std::string path = damaged_psf("wrong-type", [](fitsfile* f, int* status) {
    char value[] = "SPOTGRID";
    fits_update_key(f, TSTRING, "PSFTYPE", value, nullptr, status);
  });
  const auto message = expect_error(path, libextract::ErrorCode::format_error);
  EXPECT_NE(message.find("PSFTYPE"), std::string::npos) << message;
  EXPECT_NE(message.find("SPOTGRID"), std::string::npos) << message;
}

TEST(PsfErrors, NanCoefficient) {
  const std::string path = damaged_psf("nan-coefficient", [](fitsfile* f, int* status) {
    char extname[] = "PSF";
    fits_movnam_hdu(f, BINARY_TBL, extname, 0, status);
    double nan = std::nan("");
    fits_write_col(f, TDOUBLE, 2, 3, 5, 1, &nan, status);  // row 3 (GH-0-0), element 5
  });
  const auto message = expect_error(path, libextract::ErrorCode::format_error);
  EXPECT_NE(message.find("COEFF"), std::string::npos) << message;
  EXPECT_NE(message.find("non-finite"), std::string::npos) << message;
}

TEST(PsfErrors, MissingKeyword) {
  const std::string path = damaged_psf("missing-hsizex", [](fitsfile* f, int* status) {
    char extname[] = "PSF";
    fits_movnam_hdu(f, BINARY_TBL, extname, 0, status);
    fits_delete_key(f, "HSIZEX", status);
  });
  const auto message = expect_error(path, libextract::ErrorCode::format_error);
  EXPECT_NE(message.find("HSIZEX"), std::string::npos) << message;
  EXPECT_NE(message.find("PSF"), std::string::npos) << message;
}

TEST(PsfErrors, MissingTraceHdu) {
  const std::string path = damaged_psf("missing-ytrace", [](fitsfile* f, int* status) {
    char extname[] = "YTRACE";
    fits_movnam_hdu(f, IMAGE_HDU, extname, 0, status);
    fits_delete_hdu(f, nullptr, status);
  });
  const auto message = expect_error(path, libextract::ErrorCode::format_error);
  EXPECT_NE(message.find("YTRACE"), std::string::npos) << message;
}

TEST(PsfErrors, FibreAndWavelengthArguments) {
  libextract::SyntheticPsfOptions o;
  o.nspec = 10;
  const std::string path = libextract_test::scratch_dir() + "/arguments-psf.fits";
  libextract::write_synthetic_psf(path, o);
  const Psf psf = Psf::load(path);
  for (int fiber : {-1, 10}) {
    try {
      psf.x(fiber, 6500.0);
      ADD_FAILURE() << "no error for fibre " << fiber;
    } catch (const libextract::Error& e) {
      EXPECT_EQ(e.code(), libextract::ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("fiber " + std::to_string(fiber)), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(psf.y(0, std::nan("")), libextract::Error);
  EXPECT_THROW(psf.wavelength(0, INFINITY), libextract::Error);
  EXPECT_THROW(psf.param("NOSUCH", 0, 6500.0), libextract::Error);
  std::vector<libextract::SpotRequest> bad(1);
  bad[0].fiber = 3;
  bad[0].wavelength = std::nan("");
  EXPECT_THROW(libextract::evaluate_spots(psf, bad, libextract::Compat::specter), libextract::Error);
}
