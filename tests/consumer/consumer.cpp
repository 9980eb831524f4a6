// Writes a synthetic PSF, loads it and evaluates one spot through the installed API.
#include <cmath>
#include <cstdio>
#include <string>

#include <libextract/libextract.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string path = argv[1];
  libextract::SyntheticPsfOptions options;
  options.nspec = 25;
  libextract::write_synthetic_psf(path, options);
  const libextract::Psf psf = libextract::Psf::load(path);
  libextract::SpotRequest request;
  request.fiber = 12;
  request.wavelength = 6500.0;
  const auto spots = libextract::evaluate_spots(psf, {request}, libextract::Compat::gpu_specter,
                                                libextract::Backend{libextract::BackendKind::cpu});
  double sum = 0;
  for (int j = 0; j < spots.ny[0]; ++j)
    for (int i = 0; i < spots.nx[0]; ++i) sum += spots.stamp(0)[j * spots.nx_max + i];
  std::printf("libextract %s (%s): spot sum %.17g\n", libextract::version(), LIBEXTRACT_VERSION_STRING, sum);
  return std::fabs(sum - 1.0) < 1e-12 ? 0 : 1;
}
