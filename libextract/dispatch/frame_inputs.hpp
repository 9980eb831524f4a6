// What a group's root reads for a frame (the PSF file's bytes, the Psf built from
// them, the preproc image) and its read-ahead of the next frame while the group
// computes. Only roots read; the other ranks get everything by broadcast.
#pragma once

#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "jobs_file.hpp"
#include "libextract/image.hpp"
#include "libextract/psf.hpp"

namespace libextract {
namespace dispatch {

struct FrameInputs {
  std::vector<unsigned char> psf_bytes;  // the PSF file as stored (.gz too)
  std::optional<Psf> psf;                // built from psf_bytes, as the other ranks will
  Image image;
  std::string error;     // empty when everything was read
  int error_code = 0;    // libextract::ErrorCode of the failure
  double seconds = 0.0;  // wall time of the reading
  std::vector<std::string> files_read;
};

// Reads a frame's inputs (ivar zeroed where MASK & mask_bits != 0). Read errors land in
// `error` (naming the file); only std::bad_alloc, which is unrecoverable, is thrown.
FrameInputs read_frame_inputs(const FrameJob& job, std::uint32_t mask_bits);

// A root's read-ahead of its group's next frame, in one background thread. CFITSIO
// may not be thread safe, so the owner calls wait() before it uses CFITSIO itself
// (writing a frame); planning and solving never do.
class InputPrefetch {
 public:
  explicit InputPrefetch(std::uint32_t mask_bits) : mask_bits_(mask_bits) {}
  InputPrefetch(const InputPrefetch&) = delete;
  InputPrefetch& operator=(const InputPrefetch&) = delete;
  ~InputPrefetch();

  void start(const FrameJob& job);
  // The inputs of `job`: the read-ahead's when it was started for this job, else read now.
  FrameInputs take(const FrameJob& job);
  void wait();

 private:
  std::uint32_t mask_bits_;
  int number_ = -1;
  std::future<FrameInputs> future_;
};

}  // namespace dispatch
}  // namespace libextract
