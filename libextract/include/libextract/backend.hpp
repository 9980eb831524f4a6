// Where a batch of work runs. A small value, not a class hierarchy: one switch in
// the library dispatches on it.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <string>

namespace libextract {

enum class BackendKind { automatic, cpu, cuda };

// Ranges resolve_backend enforces (a larger thread count only exhausts memory).
constexpr int max_threads = 1024;
constexpr int max_device = 63;

struct Backend {
  BackendKind kind = BackendKind::automatic;
  int device = 0;   // CUDA device ordinal (cuda only)
  int threads = 0;  // CPU threads; 0 = OpenMP's default (cpu only)
};

// Parses "auto", "cpu" or "cuda"; throws Error(invalid_argument) naming `option`.
BackendKind parse_backend_kind(const std::string& text, const std::string& option = "--backend");
const char* to_string(BackendKind kind) noexcept;

// True when this build contains the CUDA backend.
bool cuda_compiled() noexcept;
// Number of CUDA devices that answer (0 without CUDA or without a GPU); never throws.
int cuda_device_count() noexcept;

// Resolves `automatic` to cuda (compiled and a device answers) or cpu. Asking for
// cuda where it is unavailable throws BackendUnavailable; threads outside
// 0..max_threads or a device outside 0..max_device throw Error(invalid_argument).
BackendKind resolve_backend(const Backend& backend);

// The CPU threads a CPU-backend run with `threads` uses: `threads` when > 0, else
// OpenMP's default (omp_get_max_threads; 1 in a build without OpenMP).
int cpu_thread_count(int threads) noexcept;

}  // namespace libextract
