// A naive, dense, deliberately slow solve of ONE patch, written straight from the
// specifications (extraction-spec §4.6-4.9 for specter, gpu_specter-spec §7-10 for
// gpu_specter). It is the oracle the engine's patch solve is tested against, so it
// favours the obvious over the fast and shares none of the engine's solve code:
//  * A is a dense P x F matrix filled from naive_spot / naive_cut (naive_spot.hpp);
//  * AᵀWA, AᵀWd, the fluxweights, chi2pix and pixmask_fraction are plain loops over
//    that dense matrix (no pixel lists, no envelopes, no permutation);
//  * the solve is a general LU (LAPACK dgesv), not Cholesky;
//  * the covariance is C = V·diag(1/e)·Vᵀ from a FULL eigendecomposition of iCov
//    (LAPACK dsyevd), with specter's 10ε guards where specter has them; the engine
//    instead inverts a Cholesky factor (docs/compatibility.md D4);
//  * every fibre block is decorrelated (padding fibres too), or in decorrelate mode the
//    full iCov^(1/2) is taken, and the whole F x F resolution matrix is returned.
// LAPACK is looked up at run time in the process (libextract links it; the test
// executables do not), as tests/test_eigen_kernel.cpp does. Host-only test code.
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "libextract/image.hpp"
#include "libextract/psf.hpp"
#include "reference/naive_spot.hpp"

namespace libextract_reference {

// ---- LAPACK, Fortran ABI (hidden string lengths included), resolved with dlsym.
namespace naive_lapack {

using dgesv_t = void (*)(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b,
                         const int* ldb, int* info);
using dsyevd_t = void (*)(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                          double* w, double* work, const int* lwork, int* iwork, const int* liwork, int* info,
                          std::size_t jobz_len, std::size_t uplo_len);

template <class F>
F lookup(const char* name) {
  (void)libextract::Psf::load;  // keeps libextract (and the LAPACK it links) in the process
  void* p = dlsym(RTLD_DEFAULT, name);
  if (p == nullptr)
    throw std::runtime_error(std::string("naive_patch: LAPACK symbol ") + name + " not found");
  return reinterpret_cast<F>(p);
}

// Solves a·x = b (a: n x n, row-major, copied) by LU with partial pivoting.
inline std::vector<double> solve_general(std::vector<double> a, std::vector<double> b, int n) {
  static const dgesv_t dgesv = lookup<dgesv_t>("dgesv_");
  // Row-major a is the column-major aᵀ: solve with the transpose of the copy.
  std::vector<double> at(a.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      at[static_cast<std::size_t>(j) * n + i] = a[static_cast<std::size_t>(i) * n + j];
  std::vector<int> ipiv(static_cast<std::size_t>(n));
  const int nrhs = 1;
  int info = 0;
  dgesv(&n, &nrhs, at.data(), &n, ipiv.data(), b.data(), &n, &info);
  if (info != 0) throw std::runtime_error("naive_patch: dgesv info " + std::to_string(info));
  return b;
}

// Eigendecomposition of a symmetric n x n matrix (row-major, exactly symmetric):
// eigenvalues ascending in e, eigenvector k in column k of v (row-major v[i*n + k]).
inline void eigh(const std::vector<double>& a, int n, std::vector<double>& e, std::vector<double>& v) {
  static const dsyevd_t dsyevd = lookup<dsyevd_t>("dsyevd_");
  std::vector<double> m = a;  // symmetric: row-major = column-major
  e.assign(static_cast<std::size_t>(n), 0.0);
  int lwork = -1, liwork = -1, info = 0;
  double wq = 0;
  int iwq = 0;
  dsyevd("V", "L", &n, m.data(), &n, e.data(), &wq, &lwork, &iwq, &liwork, &info, 1, 1);
  lwork = static_cast<int>(wq);
  liwork = iwq;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd("V", "L", &n, m.data(), &n, e.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) throw std::runtime_error("naive_patch: dsyevd info " + std::to_string(info));
  // Column-major output: eigenvector k is m[k*n .. k*n+n).
  v.assign(static_cast<std::size_t>(n) * n, 0.0);
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < n; ++i)
      v[static_cast<std::size_t>(i) * n + k] = m[static_cast<std::size_t>(k) * n + i];
}

// U·diag(g)·Uᵀ (row-major, U's columns the eigenvectors), lower triangle computed and
// mirrored so the result is exactly symmetric.
inline std::vector<double> compose(const std::vector<double>& u, const std::vector<double>& g, int n) {
  std::vector<double> out(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int k = 0; k < n; ++k)
        s += u[static_cast<std::size_t>(i) * n + k] * g[k] * u[static_cast<std::size_t>(j) * n + k];
      out[static_cast<std::size_t>(i) * n + j] = s;
      out[static_cast<std::size_t>(j) * n + i] = s;
    }
  }
  return out;
}

}  // namespace naive_lapack

