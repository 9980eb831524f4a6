// What the simulator puts on the CCD besides noise: the wavelength lattice, the true
// spectra and the defects (sim_sources.cpp). Internal to libextract.
#pragma once

#include <cstdint>
#include <vector>

#include "libextract/options.hpp"
#include "libextract/simulate.hpp"
#include "libextract/spots.hpp"

namespace libextract {
namespace detail {

// Random streams of the simulator, one per purpose (sim_random.hpp's stream_seed).
enum SimPurpose : std::uint64_t { purpose_spectrum = 1, purpose_defects = 2, purpose_noise = 3 };

// wmin + k * dw for k = -pad .. nwave + pad - 1: grid bin i is lattice bin pad + i.
std::vector<double> make_lattice(const WavelengthGrid& grid, int nwave, int pad);

// PHOT of one fibre on the lattice (electrons per bin) into phot[0 .. wave.size()),
// and its emission lines appended to `lines`. Depends on (seed, fiber) only.
void make_spectrum(std::uint64_t seed, int fiber, int ispec, const std::vector<double>& wave, double dw,
                   double* phot, std::vector<SimulatedLine>& lines);

// Bad pixels and cosmic-ray track pixels inside `footprint` (not yet applied).
std::vector<SimulatedDefect> make_defects(const SimulationOptions& options, const PixelWindow& footprint,
                                          int nrows, int ncols);

}  // namespace detail
}  // namespace libextract
