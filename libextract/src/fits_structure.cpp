#include "fits_structure.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include "libextract/errors.hpp"

namespace libextract {
namespace detail {

namespace {

constexpr std::uint64_t block_bytes = 2880;
constexpr int card_bytes = 80;
// CFITSIO 4.2.0 crashes in fits_open_file on a header with NAXIS above about 100.
constexpr long long max_naxis = 99;
// A header longer than this many blocks (28.8 MB of cards) is not a DESI file.
constexpr std::uint64_t max_header_blocks = 10000;
constexpr std::uint64_t default_gzip_cap = 2ULL << 30;  // 2 GiB

// Reads a plain file or a gzip stream (zlib passes a plain file through unchanged).
class ByteStream {
 public:
  explicit ByteStream(const std::string& path) : path_(path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
      throw Error(ErrorCode::io_error, path + ": cannot open (" + std::strerror(errno) + ")");
    if (!S_ISREG(info.st_mode)) throw Error(ErrorCode::io_error, path + ": not a regular file");
    size_ = static_cast<std::uint64_t>(info.st_size);
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw Error(ErrorCode::io_error, path + ": cannot open (" + std::strerror(errno) + ")");
    gzbuffer(file_, 1 << 17);
  }
  ~ByteStream() { gzclose(file_); }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  bool compressed() { return gzdirect(file_) == 0; }
  std::uint64_t position() const { return position_; }

  // Reads up to `n` bytes; returns how many were read (fewer only at the end).
  std::size_t read(char* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const int got = gzread(file_, out + done, static_cast<unsigned>(n - done));
      if (got < 0) fail_read();
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    position_ += done;
    return done;
  }
  // Skips `n` bytes; returns how many were skipped. A plain file seeks; a gzip
  // stream is decompressed, which is how its real length is learnt.
  std::uint64_t skip(std::uint64_t n) {
    if (!compressed()) {  // a plain file: its real size bounds the skip, nothing is read
      const std::uint64_t step = std::min(n, size_ - std::min(size_, position_));
      if (gzseek(file_, static_cast<z_off_t>(position_ + step), SEEK_SET) < 0) fail_read();
      position_ += step;
      return step;
    }
    std::array<char, 1 << 16> scratch{};
    std::uint64_t left = n;
    while (left > 0) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.size()));
      const std::size_t got = read(scratch.data(), want);
      left -= got;
      if (got < want) break;
    }
    return n - left;
  }

 private:
  [[noreturn]] void fail_read() {
    int code = 0;
    const char* text = gzerror(file_, &code);
    throw Error(code == Z_ERRNO ? ErrorCode::io_error : ErrorCode::format_error,
                path_ + ": cannot read (" + std::string(text ? text : "read error") + ")");
  }
  std::string path_;
  gzFile file_ = nullptr;
  std::uint64_t size_ = 0;  // of the file on disk
  std::uint64_t position_ = 0;
};

struct Header {
  std::map<std::string, std::string> values;  // keyword -> raw value field
  bool ended = false;
};

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

void parse_block(const char* block, Header& header) {
  for (int c = 0; c < 36 && !header.ended; ++c) {
    const char* card = block + c * card_bytes;
    const std::string key = trimmed(std::string(card, 8));
    if (key == "END") {
      header.ended = true;
      return;
    }
    if (card[8] != '=' || card[9] != ' ' || key.empty() || header.values.count(key)) continue;
    std::string value(card + 10, card_bytes - 10);
    const auto slash = value.find('/');
    if (value.find('\'') == std::string::npos && slash != std::string::npos) value.resize(slash);
    header.values[key] = trimmed(value);
  }
}

class HduChecker {
 public:
  HduChecker(std::string path, int hdu, const Header& header)
      : path_(std::move(path)), hdu_(hdu), h_(header) {}

