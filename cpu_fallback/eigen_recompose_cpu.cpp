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
  // Four columns of Q per pass over the scaled columns: each s_k(i) is loaded once for
  // four updates, and every Q(i,j) still adds its terms one by one from k = 0 up.
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    double* __restrict q0 = q + static_cast<long>(j) * ldq;
    double* __restrict q1 = q0 + ldq;
    double* __restrict q2 = q1 + ldq;
    double* __restrict q3 = q2 + ldq;
    for (int i = 0; i < n; ++i) q0[i] = q1[i] = q2[i] = q3[i] = 0.0;
    for (int k = 0; k < n; ++k) {
      const double* vk = v + static_cast<long>(k) * ldv;
      const double v0 = vk[j], v1 = vk[j + 1], v2 = vk[j + 2], v3 = vk[j + 3];
      const double* __restrict sk = scaled + static_cast<long>(k) * n;
      for (int i = 0; i < n; ++i) {
        const double si = sk[i];
        q0[i] = q0[i] + si * v0;
        q1[i] = q1[i] + si * v1;
        q2[i] = q2[i] + si * v2;
        q3[i] = q3[i] + si * v3;
      }
    }
  }
  for (; j < n; ++j) {
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
