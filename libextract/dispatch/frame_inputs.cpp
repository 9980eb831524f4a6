// Reading of a frame's inputs by a group's root, and the read-ahead (frame_inputs.hpp).
#include "frame_inputs.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <new>
#include <system_error>

#include "libextract/errors.hpp"

namespace libextract {
namespace dispatch {

namespace {

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::io_error, path + ": cannot open the PSF file (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) throw Error(ErrorCode::io_error, path + ": cannot read the PSF file");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw Error(ErrorCode::io_error, path + ": cannot read the PSF file");
  }
  return bytes;
}

}  // namespace

FrameInputs read_frame_inputs(const FrameJob& job, std::uint32_t mask_bits) {
  const auto t0 = std::chrono::steady_clock::now();
  FrameInputs in;
  try {
    in.files_read.push_back(job.psf);
    in.psf_bytes = read_bytes(job.psf);
    in.psf = Psf::load_from_memory(job.psf, in.psf_bytes.data(), in.psf_bytes.size());
    in.files_read.push_back(job.input);
    in.image = read_preproc(job.input, mask_bits);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const Error& e) {
    in.error = e.what();
    in.error_code = static_cast<int>(e.code());
  } catch (const std::exception& e) {
    in.error = job.input + ": " + e.what();
    in.error_code = static_cast<int>(ErrorCode::io_error);
  }
  if (!in.error.empty()) {  // keep no half-read inputs around
    in.psf.reset();
    in.psf_bytes.clear();
    in.image = Image{};
  }
  in.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return in;
}

InputPrefetch::~InputPrefetch() {
  // A pending read must not outlive its owner; its result (or exception) is dropped.
  if (future_.valid()) future_.wait();
}

void InputPrefetch::start(const FrameJob& job) {
  if (future_.valid() && number_ == job.number) return;
  wait();
  future_ = {};
  try {
    future_ =
        std::async(std::launch::async, [job, bits = mask_bits_] { return read_frame_inputs(job, bits); });
    number_ = job.number;
  } catch (const std::system_error&) {
    number_ = -1;  // no thread to spare: take() reads the frame when it comes
  }
}

FrameInputs InputPrefetch::take(const FrameJob& job) {
  if (future_.valid() && number_ == job.number) {
    number_ = -1;
    return future_.get();  // rethrows std::bad_alloc from the thread
  }
  wait();
  future_ = {};
  return read_frame_inputs(job, mask_bits_);
}

void InputPrefetch::wait() {
  if (future_.valid()) future_.wait();
}

}  // namespace dispatch
}  // namespace libextract
