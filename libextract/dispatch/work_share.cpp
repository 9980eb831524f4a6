// Static, deterministic shares of work (see work_share.hpp).
#include "work_share.hpp"

#include <stdexcept>

namespace libextract {
namespace dispatch {

namespace {

// Start of block r when n items are cut into `parts` blocks of floor or ceil n/parts.
long long block_start(long long n, int parts, int r) {
  return n * r / parts;
}

}  // namespace

PatchRange patch_share(const std::vector<int>& bundle_first, int nranks, int rank) {
  if (bundle_first.empty() || nranks < 1 || rank < 0 || rank >= nranks) {
    throw std::invalid_argument("patch_share: rank " + std::to_string(rank) + " of " +
                                std::to_string(nranks));
  }
  const int nbundles = static_cast<int>(bundle_first.size()) - 1;
  const int npatches = bundle_first.back();
  PatchRange range;
  if (nbundles >= nranks) {
    const auto b0 = block_start(nbundles, nranks, rank), b1 = block_start(nbundles, nranks, rank + 1);
    range.first = bundle_first[static_cast<std::size_t>(b0)];
    range.count = bundle_first[static_cast<std::size_t>(b1)] - range.first;
  } else {
    const auto p0 = block_start(npatches, nranks, rank), p1 = block_start(npatches, nranks, rank + 1);
    range.first = static_cast<int>(p0);
    range.count = static_cast<int>(p1 - p0);
  }
  return range;
}

std::vector<int> frames_of_group(int nframes, int ngroups, int group) {
  std::vector<int> mine;
  for (int k = group; k < nframes; k += ngroups) mine.push_back(k);
  return mine;
}

}  // namespace dispatch
}  // namespace libextract
