// One host/device marker for every function in libextract/kernels/.
// Under nvcc the shared math compiles for both sides; under a plain C++ compiler
// the marker vanishes, so the same source is what the CPU tests execute.
#pragma once

#if defined(__CUDACC__)
#define LIBEXTRACT_HD __host__ __device__ inline
#else
#define LIBEXTRACT_HD inline
#endif

// A large team kernel that the CPU backend's vector clones (cpu_fallback/
// vector_clones.hpp) must inline into each clone, so that its loops are compiled for
// that clone's instruction set: GCC's flatten does not inline a callee it has already
// specialised (an .isra clone), which left such kernels compiled for the baseline ISA
// only. On the device it is an ordinary inline function.
#if defined(__CUDACC__)
#define LIBEXTRACT_HD_CLONED __host__ __device__ inline
#elif defined(__GNUC__)
#define LIBEXTRACT_HD_CLONED __attribute__((always_inline)) inline
#else
#define LIBEXTRACT_HD_CLONED inline
#endif
