// The spot table file (`libextract psf spots`), laid out like the reference tables
// in the shared test data (README section 3) so the two compare column by column.
#include <string>
#include <vector>

#include "fits_file.hpp"
#include "libextract/version.hpp"
#include "libextract/io.hpp"

namespace libextract {

void write_spot_table(const std::string& path, const Psf& psf, const std::vector<SpotRequest>& requests,
                      const SpotBatch& spots, Compat compat) {
  const long long n = static_cast<long long>(requests.size());
  const int cell = spots.nx_max * spots.ny_max;
  std::vector<int> fiber(n), wxmin(n), wxmax(n), wymin(n), wymax(n);
  std::vector<double> wave(n);
  for (long long s = 0; s < n; ++s) {
    const SpotRequest& r = requests[s];
    fiber[s] = r.fiber;
    wave[s] = r.wavelength;
    const bool full_ccd = !r.has_window;
    wxmin[s] = full_ccd ? 0 : r.window.xmin;
    wxmax[s] = full_ccd ? psf.npix_x() : r.window.xmax;
    wymin[s] = full_ccd ? 0 : r.window.ymin;
    wymax[s] = full_ccd ? psf.npix_y() : r.window.ymax;
  }

  detail::AtomicOutput output(path);
  {
    detail::FitsFile file = detail::FitsFile::create(output.temp_path());
    file.write_image_double({}, nullptr);  // empty primary HDU
    file.write_key("CREATOR", std::string("libextract ") + version());
    using Col = detail::FitsFile::ColumnSpec;
    file.create_table("SPOTS", n,
                      {Col{"FIBER", "J", ""}, Col{"WAVELENGTH", "D", "Angstrom"}, Col{"X", "D", "pixel"},
                       Col{"Y", "D", "pixel"}, Col{"WXMIN", "J", ""}, Col{"WXMAX", "J", ""},
                       Col{"WYMIN", "J", ""}, Col{"WYMAX", "J", ""}, Col{"XLO", "J", ""}, Col{"YLO", "J", ""},
                       Col{"NX", "J", ""}, Col{"NY", "J", ""}, Col{"SPOT", std::to_string(cell) + "D", ""}});
    file.write_column_int(1, n, fiber.data());
    file.write_column_double(2, n, wave.data());
    file.write_column_double(3, n, spots.x.data());
    file.write_column_double(4, n, spots.y.data());
    file.write_column_int(5, n, wxmin.data());
    file.write_column_int(6, n, wxmax.data());
    file.write_column_int(7, n, wymin.data());
    file.write_column_int(8, n, wymax.data());
    file.write_column_int(9, n, spots.xlo.data());
    file.write_column_int(10, n, spots.ylo.data());
    file.write_column_int(11, n, spots.nx.data());
    file.write_column_int(12, n, spots.ny.data());
    file.write_column_double(13, n * cell, spots.values.data());
    file.write_tdim(13, {spots.nx_max, spots.ny_max});
    file.write_key("PSFFILE", psf.path());
    file.write_key("COMPAT", std::string(to_string(compat)), "placement rules followed");
    file.write_key("NPIX_X", static_cast<long long>(psf.npix_x()));
    file.write_key("NPIX_Y", static_cast<long long>(psf.npix_y()));
    file.write_key("HSIZEX", static_cast<long long>(psf.hsize_x()));
    file.write_key("HSIZEY", static_cast<long long>(psf.hsize_y()));
    file.write_key("WAVEMIN", psf.wavemin(), "Legendre domain of the PSF parameters");
    file.write_key("WAVEMAX", psf.wavemax());
    file.write_key("PSFWMIN", psf.wmin(), "smallest valid wavelength over fibres");
    file.write_key("PSFWMAX", psf.wmax(), "largest valid wavelength over fibres");
    file.write_key("PSFERR", psf.psferr());
    file.write_checksum();

    const int nspec = psf.nspec();
    std::vector<int> fibers(nspec);
    std::vector<double> wmin(nspec), wmax(nspec);
    for (int f = 0; f < nspec; ++f) {
      fibers[f] = f;
      wmin[f] = psf.wavemin_fiber(f);
      wmax[f] = psf.wavemax_fiber(f);
    }
    file.create_table(
        "WRANGE", nspec,
        {Col{"FIBER", "J", ""}, Col{"WAVEMIN", "D", "Angstrom"}, Col{"WAVEMAX", "D", "Angstrom"}});
    file.write_column_int(1, nspec, fibers.data());
    file.write_column_double(2, nspec, wmin.data());
    file.write_column_double(3, nspec, wmax.data());
    file.write_checksum();
    file.close();
  }
  output.commit();
}

}  // namespace libextract
