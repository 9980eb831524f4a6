// The dense LAPACK routines the tests compare the CPU backend's own algebra against
// (the library calls none), declared with the Fortran ABI (hidden string lengths
// included) so no LAPACKE/CBLAS headers are needed.
#pragma once

#include <cstddef>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, std::size_t uplo_len);
void dpocon_(const char* uplo, const int* n, const double* a, const int* lda, const double* anorm,
             double* rcond, double* work, int* iwork, int* info, std::size_t uplo_len);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t jobz_len,
             std::size_t uplo_len);
}

namespace libextract {
namespace cpu {

// Dense routines: the reference the band algebra and the eigensolver are tested
// against (tests/test_band_algebra.cpp).
inline int potrf_lower(double* a, int n) {
  int info = 0;
  dpotrf_("L", &n, a, &n, &info, 1);
  return info;
}
inline int potrs_lower(const double* a, int n, double* b) {
  int info = 0;
  const int one = 1;
  dpotrs_("L", &n, &one, a, &n, b, &n, &info, 1);
  return info;
}
// Reciprocal condition number estimate from a Cholesky factor and the 1-norm of A.
inline double pocon_lower(const double* factor, int n, double anorm, double* work, int* iwork) {
  int info = 0;
  double rcond = 0.0;
  dpocon_("L", &n, factor, &n, &anorm, &rcond, work, iwork, &info, 1);
  return info == 0 ? rcond : 0.0;
}
inline int potri_lower(double* a, int n) {
  int info = 0;
  dpotri_("L", &n, a, &n, &info, 1);
  return info;
}
// Eigenvalues (ascending) into w and eigenvectors into a (column-major), lower triangle.
inline int syevd_lower(double* a, int n, double* w, double* work, int lwork, int* iwork, int liwork) {
  int info = 0;
  dsyevd_("V", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  return info;
}
inline int syevd_work_size(int n) {
  return 1 + 6 * n + 2 * n * n;
}
inline int syevd_iwork_size(int n) {
  return 3 + 5 * n;
}

}  // namespace cpu
}  // namespace libextract
