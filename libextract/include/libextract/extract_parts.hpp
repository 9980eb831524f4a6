// Extraction of one frame in parts, so that its patches can be spread over processes
// (the MPI dispatcher, libextract/dispatch): every process makes the same plan, solves
// any contiguous ranges of patches, and one process stitches every range in plan
// order. extract_frame is exactly this composition run in one process, so the frame
// is bitwise the same whatever the split.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "libextract/extract.hpp"
#include "libextract/frame.hpp"
#include "libextract/image.hpp"
#include "libextract/options.hpp"
#include "libextract/psf.hpp"
#include "libextract/spots.hpp"

namespace libextract {

namespace detail {
struct SolvedBlock;
struct PartsState;
}  // namespace detail

// The results of patches [first, first + count) of a plan. Opaque and movable; pack()
// turns them into bytes (bit-exact, native byte order) that unpack() reads back in
// another process of the same architecture.
class SolvedPatches {
 public:
  SolvedPatches();
  SolvedPatches(SolvedPatches&&) noexcept;
  SolvedPatches& operator=(SolvedPatches&&) noexcept;
  ~SolvedPatches();

  int first() const;
  int count() const;

  // Appends this block to `out`.
  void pack(std::vector<unsigned char>& out) const;
  // Reads the block that starts at data[0] (at most `size` bytes) and sets `used` to
  // its length, so blocks packed one after another are read in a loop. Throws
  // Error(format_error) when the bytes are not a packed block.
  static SolvedPatches unpack(const unsigned char* data, std::size_t size, std::size_t& used);

 private:
  friend class ExtractionParts;
  std::unique_ptr<detail::SolvedBlock> block_;
};

class ExtractionParts {
 public:
  // Validates the inputs and makes the plan, with extract_frame's errors. `image` and
  // `psf` must outlive this object. Planning reads only the image's shape; solve()
  // reads its pixels and ivar inside pixel_window(), which may therefore be filled
  // in after construction (a process that receives only those rows).
  ExtractionParts(const Image& image, const Psf& psf, const ExtractOptions& options);
  ExtractionParts(ExtractionParts&&) noexcept;
  ExtractionParts& operator=(ExtractionParts&&) noexcept;
  ~ExtractionParts();

  int patch_count() const;
  int bundle_count() const;
  // Patches of bundle b are [bundle_first_patch(b), bundle_first_patch(b + 1)); b may
  // be bundle_count(), which gives patch_count().
  int bundle_first_patch(int bundle) const;
  // Patches per backend batch: options.batch_patches, or the patches of one bundle.
  int batch_size() const;
  // The bounding box of every patch's pixels: all that solve() reads of the image.
  PixelWindow pixel_window() const;

  // Solves patches [first, first + count) as one backend batch. Throws
  // Error(numerical_error) when a spot cannot be evaluated.
  SolvedPatches solve(int first, int count) const;

  // Solves patches [first, first + count) in batches of batch_size() and hands each
  // block to `consume`, in plan order, as soon as it is ready. On the CUDA backend the
  // device computes the next batch while `consume` runs (two batches in flight); the
  // blocks are bitwise those of solve() on the same ranges. Errors as solve(), and
  // whatever `consume` throws (nothing is left running on the device then).
  void solve_range(int first, int count, const std::function<void(SolvedPatches&&)>& consume) const;

  // Stitches a block into the frame. Blocks must come in plan order: each one starts
  // where the previous ended (the model image is order dependent). Throws
  // Error(invalid_argument) otherwise.
  void stitch(const SolvedPatches& block);
  int stitched_patches() const;

  // After every patch is stitched: units, spectrum mask and the report (stage times
  // summed over every block, wherever it was solved). Call once.
  Frame finish(ExtractReport* report = nullptr);

 private:
  std::unique_ptr<detail::PartsState> state_;
};

}  // namespace libextract
