// One host/device marker for every function in libextract/kernels/.
// Under nvcc the shared math compiles for both sides; under a plain C++ compiler
// the marker vanishes, so the same source is what the CPU tests execute.
#pragma once

#if defined(__CUDACC__)
#define LIBEXTRACT_HD __host__ __device__ inline
#else
#define LIBEXTRACT_HD inline
#endif
