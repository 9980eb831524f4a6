// What a SolvedPatches holds (libextract/extract_parts.hpp): the backend's results of
// a contiguous range of patches and the stage times spent on them, so that a block
// solved in another process carries its own timing to the stitching one.
#pragma once

#include <vector>

#include "backend_seam.hpp"

namespace libextract {
namespace detail {

struct SolvedBlock {
  int first = 0;                     // plan index of results[0]
  std::vector<PatchResult> results;  // one per patch, in plan order
  StageClock clock;                  // thread-seconds and work of this block's solve
};

// Byte layout of a packed block (patch_pack.cpp). Keep in step with PatchResult.
void pack_block(const SolvedBlock& block, std::vector<unsigned char>& out);
SolvedBlock unpack_block(const unsigned char* data, std::size_t size, std::size_t& used);

}  // namespace detail
}  // namespace libextract
