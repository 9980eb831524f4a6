// A thin RAII wrapper over CFITSIO. Every failure becomes a libextract::Error whose
// message names the file, the HDU and the keyword or column involved, so callers
// never see a bare CFITSIO status number.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "atomic_output.hpp"

namespace libextract {
namespace detail {

class FitsFile {
 public:
  // Opens for reading (plain or gzip-compressed FITS), after check_fits_structure.
  // The name is literal: "x[1].fits" is a file of that name, not HDU 1 of "x".
  static FitsFile open_read(const std::string& path);
  // Creates (or replaces) a plain FITS file of exactly this name for writing.
  static FitsFile create(const std::string& path);

  FitsFile(FitsFile&& other) noexcept;
  FitsFile& operator=(FitsFile&& other) noexcept;
  FitsFile(const FitsFile&) = delete;
  FitsFile& operator=(const FitsFile&) = delete;
  ~FitsFile();

  const std::string& path() const { return path_; }
  // "HDU 2 (PSF)": how messages name the current HDU.
  std::string hdu_label() const;

  int hdu_count();
  void move_to(int hdu_index);                   // 0-based absolute HDU
  void move_to(const std::string& extname);      // throws format_error if absent
  bool try_move_to(const std::string& extname);  // false if absent
  bool current_is_image();

  // Header keywords of the current HDU.
  std::optional<double> read_key_double(const std::string& key);
  std::optional<long long> read_key_int(const std::string& key);
  std::optional<std::string> read_key_string(const std::string& key);
  double require_key_double(const std::string& key);
  long long require_key_int(const std::string& key);
  std::string require_key_string(const std::string& key);

  // Image of the current HDU as float64, C order (slowest axis first).
  std::vector<long> image_shape();  // C order, e.g. {NAXIS2, NAXIS1}
  std::vector<double> read_image_double();
  std::vector<float> read_image_float();
  std::vector<int> read_image_int();
  std::vector<unsigned> read_image_uint32();
  // BITPIX as the data are seen after BZERO/BSCALE (ULONG_IMG for a uint32 MASK).
  int image_equivalent_type();

  // Binary table of the current HDU.
  long long row_count();
  bool has_column(const std::string& name);
  int column_number(const std::string& name);  // throws format_error if absent
  long long column_repeat(const std::string& name);
  std::vector<double> read_column_double(const std::string& name);  // rows × repeat
  std::vector<long long> read_column_int(const std::string& name);
  std::vector<std::string> read_column_string(const std::string& name);

  // Writing: images (C-order shape) and tables.
  void write_image_double(const std::vector<long>& shape, const double* data);
  void write_image_float(const std::vector<long>& shape, const float* data);
  void write_image_uint32(const std::vector<long>& shape, const unsigned* data);
  void write_image_int32(const std::vector<long>& shape, const int* data);
  struct ColumnSpec {
    std::string name;
    std::string form;  // CFITSIO TFORM, e.g. "J", "D", "187D", "16A"
    std::string unit;
  };
  void create_table(const std::string& extname, long long rows, const std::vector<ColumnSpec>& columns);
  void write_column_double(int column, long long rows_times_repeat, const double* data);
  void write_column_int(int column, long long rows_times_repeat, const int* data);
  void write_column_int64(int column, long long rows_times_repeat, const long long* data);
  void write_column_string(int column, const std::vector<std::string>& values);
  void write_tdim(int column, const std::vector<long>& dims_fits_order);
  void write_key(const std::string& key, const std::string& value, const std::string& comment = "");
  void write_key(const std::string& key, double value, const std::string& comment = "");
  void write_key(const std::string& key, long long value, const std::string& comment = "");
  void write_key_int(const std::string& key, long long value, const std::string& comment = "") {
    write_key(key, value, comment);
  }
  void write_comment(const std::string& text);
  // A string of any length (CFITSIO's long-string convention: CONTINUE cards), for paths.
  void write_key_long_string(const std::string& key, const std::string& value,
                             const std::string& comment = "");
  std::optional<std::string> read_key_long_string(const std::string& key);
  void write_checksum();
  // True when CHECKSUM and DATASUM of the current HDU are present and verify.
  bool checksums_verify();

  // Header cards that describe provenance rather than structure: every card except
  // structural, scaling, unit, HDU-name, checksum and WCS keywords and the FITS
  // boilerplate comments, in file order (80-character records, CONTINUE kept).
  std::vector<std::string> read_provenance_cards();
  // Appends 80-character cards verbatim to the current header.
  void write_cards(const std::vector<std::string>& cards);
  // One formatted card (strings quoted, doubles with the fewest digits that round-trip),
  // for building header_cards without a file.
  static std::string make_card(const std::string& key, const std::string& value,
                               const std::string& comment = "");
  static std::string make_card(const std::string& key, double value, const std::string& comment = "");
  static std::string make_card(const std::string& key, long long value, const std::string& comment = "");

  // Appends a copy of the current HDU of `source` (header and data) to this file and
  // makes it current here.
  void copy_hdu_from(FitsFile& source);
  // Deletes `count` table rows starting at 0-based row `first`.
  void delete_rows(long long first, long long count);
  void close();  // flushes; errors are reported (the destructor swallows them)

 private:
  FitsFile(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  [[noreturn]] void fail(int status, const std::string& what) const;
  void* handle_ = nullptr;  // CFITSIO's fitsfile*, kept opaque so no header needs fitsio.h
  std::string path_;
};

}  // namespace detail
}  // namespace libextract