struct NaivePatchInput {
  const libextract::Psf* psf = nullptr;
  const libextract::Image* image = nullptr;  // the full CCD
  PlacementRule rule = PlacementRule::gpu_specter;
  int fiber_lo = 0, fiber_hi = 0;      // the patch's fibres [lo, hi)
  std::vector<double> waves;           // its bin wavelengths (nw), the same for every fibre
  int x0 = 0, x1 = 0, y0 = 0, y1 = 0;  // pixel window [x0, x1) x [y0, y1)
  double regularize = 0.0;
  double psferr = 0.01;
  bool decorrelate = false;  // ndecorr: Q = iCov^(1/2) instead of per-fibre C_bb^(-1/2)
};

// Per unknown q = (f − fiber_lo)·nw + k, in counts per bin (no unit conversion).
struct NaivePatchResult {
  int nf = 0, nw = 0, nq = 0, npix = 0;
  bool all_masked = false;           // specter's flag (every weight 0); always false for gpu_specter
  std::vector<double> fw;            // fluxweight Σ_p w_p A_pq
  std::vector<double> xhat;          // deconvolved solution
  std::vector<double> flux, ivar;    // R·x̂ and s² (specter's ivar zeroing applied)
  std::vector<double> chi2pix, pmf;  // §4.9 / §10.3-10.4 (pmf: each rule's definition)
  std::vector<double> R;             // nq x nq, row-major: R[q*nq + r]
  std::vector<double> eigenvalues;   // of iCov (prior included), ascending
  std::vector<double> icov;          // nq x nq, row-major, prior included
  double kappa() const { return eigenvalues.back() / eigenvalues.front(); }
  double r(int q, int c) const { return R[static_cast<std::size_t>(q) * nq + c]; }
};

