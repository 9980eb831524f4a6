// Truth files of simulated images, in the layout of the shared reference cases
// (README §4.2): WAVELENGTH, PHOT, FLUX, DEFECTS, LINES and MODEL.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fits_file.hpp"
#include "libextract/version.hpp"
#include "libextract/errors.hpp"
#include "libextract/simulate.hpp"

namespace libextract {

namespace {

using detail::FitsFile;

void check_truth(const std::string& path, const SimulationTruth& t) {
  const std::size_t plane = static_cast<std::size_t>(t.nspec) * t.wave.size();
  const PixelWindow& w = t.model_window;
  const std::size_t area =
      w.xmax >= w.xmin && w.ymax >= w.ymin
          ? static_cast<std::size_t>(w.xmax - w.xmin) * static_cast<std::size_t>(w.ymax - w.ymin)
          : 0;
  if (t.nspec <= 0 || t.wave.empty() || t.phot.size() != plane || t.flux.size() != plane ||
      t.model.size() != area) {
    throw Error(ErrorCode::invalid_argument,
                path + ": truth arrays do not match nspec x nsim and the MODEL window");
  }
}

}  // namespace

void write_truth(const std::string& path, const SimulationTruth& t) {
  check_truth(path, t);
  const long nsim = static_cast<long>(t.wave.size());
  const std::size_t ndefects = t.defects.size(), nlines = t.lines.size();
  std::vector<std::string> kind(ndefects);
  std::vector<int> dy(ndefects), dx(ndefects), ispec(nlines);
  std::vector<double> value(ndefects), lwave(nlines), lsigma(nlines), lphot(nlines);
  for (std::size_t i = 0; i < ndefects; ++i) {
    kind[i] = t.defects[i].kind == DefectKind::bad_pixel ? "BAD" : "COSMIC";
    dy[i] = t.defects[i].y;
    dx[i] = t.defects[i].x;
    value[i] = t.defects[i].value;
  }
  for (std::size_t i = 0; i < nlines; ++i) {
    ispec[i] = t.lines[i].ispec;
    lwave[i] = t.lines[i].wave;
    lsigma[i] = t.lines[i].sigma;
    lphot[i] = t.lines[i].phot;
  }

  detail::AtomicOutput output(path);
  {
    FitsFile file = FitsFile::create(output.temp_path());
    file.write_image_double({}, nullptr);
    file.write_key("CREATOR", std::string("libextract ") + version());
    file.write_checksum();

    file.write_image_double({nsim}, t.wave.data());
    file.write_key("EXTNAME", std::string("WAVELENGTH"));
    file.write_key_long_string("PSFFILE", t.psf_path, "PSF the image was simulated with");
    file.write_key("SPECMIN", static_cast<long long>(t.specmin), "first simulated fibre");
    file.write_key("NSPEC", static_cast<long long>(t.nspec), "simulated fibres");
    file.write_key("WAVEGRID", to_string(t.grid), "extraction grid wmin,wmax,dw");
    if (t.seed <= static_cast<std::uint64_t>(std::numeric_limits<long long>::max())) {
      file.write_key("SEED", static_cast<long long>(t.seed), "random seed");
    } else {
      file.write_key("SEED", std::to_string(t.seed), "random seed");
    }
    file.write_key("RDNOISE", t.readnoise, "read noise [electron]");
    file.write_key("IVARFROM", std::string("model"));
    file.write_key("NOISELES", static_cast<long long>(t.noiseless ? 1 : 0), "1: image = model, no noise");
    file.write_key("GRIDOFF", static_cast<long long>(t.grid_offset), "lattice bin of the grid's first bin");
    file.write_key("BUNIT", std::string("Angstrom"));
    file.write_checksum();

    const std::vector<long> plane = {t.nspec, nsim};
    file.write_image_double(plane, t.phot.data());
    file.write_key("EXTNAME", std::string("PHOT"));
    file.write_key("BUNIT", std::string("electron/bin"));
    file.write_checksum();
    file.write_image_double(plane, t.flux.data());
    file.write_key("EXTNAME", std::string("FLUX"));
    file.write_key("BUNIT", std::string("electron/Angstrom"));
    file.write_checksum();

    using Col = FitsFile::ColumnSpec;
    const auto nd = static_cast<long long>(ndefects);
    file.create_table(
        "DEFECTS", nd,
        {Col{"KIND", "6A", ""}, Col{"Y", "J", ""}, Col{"X", "J", ""}, Col{"VALUE", "D", "electron"}});
    file.write_column_string(1, kind);
    file.write_column_int(2, nd, dy.data());
    file.write_column_int(3, nd, dx.data());
    file.write_column_double(4, nd, value.data());
    file.write_checksum();

    const auto nl = static_cast<long long>(nlines);
    file.create_table("LINES", nl,
                      {Col{"ISPEC", "J", ""}, Col{"WAVE", "D", "Angstrom"}, Col{"SIGMA", "D", "Angstrom"},
                       Col{"PHOT", "D", "electron"}});
    file.write_column_int(1, nl, ispec.data());
    file.write_column_double(2, nl, lwave.data());
    file.write_column_double(3, nl, lsigma.data());
    file.write_column_double(4, nl, lphot.data());
    file.write_checksum();

    const PixelWindow& w = t.model_window;
    file.write_image_double({w.ymax - w.ymin, w.xmax - w.xmin}, t.model.data());
    file.write_key("EXTNAME", std::string("MODEL"));
    file.write_key("XMIN", static_cast<long long>(w.xmin), "first column kept (0-based)");
    file.write_key("XMAX", static_cast<long long>(w.xmax), "last column kept + 1");
    file.write_key("YMIN", static_cast<long long>(w.ymin), "first row kept (0-based)");
    file.write_key("YMAX", static_cast<long long>(w.ymax), "last row kept + 1");
    file.write_key("BUNIT", std::string("electron"));
    file.write_key("OUTFRAC", t.outfrac, "fraction of model flux outside cut");
    file.write_comment("MODEL[j, i] is CCD pixel (y, x) = (YMIN + j, XMIN + i)");
    file.write_checksum();
    file.close();
  }
  output.commit();
}

SimulationTruth read_truth(const std::string& path) {
  FitsFile file = FitsFile::open_read(path);
  SimulationTruth t;
  file.move_to("WAVELENGTH");
  t.wave = file.read_image_double();
  t.psf_path = file.read_key_long_string("PSFFILE").value_or("");
  t.specmin = static_cast<int>(file.require_key_int("SPECMIN"));
  t.nspec = static_cast<int>(file.require_key_int("NSPEC"));
  t.grid =
      parse_wavelength_grid(file.require_key_string("WAVEGRID"), path + ", HDU WAVELENGTH, keyword WAVEGRID");
  const std::string seed = file.require_key_string("SEED");
  errno = 0;
  t.seed = std::strtoull(seed.c_str(), nullptr, 10);
  t.readnoise = file.read_key_double("RDNOISE").value_or(0.0);
  t.noiseless = file.read_key_int("NOISELES").value_or(0) != 0;
  if (t.wave.empty() || !(t.grid.dw > 0.0)) {
    throw Error(ErrorCode::format_error, path + ", HDU WAVELENGTH: empty lattice or non-positive step");
  }
  t.grid_offset = static_cast<int>(
      file.read_key_int("GRIDOFF").value_or(std::llround((t.grid.wmin - t.wave.front()) / t.grid.dw)));

  const std::vector<long> plane = {t.nspec, static_cast<long>(t.wave.size())};
  for (const char* name : {"PHOT", "FLUX"}) {
    file.move_to(name);
    if (file.image_shape() != plane) {
      throw Error(ErrorCode::format_error,
                  path + ", " + file.hdu_label() + ": expected [NSPEC][len(WAVELENGTH)]");
    }
    (std::string(name) == "PHOT" ? t.phot : t.flux) = file.read_image_double();
  }

  file.move_to("DEFECTS");
  const std::vector<std::string> kind = file.read_column_string("KIND");
  const std::vector<long long> dy = file.read_column_int("Y"), dx = file.read_column_int("X");
  const std::vector<double> value = file.read_column_double("VALUE");
  for (std::size_t i = 0; i < kind.size(); ++i) {
    SimulatedDefect d;
    d.kind = kind[i] == "COSMIC" ? DefectKind::cosmic : DefectKind::bad_pixel;
    d.y = static_cast<int>(dy[i]);
    d.x = static_cast<int>(dx[i]);
    d.value = value[i];
    t.defects.push_back(d);
  }

  file.move_to("LINES");
  const std::vector<long long> ispec = file.read_column_int("ISPEC");
  const std::vector<double> lwave = file.read_column_double("WAVE"),
                            lsigma = file.read_column_double("SIGMA"),
                            lphot = file.read_column_double("PHOT");
  for (std::size_t i = 0; i < ispec.size(); ++i) {
    t.lines.push_back(SimulatedLine{static_cast<int>(ispec[i]), lwave[i], lsigma[i], lphot[i]});
  }

  file.move_to("MODEL");
  PixelWindow& w = t.model_window;
  w.xmin = static_cast<int>(file.require_key_int("XMIN"));
  w.xmax = static_cast<int>(file.require_key_int("XMAX"));
  w.ymin = static_cast<int>(file.require_key_int("YMIN"));
  w.ymax = static_cast<int>(file.require_key_int("YMAX"));
  if (file.image_shape() != std::vector<long>{w.ymax - w.ymin, w.xmax - w.xmin}) {
    throw Error(ErrorCode::format_error,
                path + ", " + file.hdu_label() + ": shape differs from XMIN..XMAX, YMIN..YMAX");
  }
  t.model = file.read_image_double();
  t.outfrac = file.read_key_double("OUTFRAC").value_or(0.0);
  return t;
}

}  // namespace libextract
