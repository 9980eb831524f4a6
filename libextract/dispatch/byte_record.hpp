// Small records (flags, numbers, strings) flattened into bytes for one MPI message
// and read back on the other side. Native byte order: the ranks of a job share an
// architecture. Reading past the end throws, so a malformed record cannot crash a rank.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace libextract {
namespace dispatch {

class RecordWriter {
 public:
  template <class T>
  RecordWriter& put(const T& value) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    const auto* p = reinterpret_cast<const unsigned char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  RecordWriter& put_string(const std::string& text) {
    put(static_cast<std::uint64_t>(text.size()));
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  std::vector<unsigned char>& bytes() { return bytes_; }

 private:
  std::vector<unsigned char> bytes_;
};

class RecordReader {
 public:
  explicit RecordReader(const std::vector<unsigned char>& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    if (n > bytes_.size() - at_) throw std::runtime_error("record: truncated string");
    const auto* p = reinterpret_cast<const char*>(take(static_cast<std::size_t>(n)));
    return std::string(p, p + n);
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  const unsigned char* take(std::size_t n) {
    if (n > bytes_.size() - at_) throw std::runtime_error("record: truncated");
    const unsigned char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  const std::vector<unsigned char>& bytes_;
  std::size_t at_ = 0;
};

}  // namespace dispatch
}  // namespace libextract
