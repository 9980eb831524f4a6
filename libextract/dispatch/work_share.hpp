// Who does what, decided by every rank alike from the same numbers (no messages):
// a frame's patches split over the ranks of a group, and frames dealt to groups.
// Pure arithmetic without MPI, so it is unit-tested directly.
#pragma once

#include <vector>

namespace libextract {
namespace dispatch {

struct PatchRange {
  int first = 0;  // plan index of the first patch
  int count = 0;
};

// The patches `rank` of `nranks` solves. bundle_first holds the B + 1 bundle offsets
// into the plan (bundle b is patches [bundle_first[b], bundle_first[b+1])). With
// B >= nranks each rank takes floor(B/N) or ceil(B/N) consecutive whole bundles; with
// more ranks than bundles, floor(P/N) or ceil(P/N) consecutive patches. Either way no
// rank holds more than one bundle above an even share, any N works, and the ranges
// follow the rank order, so stitching rank by rank is stitching in plan order.
PatchRange patch_share(const std::vector<int>& bundle_first, int nranks, int rank);

// Frames dealt to groups: the k-th frame left to do goes to group k mod ngroups.
// Returns the positions (into that list) of `group`'s frames, in order.
std::vector<int> frames_of_group(int nframes, int ngroups, int group);

}  // namespace dispatch
}  // namespace libextract
