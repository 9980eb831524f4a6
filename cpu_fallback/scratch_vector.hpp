// The CPU backend's scratch buffers: std::vector with an allocator that places the data
// at a chosen offset from a 64-byte boundary.
//
// Why: no output bit may depend on where memory happens to lie (a vector kernel that
// peels to an alignment boundary sums in an order that follows the heap). Every buffer
// a patch solve computes in comes from this allocator, so a test can move them all to
// 8, 16, 32 ... bytes past a cache line and check that nothing changes
// (tests/test_workspace_alignment.cpp). Offset 0, the default, is 64-byte aligned.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace libextract {
namespace cpu {

// The offset in bytes (0..64, a multiple of 8) of scratch buffers allocated from now on.
// Process-wide; for tests. Throws std::invalid_argument for other values.
void set_scratch_offset_for_testing(int bytes);
int scratch_offset();

template <class T>
struct ScratchAllocator {
  using value_type = T;
  static_assert(alignof(T) <= 8, "scratch offsets are multiples of 8 bytes");
  ScratchAllocator() = default;
  template <class U>
  ScratchAllocator(const ScratchAllocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding

  // [64-byte block holding the base pointer][offset][n·T]: the base pointer sits just
  // before the data, where deallocate finds it whatever the offset is by then.
  T* allocate(std::size_t n) {
    constexpr std::size_t line = 64;
    if (n > (static_cast<std::size_t>(-1) - 2 * line) / sizeof(T)) throw std::bad_alloc();
    void* base = ::operator new (line + line + n * sizeof(T), std::align_val_t{line});
    char* data = static_cast<char*>(base) + line + scratch_offset();
    reinterpret_cast<void**>(data)[-1] = base;
    return reinterpret_cast<T*>(data);
  }
  void deallocate(T* p, std::size_t) noexcept {
    void* base = reinterpret_cast<void**>(p)[-1];
    ::operator delete (base, std::align_val_t{64});
  }
  template <class U>
  bool operator==(const ScratchAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const ScratchAllocator<U>&) const {
    return false;
  }
};

template <class T>
using ScratchVector = std::vector<T, ScratchAllocator<T>>;

}  // namespace cpu
}  // namespace libextract
