// The CUDA launcher: the same kernels/ functor the CPU runs, one thread per element
// (grid-stride) with a bounds check, each thread with its own scratch slice.
#pragma once

#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/device_buffer.cuh"

namespace libextract {
namespace cuda {

template <class Functor>
__global__ void elementwise_kernel(int count, int scratch_doubles, double* scratch, Functor functor) {
  const long thread = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long stride = static_cast<long>(gridDim.x) * blockDim.x;
  double* mine = scratch + thread * scratch_doubles;
  for (long s = thread; s < count; s += stride) functor(static_cast<int>(s), mine);
}

// Launches `functor` over count elements on `stream`. The grid is capped so that the
// scratch workspace stays bounded (max_threads × scratch_doubles).
template <class Functor>
void launch(int count, int scratch_doubles, const Functor& functor, cudaStream_t stream,
            DeviceBuffer<double>& scratch, int max_threads = 1 << 15) {
  if (count <= 0) return;
  const int block = 128;
  int threads = count < max_threads ? count : max_threads;
  const int grid = (threads + block - 1) / block;
  threads = grid * block;
  const std::size_t need = static_cast<std::size_t>(threads) * (scratch_doubles > 0 ? scratch_doubles : 1);
  if (scratch.size() < need) scratch.resize(need);
  elementwise_kernel<<<grid, block, 0, stream>>>(count, scratch_doubles, scratch.data(), functor);
  LIBEXTRACT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace libextract