  // Bytes of data (unpadded) the header claims.
  std::uint64_t data_bytes() const {
    const long long bitpix = integer("BITPIX", true);
    if (bitpix != 8 && bitpix != 16 && bitpix != 32 && bitpix != 64 && bitpix != -32 && bitpix != -64)
      fail("BITPIX = " + std::to_string(bitpix) + " is not one of 8, 16, 32, 64, -32, -64");
    const long long naxis = integer("NAXIS", true);
    if (naxis < 0 || naxis > max_naxis)
      fail("NAXIS = " + std::to_string(naxis) + " is outside 0.." + std::to_string(max_naxis));
    const long long pcount = h_.values.count("PCOUNT") ? integer("PCOUNT", true) : 0;
    const long long gcount = h_.values.count("GCOUNT") ? integer("GCOUNT", true) : 1;
    if (pcount < 0) fail("PCOUNT = " + std::to_string(pcount) + " is negative");
    if (gcount < 0) fail("GCOUNT = " + std::to_string(gcount) + " is negative");
    if (naxis == 0) return 0;
    const bool groups = h_.values.count("GROUPS") && h_.values.at("GROUPS") == "T";
    const std::uint64_t limit = std::numeric_limits<std::int64_t>::max();
    std::uint64_t elements = 1;
    for (long long i = 1; i <= naxis; ++i) {
      const std::string key = "NAXIS" + std::to_string(i);
      const long long n = integer(key, true);
      if (n < 0) fail(key + " = " + std::to_string(n) + " is negative");
      if (i == 1 && groups && n == 0) continue;  // random groups: NAXIS1 = 0 is no axis
      if (n != 0 && elements > limit / static_cast<std::uint64_t>(n)) fail(key + ": the data size overflows");
      elements *= static_cast<std::uint64_t>(n);
    }
    const std::uint64_t per_group = elements + static_cast<std::uint64_t>(pcount);
    const std::uint64_t width = static_cast<std::uint64_t>(bitpix < 0 ? -bitpix : bitpix) / 8;
    if (gcount != 0 && per_group > limit / width / static_cast<std::uint64_t>(gcount))
      fail("the data size overflows");
    return per_group * width * static_cast<std::uint64_t>(gcount);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::format_error, path_ + ", HDU " + std::to_string(hdu_) + ": " + what);
  }

 private:
  long long integer(const std::string& key, bool required) const {
    const auto it = h_.values.find(key);
    if (it == h_.values.end()) {
      if (required) fail("keyword " + key + " is missing");
      return 0;
    }
    const std::string& text = it->second;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0)
      fail("keyword " + key + " = '" + text + "' is not an integer");
    return v;
  }
  std::string path_;
  int hdu_;
  const Header& h_;
};

}  // namespace

std::uint64_t gzip_size_cap() {
  const char* text = std::getenv("LIBEXTRACT_MAX_GZIP_BYTES");
  if (!text || !*text) return default_gzip_cap;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (*end != '\0' || errno != 0 || v == 0 || text[0] == '-') {
    throw Error(ErrorCode::invalid_argument,
                std::string("LIBEXTRACT_MAX_GZIP_BYTES: '") + text + "' is not a positive number of bytes");
  }
  return v;
}

void check_fits_structure(const std::string& path) {
  ByteStream stream(path);
  const bool gz = stream.compressed();
  const std::uint64_t cap = gz ? gzip_size_cap() : std::numeric_limits<std::uint64_t>::max();
  std::array<char, block_bytes> block{};
  for (int hdu = 0;; ++hdu) {
    Header header;
    std::uint64_t blocks = 0;
    while (!header.ended) {
      const std::size_t got = stream.read(block.data(), block.size());
      if (got == 0 && blocks == 0) {
        if (hdu == 0) throw Error(ErrorCode::format_error, path + ": empty file, not FITS");
        return;  // the end of the file after the last HDU
      }
      if (got < block.size()) {
        if (blocks == 0 && hdu > 0) return;  // trailing bytes shorter than a block: CFITSIO ignores them
        throw Error(ErrorCode::format_error,
                    path + ", HDU " + std::to_string(hdu) + ": the file ends inside the header");
      }
      if (blocks == 0) {
        const std::string first = trimmed(std::string(block.data(), 8));
        if (hdu == 0 && first != "SIMPLE")
          throw Error(ErrorCode::format_error, path + ": not a FITS file (no SIMPLE card)");
        if (hdu > 0 && first != "XTENSION") return;  // not another HDU: CFITSIO stops here too
      }
      if (++blocks > max_header_blocks) {
        throw Error(ErrorCode::format_error, path + ", HDU " + std::to_string(hdu) +
                                                 ": no END card in the first " +
                                                 std::to_string(max_header_blocks) + " header blocks");
      }
      parse_block(block.data(), header);
    }
    const HduChecker checker(path, hdu, header);
    const std::uint64_t bytes = checker.data_bytes();
    const std::uint64_t padded = (bytes + block_bytes - 1) / block_bytes * block_bytes;
    if (gz && padded > cap - std::min(cap, stream.position())) {
      checker.fail("the data (" + std::to_string(bytes) + " bytes) would take the decompressed file past " +
                   std::to_string(cap) + " bytes (LIBEXTRACT_MAX_GZIP_BYTES)");
    }
    const std::uint64_t skipped = stream.skip(padded);
    if (skipped < bytes) {
      checker.fail("the header claims " + std::to_string(bytes) + " bytes of data but the file holds " +
                   std::to_string(skipped) + " after the header (truncated or a wrong NAXISn)");
    }
  }
}

}  // namespace detail
}  // namespace libextract
