// Throughput of batched spot evaluation (libextract::evaluate_spots on the CPU
// backend): spots per second for 1 and 2 threads and both placement rules, on a
// synthetic 500-fibre DESI-like PSF (r camera, 11 x 17 stamps, Hermite degree 6).
// The batch is what one bundle of an extraction asks for: every fibre at a grid of
// wavelengths across its valid range, no windows.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "libextract/libextract.hpp"

namespace {

using libextract::Compat;
using libextract::Psf;
using libextract::SpotRequest;

// Written once per process to a temporary file and removed at exit.
const Psf& synthetic_psf() {
  static std::unique_ptr<Psf> psf;
  if (!psf) {
    const char* tmp = std::getenv("TMPDIR");
    static const std::string path =
        std::string(tmp ? tmp : "/tmp") + "/libextract-bench-spots-" + std::to_string(::getpid()) + ".fits";
    libextract::SyntheticPsfOptions options;  // defaults: 500 fibres, r camera
    options.seed = 1;
    libextract::write_synthetic_psf(path, options);
    psf = std::make_unique<Psf>(Psf::load(path));
    std::atexit([] { std::remove(path.c_str()); });
  }
  return *psf;
}

// 500 fibres x 20 wavelengths = 10000 spots.
const std::vector<SpotRequest>& requests() {
  static std::vector<SpotRequest> batch;
  if (batch.empty()) {
    const Psf& psf = synthetic_psf();
    const int nwave = 20;
    for (int f = 0; f < psf.nspec(); ++f) {
      const double lo = psf.wavemin_fiber(f), hi = psf.wavemax_fiber(f);
      for (int k = 0; k < nwave; ++k) {
        SpotRequest r;
        r.fiber = f;
        r.wavelength = lo + (hi - lo) * (k + 0.5) / nwave;
        batch.push_back(r);
      }
    }
  }
  return batch;
}

// Arg: CPU threads.
void bm_evaluate_spots(benchmark::State& state, Compat compat) {
  const Psf& psf = synthetic_psf();
  const auto& batch = requests();
  libextract::Backend backend;
  backend.kind = libextract::BackendKind::cpu;
  backend.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    libextract::SpotBatch spots = libextract::evaluate_spots(psf, batch, compat, backend);
    benchmark::DoNotOptimize(spots.values.data());
    benchmark::ClobberMemory();
  }
  state.counters["spots/s"] =
      benchmark::Counter(static_cast<double>(batch.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["spots"] = static_cast<double>(batch.size());
}

// Real time: with two threads the CPU time of the calling thread alone would flatter.
BENCHMARK_CAPTURE(bm_evaluate_spots, gpu_specter, Compat::gpu_specter)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(bm_evaluate_spots, specter, Compat::specter)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
