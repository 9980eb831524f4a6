// The CUDA launchers: the same kernels/ functors the CPU runs. Elementwise stages get
// one thread per element (grid-stride) with a bounds check, each thread with its own
// scratch slice; team stages get one block per problem (BlockTeam).
#pragma once

#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/device_buffer.cuh"
#include "kernels/team.hpp"  // TeamShared

namespace libextract {
namespace cuda {

// Block size of the elementwise launcher: a block may use 65 536 registers, so at 128
// threads even the 255-register maximum fits and such a launch never fails for want
// of registers. Team launches are checked against the compiled kernel instead.
constexpr int kElementwiseBlock = 128;

template <class Functor>
__global__ void elementwise_kernel(int count, int scratch_doubles, double* scratch, Functor functor) {
  const long thread = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long stride = static_cast<long>(gridDim.x) * blockDim.x;
  double* mine = scratch + thread * scratch_doubles;
  for (long s = thread; s < count; s += stride) functor(static_cast<int>(s), mine);
}

// Launches `functor` over count elements on `stream`. The grid is capped so that the
// scratch workspace stays bounded (max_threads × scratch_doubles).
// After a launch: the named check of its status and, with LIBEXTRACT_CUDA_SYNC=1, of
// its stream's completion (cuda/check.cuh).
inline void after_launch(const char* kernel, int chunk, cudaStream_t stream) {
  check_launch(kernel, chunk, stream, cudaGetLastError());
  if (sync_every_launch()) check_launch(kernel, chunk, stream, cudaStreamSynchronize(stream));
}

// `kernel` names the functor and `chunk` the chunk (its first patch) in fault messages.
template <class Functor>
void launch(const char* kernel, int chunk, int count, int scratch_doubles, const Functor& functor,
            cudaStream_t stream, DeviceBuffer<double>& scratch, int max_threads = 1 << 15) {
  if (count <= 0) return;
  const int block = kElementwiseBlock;
  int threads = count < max_threads ? count : max_threads;
  const int grid = (threads + block - 1) / block;
  threads = grid * block;
  double* base = nullptr;  // functors without scratch leave the buffer alone
  if (scratch_doubles > 0) {
    const std::size_t need = static_cast<std::size_t>(threads) * scratch_doubles;
    if (scratch.size() < need) scratch.resize(need);
    base = scratch.data();
  }
  elementwise_kernel<<<grid, block, 0, stream>>>(count, scratch_doubles, base, functor);
  after_launch(kernel, chunk, stream);
}

// A CUDA block as a kernels/team.hpp team: the team stages of the pipeline run one
// block per problem, and their phases are separated by __syncthreads.
struct BlockTeam {
  __device__ int rank() const { return static_cast<int>(threadIdx.x); }
  __device__ int size() const { return static_cast<int>(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
  __device__ void raise_flag(int* flag, int value) const { atomicExch(flag, value); }
};

// One block per problem (grid-stride over problems when count exceeds the grid), the
// team scalars in static shared memory and `fast_doubles` of dynamic shared memory
// handed to the functor (nullptr when 0).
template <class Functor>
__global__ void team_kernel(int count, long fast_doubles, Functor functor) {
  __shared__ kernels::TeamShared shared;
  extern __shared__ double fast[];
  const BlockTeam team;
  for (int e = blockIdx.x; e < count; e += gridDim.x) {
    functor(team, e, &shared, fast_doubles > 0 ? fast : nullptr, fast_doubles);
    __syncthreads();
  }
}

// Launches `functor` over count problems, `threads` per block, on `stream`. A dynamic
// shared-memory request above the default 48 KB raises the kernel's limit first (the
// caller checks it against the device's opt-in maximum).
template <class Functor>
void launch_teams(const char* kernel, int chunk, int count, int threads, long fast_doubles,
                  const Functor& functor, cudaStream_t stream) {
  if (count <= 0) return;
  // A team kernel gives the same bits for any team size (kernels/team.hpp), so a block
  // larger than the compiled kernel allows (its registers × threads over the SM's
  // limit) is shrunk instead of failing the launch. Without bounds the compiler chose
  // 56–68 registers for both team kernels on sm_80/sm_90 (cuda/README.md).
  cudaFuncAttributes attributes{};
  LIBEXTRACT_CUDA_CHECK(cudaFuncGetAttributes(&attributes, team_kernel<Functor>));
  if (threads > attributes.maxThreadsPerBlock) threads = attributes.maxThreadsPerBlock;
  const std::size_t smem = static_cast<std::size_t>(fast_doubles > 0 ? fast_doubles : 0) * sizeof(double);
  if (smem > 48 * 1024) {
    LIBEXTRACT_CUDA_CHECK(cudaFuncSetAttribute(
        team_kernel<Functor>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  }
  if (smem > 0) {
    // Shared memory decides this kernel's occupancy (the eigen stage: 93 KB per block),
    // so ask for the largest carveout instead of the driver's default split with L1.
    LIBEXTRACT_CUDA_CHECK(cudaFuncSetAttribute(team_kernel<Functor>,
                                               cudaFuncAttributePreferredSharedMemoryCarveout,
                                               static_cast<int>(cudaSharedmemCarveoutMaxShared)));
  }
  const int grid = count < (1 << 30) ? count : (1 << 30);
  team_kernel<<<grid, threads, smem, stream>>>(count, fast_doubles, functor);
  after_launch(kernel, chunk, stream);
}

}  // namespace cuda
}  // namespace libextract