inline NaivePatchResult naive_patch(const NaivePatchInput& in) {
  const bool specter = in.rule == PlacementRule::specter;
  const libextract::Image& img = *in.image;
  NaivePatchResult out;
  const int nf = in.fiber_hi - in.fiber_lo;
  const int nw = static_cast<int>(in.waves.size());
  const int nq = nf * nw;
  const int ncols = in.x1 - in.x0, nrows = in.y1 - in.y0;
  const int npix = ncols * nrows;
  out.nf = nf, out.nw = nw, out.nq = nq, out.npix = npix;
  auto at = [](int i, int j, int n) { return static_cast<std::size_t>(i) * n + j; };

  // ---- §4.6 / §7: the dense projection matrix, pixels row-major, unknowns fibre-major.
  std::vector<double> A(static_cast<std::size_t>(npix) * nq, 0.0);
  for (int b = 0; b < nf; ++b) {
    for (int k = 0; k < nw; ++k) {
      const int q = b * nw + k;
      const NaiveSpot full = naive_spot(*in.psf, in.fiber_lo + b, in.waves[k], in.rule);
      const NaiveSpot cut = naive_cut(full, in.rule, in.x0, in.x1, in.y0, in.y1);
      if (cut.empty()) continue;
      for (int j = 0; j < cut.ny; ++j) {
        for (int i = 0; i < cut.nx; ++i) {
          const long long y = cut.y0 + j, x = cut.x0 + i;
          A[at(static_cast<int>((y - in.y0) * ncols + (x - in.x0)), q, nq)] = cut.at(j, i);
        }
      }
    }
  }
  std::vector<double> w(static_cast<std::size_t>(npix)), d(static_cast<std::size_t>(npix));
  for (int y = in.y0; y < in.y1; ++y) {
    for (int x = in.x0; x < in.x1; ++x) {
      const int p = (y - in.y0) * ncols + (x - in.x0);
      w[p] = img.ivar[static_cast<std::size_t>(y) * img.ncols + x];
      d[p] = img.pixels[static_cast<std::size_t>(y) * img.ncols + x];
    }
  }

  // ---- Normal equations by plain loops; a pixel with w·A = 0 never contributes (so
  // its value never enters), the upper triangle is mirrored.
  out.fw.assign(static_cast<std::size_t>(nq), 0.0);
  std::vector<double> rhs(static_cast<std::size_t>(nq), 0.0);
  std::vector<double> H(static_cast<std::size_t>(nq) * nq, 0.0);
  for (int q = 0; q < nq; ++q) {
    for (int p = 0; p < npix; ++p) {
      const double wa = w[p] * A[at(p, q, nq)];
      if (wa == 0.0) continue;
      out.fw[q] += wa;
      rhs[q] += wa * d[p];
    }
    for (int r = q; r < nq; ++r) {
      double s = 0.0;
      for (int p = 0; p < npix; ++p) {
        const double wa = w[p] * A[at(p, q, nq)];
        if (wa != 0.0) s += wa * A[at(p, r, nq)];
      }
      H[at(q, r, nq)] = s;
      H[at(r, q, nq)] = s;
    }
  }

  // ---- Prior. specter: (m − fw)² where fw < m, regularize² elsewhere; every weight 0
  // → 1e-8·I and b = 0. gpu_specter: the same α² plus 1e-15 on every diagonal element,
  // and no special case for a masked patch.
  bool any_weight = false;
  for (double v : w) any_weight = any_weight || v != 0.0;
  bool any_entry = false;
  for (double v : H) any_entry = any_entry || v != 0.0;
  out.all_masked = specter && (!any_weight || !any_entry);
  if (out.all_masked) {
    std::fill(H.begin(), H.end(), 0.0);
    for (int q = 0; q < nq; ++q) H[at(q, q, nq)] = 1e-8;
    std::fill(rhs.begin(), rhs.end(), 0.0);
  } else {
    double max_fw = out.fw[0];
    for (double v : out.fw) max_fw = std::max(max_fw, v);
    const double m = 1e-4 * max_fw;
    for (int q = 0; q < nq; ++q) {
      const double alpha = out.fw[q] < m ? m - out.fw[q] : in.regularize;
      H[at(q, q, nq)] += specter ? alpha * alpha : alpha * alpha + 1e-15;
    }
  }
  out.icov = H;

  // ---- Solve (general LU).
  out.xhat = naive_lapack::solve_general(H, rhs, nq);

  // ---- §4.7 / §9: eigh of iCov, covariance, Q.
  std::vector<double> V;
  naive_lapack::eigh(H, nq, out.eigenvalues, V);
  const std::vector<double>& e = out.eigenvalues;
  const double eps10 = 10.0 * 2.220446049250313e-16;
  const double emax = e[nq - 1];
  std::vector<double> Q(static_cast<std::size_t>(nq) * nq, 0.0);
  if (in.decorrelate) {
    // Q = iCov^(1/2). specter's "sqrt" guard compares e (not √e) with eps10·√emax.
    std::vector<double> g(static_cast<std::size_t>(nq));
    for (int k = 0; k < nq; ++k) {
      if (specter) {
        g[k] = e[k] > eps10 * std::sqrt(emax) ? std::sqrt(e[k]) : eps10 * std::sqrt(emax);
      } else {
        g[k] = std::sqrt(e[k]);
      }
    }
    Q = naive_lapack::compose(V, g, nq);
  } else {
    std::vector<double> g(static_cast<std::size_t>(nq));
    for (int k = 0; k < nq; ++k) {
      if (specter) {
        g[k] = e[k] > eps10 * emax ? 1.0 / e[k] : 1.0 / (eps10 * emax);
      } else {
        g[k] = 1.0 / e[k];
      }
    }
    const std::vector<double> C = naive_lapack::compose(V, g, nq);
    for (int b = 0; b < nf; ++b) {
      std::vector<double> cbb(static_cast<std::size_t>(nw) * nw);
      for (int i = 0; i < nw; ++i)
        for (int j = 0; j < nw; ++j) cbb[at(i, j, nw)] = C[at(b * nw + i, b * nw + j, nq)];
      std::vector<double> mu, U;
      naive_lapack::eigh(cbb, nw, mu, U);
      const double mumax = mu[nw - 1];
      std::vector<double> h(static_cast<std::size_t>(nw));
      for (int k = 0; k < nw; ++k) {
        if (specter) {
          // "inverse sqrt": 1/√μ if √μ > eps10·√μmax; a NaN √μ takes the replacement.
          const double root = std::sqrt(mu[k]);
          h[k] = root > eps10 * std::sqrt(mumax) ? 1.0 / root : 1.0 / (eps10 * std::sqrt(mumax));
        } else {
          h[k] = std::sqrt(1.0 / mu[k]);
        }
      }
      const std::vector<double> qbb = naive_lapack::compose(U, h, nw);
      for (int i = 0; i < nw; ++i)
        for (int j = 0; j < nw; ++j) Q[at(b * nw + i, b * nw + j, nq)] = qbb[at(i, j, nw)];
    }
  }

  // ---- R = diag(1/s)·Q, ivar = s², flux = R·x̂.
  out.R.assign(static_cast<std::size_t>(nq) * nq, 0.0);
  out.flux.assign(static_cast<std::size_t>(nq), 0.0);
  out.ivar.assign(static_cast<std::size_t>(nq), 0.0);
  for (int q = 0; q < nq; ++q) {
    double s = 0.0;
    for (int r = 0; r < nq; ++r) s += Q[at(q, r, nq)];
    double f = 0.0;
    for (int r = 0; r < nq; ++r) {
      out.R[at(q, r, nq)] = Q[at(q, r, nq)] / s;
      f += out.R[at(q, r, nq)] * out.xhat[r];
    }
    out.flux[q] = f;
    out.ivar[q] = s * s;
    if (specter && (out.all_masked || std::fabs(out.fw[q]) <= 1e-8)) out.ivar[q] = 0.0;
  }

  // ---- §4.9 / §10.4: chi2pix from the deconvolved model of the whole patch.
  std::vector<double> chi2(static_cast<std::size_t>(npix)), tivpos(static_cast<std::size_t>(npix));
  for (int p = 0; p < npix; ++p) {
    double model = 0.0;
    for (int q = 0; q < nq; ++q) model += A[at(p, q, nq)] * out.xhat[q];
    bool model_bad = false;
    if (specter && std::isnan(model)) model = 0.0, model_bad = true;  // specter: NaN → 0, remembered
    const double sigma_m = model * in.psferr + 1e-32;
    const double mivar = model_bad ? 0.0 : 1.0 / (sigma_m * sigma_m);
    double tiv = 0.0;
    if (mivar > 0.0 && w[p] > 0.0) tiv = 1.0 / (1.0 / mivar + 1.0 / w[p]);
    const double chi = (d[p] - model) * std::sqrt(tiv);
    chi2[p] = chi * chi;
    tivpos[p] = tiv > 0.0 ? 1.0 : 0.0;
  }
  out.chi2pix.assign(static_cast<std::size_t>(nq), 0.0);
  out.pmf.assign(static_cast<std::size_t>(nq), 0.0);
  for (int q = 0; q < nq; ++q) {
    double num = 0.0, pw = 0.0, good = 0.0, masked = 0.0;
    for (int p = 0; p < npix; ++p) {
      const double a = A[at(p, q, nq)];
      num += a * chi2[p];
      pw += a * tivpos[p];
      if (w[p] > 0.0) good += a;
      if (w[p] == 0.0) masked += a;
    }
    out.chi2pix[q] = pw != 0.0 ? num / pw : 0.0;
    // specter: 1 − Σ A·[ivar > 0] (masked OR off-window light); gpu_specter: Σ A·[w == 0].
    out.pmf[q] = specter ? 1.0 - good : masked;
  }
  return out;
}

}  // namespace libextract_reference
