// GPU tests skip without a CUDA device, and fail instead when LIBEXTRACT_REQUIRE_GPU=1
// (set on GPU machines, so that a broken driver cannot pass as "skipped").
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "libextract/backend.hpp"

namespace libextract_test {

inline bool gpu_required() {
  const char* env = std::getenv("LIBEXTRACT_REQUIRE_GPU");
  return env != nullptr && std::string(env) == "1";
}

}  // namespace libextract_test

#define LIBEXTRACT_REQUIRE_CUDA_DEVICE()                                                  \
  do {                                                                                    \
    if (libextract::cuda_device_count() == 0) {                                           \
      if (::libextract_test::gpu_required())                                              \
        FAIL() << "LIBEXTRACT_REQUIRE_GPU=1 but no CUDA device answers (compiled: "       \
               << libextract::cuda_compiled() << ")";                                     \
      GTEST_SKIP() << "no CUDA device (compiled: " << libextract::cuda_compiled() << ")"; \
    }                                                                                     \
  } while (0)
