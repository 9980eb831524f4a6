#include "cpu_fallback/scratch_vector.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace libextract {
namespace cpu {

namespace {
std::atomic<int> offset_bytes{0};
}  // namespace

void set_scratch_offset_for_testing(int bytes) {
  if (bytes < 0 || bytes > 64 || bytes % 8 != 0) {
    throw std::invalid_argument("scratch offset " + std::to_string(bytes) +
                                " is not a multiple of 8 in 0..64");
  }
  offset_bytes.store(bytes, std::memory_order_relaxed);
}

int scratch_offset() {
  return offset_bytes.load(std::memory_order_relaxed);
}

}  // namespace cpu
}  // namespace libextract
