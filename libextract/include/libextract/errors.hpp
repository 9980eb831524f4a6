// Errors of the public API. Every failure the library can foresee is a
// libextract::Error with a stable code and a message that names the file, HDU,
// keyword or argument at fault. The CLI, MPI dispatcher and Python bindings each
// convert it at one boundary.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <stdexcept>
#include <string>

namespace libextract {

enum class ErrorCode : int {
  invalid_argument = 1,     // a caller-supplied value is out of range or inconsistent
  io_error = 2,             // a file cannot be opened, read or written
  format_error = 3,         // a file opens but lacks an expected HDU, keyword or column
  numerical_error = 4,      // NaN input or a failed factorisation that cannot be recovered
  backend_unavailable = 5,  // the requested backend was not compiled or has no device
  internal_error = 6,       // a broken invariant: a bug in libextract
};

// Stable, lower-case name of a code ("io_error"), for logs and Python.
const char* to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Thrown when --backend cuda is asked of a build without CUDA or a host without a GPU.
class BackendUnavailable : public Error {
 public:
  explicit BackendUnavailable(const std::string& message) : Error(ErrorCode::backend_unavailable, message) {}
};

}  // namespace libextract
