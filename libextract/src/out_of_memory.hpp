// An allocation that fails becomes an Error naming what was being read or built, so
// std::bad_alloc never reaches a user as "internal error" (or kills Python).
#pragma once

#include <new>
#include <string>

#include "libextract/errors.hpp"

namespace libextract {
namespace detail {

template <class Work>
auto naming_allocation_failure(const std::string& what, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::io_error, "out of memory while " + what);
  }
}

}  // namespace detail
}  // namespace libextract
