#include "cpu_fallback/eigen_recompose_cpu.hpp"

#include "cpu_fallback/vector_clones.hpp"

namespace libextract {
namespace cpu {

LIBEXTRACT_VECTOR_CLONES void eigen_recompose_columns(const double* v, int ldv, const double* g, int n,
                                                      double* q, int ldq, double* scaled) {
  for (int k = 0; k < n; ++k) {
    const double* vk = v + static_cast<long>(k) * ldv;
    double* sk = scaled + static_cast<long>(k) * n;
    for (int i = 0; i < n; ++i) sk[i] = vk[i] * g[k];
  }
  for (int j = 0; j < n; ++j) {
    double* __restrict qj = q + static_cast<long>(j) * ldq;
    for (int i = 0; i < n; ++i) qj[i] = 0.0;
    for (int k = 0; k < n; ++k) {
      const double vjk = v[static_cast<long>(k) * ldv + j];
      const double* __restrict sk = scaled + static_cast<long>(k) * n;
      for (int i = 0; i < n; ++i) qj[i] = qj[i] + sk[i] * vjk;
    }
  }
}

}  // namespace cpu
}  // namespace libextract
