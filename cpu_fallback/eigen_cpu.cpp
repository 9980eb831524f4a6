#include "cpu_fallback/eigen_cpu.hpp"

#include "cpu_fallback/vector_clones.hpp"
#include "kernels/symmetric_eigen.hpp"
#include "kernels/team.hpp"

namespace libextract {
namespace cpu {

namespace {

// Every call of the kernel inlined into each vector clone (flatten), so the rotations,
// the reflector updates and the dot products use the widest vectors the machine has.
template <int W>
LIBEXTRACT_ALWAYS_INLINE int symmetric_eigen_team_body(double* a, int n, int lda, double* w, double* z,
                                                       double* work) {
  kernels::TeamShared shared{};
  return kernels::symmetric_eigen(kernels::SerialTeam{}, a, lda, n, w, z, n, work, &shared);
}

LIBEXTRACT_ISA_VARIANTS(int, symmetric_eigen_team,
                        (double* a, int n, int lda, double* w, double* z, double* work),
                        (a, n, lda, w, z, work))

}  // namespace

int symmetric_eigen(double* a, int n, int lda, double* w, SymmetricEigenWorkspace& ws) {
  if (n <= 0) return 0;
  ws.work.resize(static_cast<std::size_t>(kernels::symmetric_eigen_workspace(n)));
  ws.z.resize(static_cast<std::size_t>(n) * n);
  return symmetric_eigen_team(a, n, lda, w, ws.z.data(), ws.work.data());
}

}  // namespace cpu
}  // namespace libextract
