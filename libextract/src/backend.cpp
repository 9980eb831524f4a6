#include "libextract/backend.hpp"

#if LIBEXTRACT_ENABLE_OPENMP
#include <omp.h>
#endif

#include "backend_seam.hpp"
#include "libextract/errors.hpp"

namespace libextract {

BackendKind parse_backend_kind(const std::string& text, const std::string& option) {
  if (text == "auto") return BackendKind::automatic;
  if (text == "cpu") return BackendKind::cpu;
  if (text == "cuda") return BackendKind::cuda;
  throw Error(ErrorCode::invalid_argument, option + ": '" + text + "' is not one of auto, cpu, cuda");
}

const char* to_string(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::automatic:
      return "auto";
    case BackendKind::cpu:
      return "cpu";
    case BackendKind::cuda:
      return "cuda";
  }
  return "unknown";
}

bool cuda_compiled() noexcept {
  return detail::cuda_backend_compiled();
}

int cuda_device_count() noexcept {
  return detail::cuda_backend_device_count();
}

BackendKind resolve_backend(const Backend& backend) {
  if (backend.threads < 0 || backend.threads > max_threads) {
    throw Error(ErrorCode::invalid_argument, "--threads: " + std::to_string(backend.threads) +
                                                 " is outside 0.." + std::to_string(max_threads));
  }
  if (backend.device < 0 || backend.device > max_device) {
    throw Error(ErrorCode::invalid_argument, "--device: " + std::to_string(backend.device) +
                                                 " is outside 0.." + std::to_string(max_device));
  }
  switch (backend.kind) {
    case BackendKind::cpu:
      return BackendKind::cpu;
    case BackendKind::cuda:
      if (!cuda_compiled())
        throw BackendUnavailable("--backend cuda: this build of libextract has no CUDA backend");
      if (backend.device < 0 || backend.device >= cuda_device_count()) {
        throw BackendUnavailable("--backend cuda: CUDA device " + std::to_string(backend.device) +
                                 " is not available (" + std::to_string(cuda_device_count()) +
                                 " device(s) found)");
      }
      return BackendKind::cuda;
    case BackendKind::automatic:
      return (cuda_compiled() && cuda_device_count() > backend.device && backend.device >= 0)
                 ? BackendKind::cuda
                 : BackendKind::cpu;
  }
  return BackendKind::cpu;
}

int cpu_thread_count(int threads) noexcept {
  if (threads > 0) return threads;
#if LIBEXTRACT_ENABLE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace libextract
