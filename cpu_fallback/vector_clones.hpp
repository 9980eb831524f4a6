// Per-ISA variants of the CPU backend's hot loop nests, chosen at run time.
//
// LIBEXTRACT_ISA_VARIANTS(ret, name, (params), (args)) defines `ret name(params)` from
// a body `template <int W> name_body` written once, W being the variant's doubles per
// vector register (Lanes<W>): three copies of it compiled for AVX-512 (W = 8), AVX2
// (4) and the baseline (SSE2, 2) (each inlining everything it calls, so the kernels' templates get the
// copy's vectors too), and a dispatcher that calls the one cpu::active_isa() names
// (LIBEXTRACT_ISA=avx512|avx2|baseline, default the widest the CPU has; tests switch
// it with set_isa_for_testing and compare the variants in one process). Only for loops
// whose operations are element-wise or in a fixed association order, so every variant
// gives the same bits (-ffp-contract=off keeps fma out). Elsewhere (other
// architectures, other compilers) and under GCC's sanitizers only the baseline copy is
// built.
#pragma once

#include "cpu_fallback/isa.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define LIBEXTRACT_ALWAYS_INLINE __attribute__((always_inline)) inline
#define LIBEXTRACT_FLATTEN __attribute__((flatten))
#else
#define LIBEXTRACT_ALWAYS_INLINE inline
#define LIBEXTRACT_FLATTEN
#endif

// `ret` is a type and `params`/`args` are parenthesised lists, so the arguments cannot
// be wrapped in parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#if LIBEXTRACT_X86_VARIANTS
#define LIBEXTRACT_ISA_VARIANTS(ret, name, params, args)                 \
  namespace {                                                            \
  __attribute__((target("avx512f"), flatten)) ret name##_avx512 params { \
    return name##_body<8> args;                                          \
  }                                                                      \
  __attribute__((target("avx2"), flatten)) ret name##_avx2 params {      \
    return name##_body<4> args;                                          \
  }                                                                      \
  __attribute__((flatten)) ret name##_baseline params {                  \
    return name##_body<2> args;                                          \
  }                                                                      \
  }                                                                      \
  ret name params {                                                      \
    switch (::libextract::cpu::active_isa()) {                           \
      case ::libextract::cpu::Isa::avx512:                               \
        return name##_avx512 args;                                       \
      case ::libextract::cpu::Isa::avx2:                                 \
        return name##_avx2 args;                                         \
      default:                                                           \
        return name##_baseline args;                                     \
    }                                                                    \
  }
#else
#define LIBEXTRACT_ISA_VARIANTS(ret, name, params, args) \
  LIBEXTRACT_FLATTEN ret name params {                   \
    return name##_body<2> args;                          \
  }
#endif
// NOLINTEND(bugprone-macro-parentheses)

// W doubles as one value (GCC/Clang vector extension), one vector register of the
// variant whose W it is (a wider one than the ISA has is lowered through memory, ten
// times slower). Its + and * are element-wise (no fma under the FP contract), so a
// loop written with it keeps every element's order of operations, and hence the bits
// of the scalar loop it replaces, whatever W is.
namespace libextract {
namespace cpu {
template <int W>
struct LanesOf;
template <>
struct LanesOf<8> {
  using type = double __attribute__((vector_size(8 * sizeof(double))));
};
template <>
struct LanesOf<4> {
  using type = double __attribute__((vector_size(4 * sizeof(double))));
};
template <>
struct LanesOf<2> {
  using type = double __attribute__((vector_size(2 * sizeof(double))));
};
template <int W>
using Lanes = typename LanesOf<W>::type;

}  // namespace cpu
}  // namespace libextract
