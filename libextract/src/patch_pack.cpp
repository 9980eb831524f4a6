// Packing of solved blocks into bytes and back, for blocks solved in one process and
// stitched in another (libextract/dispatch). Doubles travel as their bytes, so the
// stitched frame is bitwise the one a single process makes. Native byte order: the
// processes of one job share an architecture. Unpacking checks every length against
// the bytes at hand and throws instead of reading past them.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "libextract/errors.hpp"
#include "solved_block.hpp"

namespace libextract {
namespace detail {

namespace {

constexpr std::uint32_t block_magic = 0x4c585042u;  // "LXPB"
constexpr std::uint32_t block_version = 1;
static_assert(std::is_trivially_copyable<StageClock>::value, "StageClock is packed as its bytes");

class Writer {
 public:
  explicit Writer(std::vector<unsigned char>& out) : out_(out) {}
  template <class T>
  void value(const T& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void doubles(const std::vector<double>& v) {
    value(static_cast<std::uint64_t>(v.size()));
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    out_.insert(out_.end(), p, p + v.size() * sizeof(double));
  }
  void text(const std::string& s) {
    value(static_cast<std::uint64_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }

 private:
  std::vector<unsigned char>& out_;
};

class Reader {
 public:
  Reader(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
  template <class T>
  T value() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  std::vector<double> doubles() {
    const std::uint64_t n = value<std::uint64_t>();
    if (n > (size_ - at_) / sizeof(double)) truncated();
    std::vector<double> v(static_cast<std::size_t>(n));
    if (n > 0)
      std::memcpy(v.data(), take(static_cast<std::size_t>(n) * sizeof(double)), v.size() * sizeof(double));
    return v;
  }
  std::string text() {
    const std::uint64_t n = value<std::uint64_t>();
    if (n > size_ - at_) truncated();
    const auto* p = reinterpret_cast<const char*>(take(static_cast<std::size_t>(n)));
    return std::string(p, p + n);
  }
  std::size_t position() const { return at_; }

 private:
  const unsigned char* take(std::size_t n) {
    if (n > size_ - at_) truncated();
    const unsigned char* p = data_ + at_;
    at_ += n;
    return p;
  }
  [[noreturn]] void truncated() const {
    throw Error(ErrorCode::format_error, "solved patches: the packed block is truncated or corrupt");
  }
  const unsigned char* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

void pack_block(const SolvedBlock& block, std::vector<unsigned char>& out) {
  Writer w(out);
  w.value(block_magic);
  w.value(block_version);
  w.value(static_cast<std::int64_t>(block.first));
  w.value(static_cast<std::int64_t>(block.results.size()));
  w.value(block.clock);  // trivially copyable: new counters travel without a format change
  for (const PatchResult& r : block.results) {
    w.value(static_cast<std::int32_t>(r.status));
    w.value(static_cast<std::uint8_t>(r.model_valid ? 1 : 0));
    w.value(r.rcond);
    w.text(r.error);
    w.doubles(r.flux);
    w.doubles(r.ivar);
    w.doubles(r.chi2pix);
    w.doubles(r.pmf);
    w.doubles(r.resolution);
    w.doubles(r.model);
  }
}

SolvedBlock unpack_block(const unsigned char* data, std::size_t size, std::size_t& used) {
  Reader r(data, size);
  if (r.value<std::uint32_t>() != block_magic || r.value<std::uint32_t>() != block_version) {
    throw Error(ErrorCode::format_error, "solved patches: not a packed block of this libextract version");
  }
  SolvedBlock block;
  const auto first = r.value<std::int64_t>();
  const auto count = r.value<std::int64_t>();
  if (first < 0 || count < 0 || first > (1LL << 30) || count > (1LL << 30)) {
    throw Error(ErrorCode::format_error, "solved patches: the packed block is truncated or corrupt");
  }
  block.first = static_cast<int>(first);
  block.clock = r.value<StageClock>();
  // Every result takes more than 64 bytes, which bounds a corrupt count.
  block.results.reserve(std::min<std::size_t>(static_cast<std::size_t>(count), size / 64));
  for (std::int64_t i = 0; i < count; ++i) {
    PatchResult p;
    p.status = r.value<std::int32_t>();
    p.model_valid = r.value<std::uint8_t>() != 0;
    p.rcond = r.value<double>();
    p.error = r.text();
    p.flux = r.doubles();
    p.ivar = r.doubles();
    p.chi2pix = r.doubles();
    p.pmf = r.doubles();
    p.resolution = r.doubles();
    p.model = r.doubles();
    block.results.push_back(std::move(p));
  }
  used = r.position();
  return block;
}

}  // namespace detail
}  // namespace libextract
