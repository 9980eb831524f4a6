// One macro checks every CUDA runtime call and turns a failure into a libextract
// Error that says which call failed, where, and why.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "libextract/errors.hpp"

namespace libextract {
namespace cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  const ErrorCode code =
      (status == cudaErrorMemoryAllocation) ? ErrorCode::numerical_error : ErrorCode::backend_unavailable;
  std::string message = std::string("CUDA call ") + call + " failed at " + file + ":" + std::to_string(line) +
                        ": " + cudaGetErrorString(status);
  if (status == cudaErrorMemoryAllocation)
    message += " (out of device memory: use a smaller --batch-patches)";
  throw Error(code, message);
}

// The check after every kernel launch (cuda/launch.cuh), one function for all of them:
// a failure names the kernel (its functor), the chunk (its first patch in plan order;
// -1 outside the patch pipeline) and the stream, then the runtime's error. With
// LIBEXTRACT_CUDA_SYNC=1 every launch is also followed by a synchronise of its stream
// and this check, so an asynchronous fault is reported by the launch that caused it
// instead of by the next synchronise, on whichever stream that is.
std::string launch_fault_message(const char* kernel, int chunk, cudaStream_t stream, cudaError_t status);
void check_launch(const char* kernel, int chunk, cudaStream_t stream, cudaError_t status);
bool sync_every_launch();  // LIBEXTRACT_CUDA_SYNC=1, read once

}  // namespace cuda
}  // namespace libextract

#define LIBEXTRACT_CUDA_CHECK(call)                                                        \
  do {                                                                                     \
    const cudaError_t libextract_status_ = (call);                                         \
    if (libextract_status_ != cudaSuccess)                                                 \
      ::libextract::cuda::throw_cuda_error(libextract_status_, #call, __FILE__, __LINE__); \
  } while (0)
