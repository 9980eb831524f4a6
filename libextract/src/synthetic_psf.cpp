// A synthetic, DESI-like GAUSS-HERMITE PSF in the v3 layout, so that tests and the
// demo stand alone. Geometry follows a DESI camera: 25-fibre bundles with gaps,
// traces that bow slightly, a fibre-dependent "smile" in y, widths near one pixel.
#include <cmath>
#include <string>
#include <vector>

#include "fits_file.hpp"
#include "libextract/version.hpp"
#include "libextract/errors.hpp"
#include "libextract/io.hpp"

namespace libextract {

namespace {

// splitmix64: a fully specified generator, so a seed gives the same file everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double uniform() {  // [0, 1)
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = z ^ (z >> 31);
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double symmetric(double amplitude) { return amplitude * (2.0 * uniform() - 1.0); }

 private:
  std::uint64_t state_;
};

void validate(const SyntheticPsfOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "psf make: " + what); };
  if (o.nspec < 1 || o.nspec > 5000) bad("--nspec must be in 1..5000");
  if (o.npix_x < 64 || o.npix_y < 64) bad("--npix-x/--npix-y must be at least 64");
  if (!(o.wavemax > o.wavemin) || o.wavemin <= 0) bad("--wavemin must be positive and below --wavemax");
  if (o.hsize_x < 1 || o.hsize_y < 1 || o.hsize_x > 32 || o.hsize_y > 32)
    bad("--hsize-x/--hsize-y must be in 1..32");
  if (o.ghdeg < 0 || o.ghdeg > 10) bad("--ghdeg must be in 0..10");
  if (o.legdeg < 1 || o.legdeg > 7) bad("--legdeg must be in 1..7");
}

}  // namespace

SyntheticPsfOptions synthetic_psf_for_camera(char camera) {
  SyntheticPsfOptions o;
  switch (camera) {
    case 'b':
      o.wavemin = 3520.0, o.wavemax = 5949.0;
      break;  // wide enough for desi_proc's 3600-5800 grid
    case 'r':
      o.wavemin = 5543.0, o.wavemax = 7826.0;
      break;
    case 'z':
      o.wavemin = 7431.0, o.wavemax = 9925.0;
      break;  // wide enough for 7520-9824
    default:
      throw Error(ErrorCode::invalid_argument,
                  std::string("--camera: '") + camera + "' is not one of b, r, z");
  }
  return o;
}

