// LIBEXTRACT_VECTOR_CLONES: compile a hot loop nest once per x86 vector width
// (AVX-512, AVX2, baseline) and pick the widest at load time. Only for loops whose
// operations are element-wise or in a fixed association order, so every clone gives
// the same bits (-ffp-contract=off keeps fma out). Elsewhere (other architectures,
// other systems) the attribute is empty and the baseline build runs. So it is under
// GCC's sanitizers: the clones' ifunc resolvers run while the dynamic loader relocates
// the library, before a sanitizer runtime has started, and crash there.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__CUDACC__) && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define LIBEXTRACT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LIBEXTRACT_VECTOR_CLONES
#endif

// A helper called from a LIBEXTRACT_VECTOR_CLONES function is compiled for the
// baseline ISA unless it is inlined into each clone; this makes sure it is (a
// baseline out-of-line call made the tiled recomposition ten times slower).
// LIBEXTRACT_FLATTEN does the same for every call inside a clone (the kernels'
// templates it instantiates included).
#if defined(__GNUC__) || defined(__clang__)
#define LIBEXTRACT_ALWAYS_INLINE __attribute__((always_inline)) inline
#define LIBEXTRACT_FLATTEN __attribute__((flatten))
#else
#define LIBEXTRACT_ALWAYS_INLINE inline
#define LIBEXTRACT_FLATTEN
#endif

// Eight doubles as one value (GCC/Clang vector extension): one AVX-512 register, two
// AVX2 or four SSE2 ones, whichever clone runs. Its + and * are element-wise (no fma
// under the FP contract), so a loop written with it keeps every element's order of
// operations, and hence the bits of the scalar loop it replaces.
namespace libextract {
namespace cpu {
using Lanes8 = double __attribute__((vector_size(8 * sizeof(double))));
}  // namespace cpu
}  // namespace libextract
