// Micro-benchmarks of the per-patch kernels: patches/s through the whole CPU patch
// solve (one bundle of a simulated r frame), and eigen-blocks/s for the per-fibre
// covariance blocks (n = 74) with the shared Householder + QL kernel both backends run
// (vector clones, and plain), and with LAPACK's dsyevd (for comparison).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu_fallback/eigen_cpu.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"
#include "libextract/libextract.hpp"
#include "libextract/simulate.hpp"

extern "C" void dsyevd_(const char*, const char*, const int*, double*, const int*, double*, double*,
                        const int*, int*, const int*, int*, std::size_t, std::size_t);

namespace {

struct Frame25 {
  libextract::Psf psf;
  libextract::Image image;
};

const Frame25& frame25() {
  static const Frame25 f = [] {
    const char* tmp = std::getenv("TMPDIR");
    const std::string path = std::string(tmp ? tmp : "/tmp") + "/libextract-bench-kernels-psf.fits";
    libextract::write_synthetic_psf(path, libextract::SyntheticPsfOptions{});
    libextract::Psf psf = libextract::Psf::load(path);
    std::remove(path.c_str());
    libextract::SimulationOptions sim;
    sim.grid = libextract::WavelengthGrid{5760.0, 6159.2, 0.8};
    sim.nspec = 25;
    sim.badpix = 20;
    sim.cosmics = 2;
    libextract::Image image = libextract::simulate_image(psf, sim).image;
    return Frame25{std::move(psf), std::move(image)};
  }();
  return f;
}

// One bundle x 500 wavelengths = 50 patches (gpu_specter rules), per iteration.
void bm_patch_solve(benchmark::State& state) {
  const Frame25& f = frame25();
  libextract::ExtractOptions o;
  o.grid = libextract::WavelengthGrid{5760.0, 6159.2, 0.8};
  o.nspec = 25;
  o.backend.kind = libextract::BackendKind::cpu;
  o.backend.threads = static_cast<int>(state.range(0));
  long long patches = 0;
  for (auto _ : state) {
    libextract::ExtractReport report;
    const libextract::Frame frame = libextract::extract_frame(f.image, f.psf, o, &report);
    benchmark::DoNotOptimize(frame.flux.data());
    patches += report.patches;
  }
  state.counters["patches/s"] = benchmark::Counter(static_cast<double>(patches), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_patch_solve)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// A covariance-like SPD block: a smooth kernel plus a diagonal.
std::vector<double> spd_block(int n) {
  std::vector<double> a(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      a[static_cast<std::size_t>(j) * n + i] = std::exp(-0.08 * (i - j) * (i - j)) + (i == j ? 0.05 : 0.0);
  return a;
}

void bm_eigen_blocks_lapack(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<double> block = spd_block(n);
  std::vector<double> a(block.size()), w(n), work(1 + 6 * n + 2 * n * n);
  std::vector<int> iwork(3 + 5 * n);
  const int lwork = static_cast<int>(work.size()), liwork = static_cast<int>(iwork.size());
  for (auto _ : state) {
    a = block;
    int info = 0;
    dsyevd_("V", "L", &n, a.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
    benchmark::DoNotOptimize(w.data());
  }
  state.counters["eigen-blocks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_eigen_blocks_lapack)->Arg(74)->Unit(benchmark::kMicrosecond);

void bm_eigen_blocks_ql(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<double> block = spd_block(n);
  std::vector<double> a(block.size()), w(n);
  libextract::cpu::SymmetricEigenWorkspace ws;
  for (auto _ : state) {
    a = block;
    benchmark::DoNotOptimize(libextract::cpu::symmetric_eigen(a.data(), n, n, w.data(), ws));
  }
  state.counters["eigen-blocks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_eigen_blocks_ql)->Arg(74)->Unit(benchmark::kMicrosecond);

// The shared kernel without the vector clones (what one thread of a team computes,
// the compiler's default vectorisation only): the clones' gain.
void bm_eigen_blocks_kernel_unflattened(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<double> block = spd_block(n);
  std::vector<double> a(block.size()), z(block.size()), w(n),
      work(static_cast<std::size_t>(libextract::kernels::symmetric_eigen_workspace(n)));
  libextract::kernels::TeamShared shared{};
  const libextract::kernels::SerialTeam team;
  for (auto _ : state) {
    a = block;
    benchmark::DoNotOptimize(libextract::kernels::symmetric_eigen(team, a.data(), n, n, w.data(), z.data(), n,
                                                                  work.data(), &shared));
  }
  state.counters["eigen-blocks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_eigen_blocks_kernel_unflattened)->Arg(74)->Unit(benchmark::kMicrosecond);

}  // namespace
