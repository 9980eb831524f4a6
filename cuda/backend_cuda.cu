// CUDA backend entry points. The math is the shared kernels/ code; this file only
// moves data and launches. Kept to one translation unit because nvcc is slow.
#include <vector>

#include "backends.hpp"
#include "patch_solve.hpp"
#include "cuda/device_buffer.cuh"
#include "cuda/launch.cuh"
#include "kernels/spot_batch.hpp"

namespace libextract {
namespace detail {

bool cuda_backend_compiled() noexcept { return true; }

int cuda_backend_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

namespace {
// The PSF tables on the device, and a view whose pointers point there.
struct DevicePsf {
  cuda::DeviceBuffer<double> trace_x, trace_y, shape, fiber_wmin, fiber_wmax;
  kernels::PsfView view{};
  explicit DevicePsf(const PsfModel& psf)
      : trace_x(psf.trace_x), trace_y(psf.trace_y), shape(psf.shape), fiber_wmin(psf.fiber_wmin),
        fiber_wmax(psf.fiber_wmax) {
    view = psf.view();
    view.trace_x = trace_x.data();
    view.trace_y = trace_y.data();
    view.shape = shape.data();
    view.fiber_wmin = fiber_wmin.data();
    view.fiber_wmax = fiber_wmax.data();
  }
};
}  // namespace

void cuda_evaluate_spots(const PsfModel& psf, const SpotJob& job, int device) {
  LIBEXTRACT_CUDA_CHECK(cudaSetDevice(device));
  DevicePsf dpsf(psf);
  const std::size_t n = static_cast<std::size_t>(job.count);
  const std::size_t cell = static_cast<std::size_t>(kernels::spot_nx_max(dpsf.view)) * kernels::spot_ny_max(dpsf.view);
  cuda::DeviceBuffer<int> fibers(std::vector<int>(job.fibers, job.fibers + n));
  cuda::DeviceBuffer<double> waves(std::vector<double>(job.waves, job.waves + n));
  cuda::DeviceBuffer<double> stamps(n * cell);
  cuda::DeviceBuffer<kernels::SpotFootprint> footprints(n);
  cuda::DeviceBuffer<int> status(n);
  cuda::DeviceBuffer<double> scratch;
  const kernels::SpotBatchFunctor functor{dpsf.view,    fibers.data(),     waves.data(), job.rule,
                                          stamps.data(), footprints.data(), status.data()};
  cuda::launch(job.count, kernels::spot_scratch_size(dpsf.view), functor, nullptr, scratch);
  LIBEXTRACT_CUDA_CHECK(cudaDeviceSynchronize());
  stamps.download(job.stamps, n * cell);
  footprints.download(job.footprints, n);
  status.download(job.status, n);
}

// The device pipeline of the patch solve is not written yet (issue: CUDA backend);
// until it is, asking for it refuses clearly instead of silently running the CPU.
void cuda_solve_patches(const PatchBatch&, int, StageClock&) {
  throw BackendUnavailable("--backend cuda: the CUDA extraction pipeline is not implemented in this version; "
                           "use --backend cpu (spot evaluation already runs on CUDA)");
}

}  // namespace detail
}  // namespace libextract
