#include "libextract/errors.hpp"

namespace libextract {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::format_error:
      return "format_error";
    case ErrorCode::numerical_error:
      return "numerical_error";
    case ErrorCode::backend_unavailable:
      return "backend_unavailable";
    case ErrorCode::internal_error:
      return "internal_error";
  }
  return "unknown_error";
}

}  // namespace libextract