void write_synthetic_psf(const std::string& path, const SyntheticPsfOptions& o) {
  validate(o);
  Random rng(o.seed);
  const int ntrace = 7;
  const int ncoef = o.legdeg + 1;
  const int nspec = o.nspec;

  // Fibre centres: 25 per bundle at a 7.35-pixel pitch, 8.5 extra pixels per bundle gap,
  // centred on the CCD.
  std::vector<double> xcen(nspec);
  for (int f = 0; f < nspec; ++f) xcen[f] = 7.35 * f + 8.5 * (f / 25);
  const double span = xcen[nspec - 1] - xcen[0];
  const double x0 = 0.5 * (o.npix_x - span);
  for (double& x : xcen) x += x0;
  const double xmid = 0.5 * (o.npix_x - 1);

  // Traces in the Legendre basis on [wavemin, wavemax]: y spans the CCD with ~110 rows
  // to spare at each end; centre fibres sit lower than edge fibres (the smile).
  std::vector<double> trace_x(static_cast<std::size_t>(nspec) * ntrace, 0.0);
  std::vector<double> trace_y(static_cast<std::size_t>(nspec) * ntrace, 0.0);
  const double rows = o.npix_y;
  for (int f = 0; f < nspec; ++f) {
    const double u = (xcen[f] - xmid) / (0.5 * o.npix_x);
    double* cx = &trace_x[static_cast<std::size_t>(f) * ntrace];
    double* cy = &trace_y[static_cast<std::size_t>(f) * ntrace];
    cx[0] = xcen[f];
    cx[1] = -2.0 * u + rng.symmetric(0.3);
    cx[2] = -4.0 * u * u + rng.symmetric(0.2);
    cx[3] = rng.symmetric(0.05);
    cy[0] = 0.5 * (rows - 1) + 0.025 * rows * u * u + rng.symmetric(0.5);
    cy[1] = 0.5 * rows + 100.0 + rng.symmetric(1.0);
    cy[2] = -0.007 * rows + rng.symmetric(0.5);
    cy[3] = rng.symmetric(0.3);
  }

  // Shape parameters: GHSIGX/Y near one pixel, GH-0-0 = 1, small higher terms.
  std::vector<std::string> names = {"GHSIGX", "GHSIGY"};
  for (int j = 0; j <= o.ghdeg; ++j)
    for (int i = 0; i <= o.ghdeg; ++i) names.push_back("GH-" + std::to_string(i) + "-" + std::to_string(j));
  for (const char* tail : {"TAILAMP", "TAILCORE", "TAILXSCA", "TAILYSCA", "TAILINDE", "CONT"})
    names.push_back(tail);
  const std::size_t row_size = static_cast<std::size_t>(nspec) * ncoef;
  std::vector<double> coeff(names.size() * row_size, 0.0);
  std::vector<int> legdegx(names.size(), 0), legdegw(names.size(), 0);
  for (std::size_t p = 0; p < names.size(); ++p) {
    const std::string& name = names[p];
    for (int f = 0; f < nspec; ++f) {
      double* c = &coeff[p * row_size + static_cast<std::size_t>(f) * ncoef];
      const double u = (xcen[f] - xmid) / (0.5 * o.npix_x);
      if (name == "GHSIGX") {
        c[0] = 1.02 + 0.05 * u * u + rng.symmetric(0.02);
        c[1] = 0.02 + rng.symmetric(0.01);
        if (ncoef > 2) c[2] = 0.03 + rng.symmetric(0.01);
      } else if (name == "GHSIGY") {
        c[0] = 1.10 + 0.04 * u * u + rng.symmetric(0.02);
        c[1] = 0.04 + rng.symmetric(0.01);
        if (ncoef > 2) c[2] = 0.03 + rng.symmetric(0.01);
      } else if (name == "GH-0-0") {
        c[0] = 1.0;
      } else if (name.rfind("GH-", 0) == 0) {
        const int i = name[3] - '0';
        const int j = name[5] - '0';
        const double scale = 0.04 / (1.0 + i + j);
        c[0] = rng.symmetric(scale);
        c[1] = rng.symmetric(0.2 * scale);
      } else if (name == "TAILCORE" || name == "TAILXSCA" || name == "TAILYSCA") {
        c[0] = 1.0;
      } else if (name == "TAILINDE") {
        c[0] = 2.0;
      }
    }
    legdegx[p] = 1;
    legdegw[p] = o.legdeg;
  }

  detail::AtomicOutput output(path);
  {
    detail::FitsFile file = detail::FitsFile::create(output.temp_path());
    auto trace_hdu = [&](const std::string& extname, const std::vector<double>& data) {
      file.write_image_double({nspec, ntrace}, data.data());
      file.write_key("EXTNAME", extname);
      file.write_key("FIBERMIN", 0LL);
      file.write_key("FIBERMAX", static_cast<long long>(nspec - 1));
      file.write_key("WAVEMIN", o.wavemin);
      file.write_key("WAVEMAX", o.wavemax);
      file.write_key("PSFTYPE", std::string("GAUSS-HERMITE"));
      file.write_key("PSFVER", 3LL);
    };
    trace_hdu("XTRACE", trace_x);
    file.write_comment(std::string("Synthetic DESI-like PSF made by libextract ") + version());
    file.write_key("SEED", static_cast<long long>(o.seed));
    trace_hdu("YTRACE", trace_y);

    using Col = detail::FitsFile::ColumnSpec;
    const long long nrows = static_cast<long long>(names.size());
    file.create_table("PSF", nrows,
                      {Col{"PARAM", "8A", ""}, Col{"COEFF", std::to_string(row_size) + "D", ""},
                       Col{"LEGDEGX", "J", ""}, Col{"LEGDEGW", "J", ""}});
    file.write_column_string(1, names);
    file.write_column_double(2, nrows * static_cast<long long>(row_size), coeff.data());
    file.write_tdim(2, {ncoef, nspec});
    file.write_column_int(3, nrows, legdegx.data());
    file.write_column_int(4, nrows, legdegw.data());
    file.write_key("PSFTYPE", std::string("GAUSS-HERMITE"));
    file.write_key("PSFVER", std::string("3"));
    file.write_key("NPIX_X", static_cast<long long>(o.npix_x));
    file.write_key("NPIX_Y", static_cast<long long>(o.npix_y));
    file.write_key("HSIZEX", static_cast<long long>(o.hsize_x));
    file.write_key("HSIZEY", static_cast<long long>(o.hsize_y));
    file.write_key("FIBERMIN", 0LL);
    file.write_key("FIBERMAX", static_cast<long long>(nspec - 1));
    file.write_key("NPARAMS", nrows);
    file.write_key("LEGDEG", static_cast<long long>(o.legdeg));
    file.write_key("GHDEGX", static_cast<long long>(o.ghdeg));
    file.write_key("GHDEGY", static_cast<long long>(o.ghdeg));
    // The shape parameters' domain is one Angstrom wider than the traces', as in DESI files.
    file.write_key("WAVEMIN", o.wavemin);
    file.write_key("WAVEMAX", o.wavemax + 1.0);
    file.write_key("PSFERROR", 0.0, "specex chi2 setting (not PSFERR)");
    file.write_key("SEED", static_cast<long long>(o.seed));
    file.write_checksum();
    file.close();
  }
  output.commit();
}

}  // namespace libextract
