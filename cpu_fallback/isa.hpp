// Which vector instruction set the CPU backend's hot loops use (vector_clones.hpp):
// one of the variants compiled in, all of which give the same bits.
#pragma once

#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define LIBEXTRACT_X86_VARIANTS 1
#else
#define LIBEXTRACT_X86_VARIANTS 0
#endif

namespace libextract {
namespace cpu {

enum class Isa { baseline = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);  // "baseline", "avx2", "avx512"

// The variants this build has and this CPU runs, narrowest first.
std::vector<Isa> supported_isas();

// The variant in use: LIBEXTRACT_ISA (avx512, avx2 or baseline) when set, else the
// widest supported one; read on the first call. Throws libextract::Error naming
// LIBEXTRACT_ISA for an unknown value or one this CPU or build cannot run, so call
// it once before parallel work (cpu_solve_patches does).
Isa active_isa();

// Switches the variant for the whole process (tests compare them); throws
// libextract::Error for one that is not supported.
void set_isa_for_testing(Isa isa);

}  // namespace cpu
}  // namespace libextract
