#include "fits_file.hpp"

#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "fits_structure.hpp"
#include "libextract/errors.hpp"

namespace libextract {
namespace detail {

namespace {

fitsfile* fits(void* handle) {
  return static_cast<fitsfile*>(handle);
}

std::string cfitsio_message(int status) {
  char text[FLEN_STATUS] = {0};
  fits_get_errstatus(status, text);
  return std::string(text);
}

ErrorCode code_for(int status) {
  switch (status) {
    case FILE_NOT_OPENED:
    case FILE_NOT_CREATED:
    case WRITE_ERROR:
    case READ_ERROR:
    case END_OF_FILE:
      return ErrorCode::io_error;
    default:
      return ErrorCode::format_error;
  }
}

}  // namespace

FitsFile FitsFile::open_read(const std::string& path) {
  if (path.empty()) throw Error(ErrorCode::invalid_argument, "empty file name");
  check_fits_structure(path);  // before CFITSIO trusts a header
  fitsfile* handle = nullptr;
  int status = 0;
  // The disk-file open takes the name literally (no extended file-name syntax) and
  // still reads a gzip-compressed file.
  if (fits_open_diskfile(&handle, path.c_str(), READONLY, &status)) {
    fits_clear_errmsg();
    const ErrorCode code = (status == FILE_NOT_OPENED) ? ErrorCode::io_error : ErrorCode::format_error;
    throw Error(code, path + ": cannot open as FITS (" + cfitsio_message(status) + ")");
  }
  return FitsFile(handle, path);
}

FitsFile FitsFile::create(const std::string& path) {
  fitsfile* handle = nullptr;
  int status = 0;
  // Literal name (no extended syntax, no "!" clobber prefix): an old file is removed first.
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) {
    throw Error(ErrorCode::io_error, path + ": cannot replace (" + std::strerror(errno) + ")");
  }
  if (fits_create_diskfile(&handle, path.c_str(), &status)) {
    fits_clear_errmsg();
    throw Error(ErrorCode::io_error, path + ": cannot create FITS file (" + cfitsio_message(status) + ")");
  }
  return FitsFile(handle, path);
}

FitsFile::FitsFile(FitsFile&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), path_(std::move(other.path_)) {}

FitsFile& FitsFile::operator=(FitsFile&& other) noexcept {
  if (this != &other) {
    if (handle_) {
      int status = 0;
      fits_close_file(fits(handle_), &status);
    }
    handle_ = std::exchange(other.handle_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

FitsFile::~FitsFile() {
  if (handle_) {
    int status = 0;
    fits_close_file(fits(handle_), &status);
    fits_clear_errmsg();
  }
}

void FitsFile::close() {
  if (!handle_) return;
  int status = 0;
  fits_close_file(fits(handle_), &status);
  handle_ = nullptr;
  if (status) fail(status, "closing the file");
}

std::string FitsFile::hdu_label() const {
  int hdu = 0;
  fits_get_hdu_num(fits(handle_), &hdu);
  std::string label = "HDU " + std::to_string(hdu - 1);
  char extname[FLEN_VALUE] = {0};
  int status = 0;
  if (fits_read_key(fits(handle_), TSTRING, "EXTNAME", extname, nullptr, &status) == 0) {
    label += " (" + std::string(extname) + ")";
  }
  fits_clear_errmsg();
  return label;
}

void FitsFile::fail(int status, const std::string& what) const {
  fits_clear_errmsg();
  std::string where = path_;
  if (handle_) where += ", " + hdu_label();
  throw Error(code_for(status), where + ": " + what + " (" + cfitsio_message(status) + ")");
}

int FitsFile::hdu_count() {
  int count = 0;
  int status = 0;
  if (fits_get_num_hdus(fits(handle_), &count, &status)) fail(status, "counting HDUs");
  return count;
}

void FitsFile::move_to(int hdu_index) {
  int status = 0;
  int type = 0;
  if (fits_movabs_hdu(fits(handle_), hdu_index + 1, &type, &status)) {
    fits_clear_errmsg();
    throw Error(ErrorCode::format_error, path_ + ": HDU " + std::to_string(hdu_index) + " is missing");
  }
}

void FitsFile::move_to(const std::string& extname) {
  if (!try_move_to(extname)) {
    throw Error(ErrorCode::format_error, path_ + ": HDU " + extname + " is missing");
  }
}

bool FitsFile::try_move_to(const std::string& extname) {
  int status = 0;
  std::string name = extname;
  if (fits_movnam_hdu(fits(handle_), ANY_HDU, name.data(), 0, &status)) {
    fits_clear_errmsg();
    return false;
  }
  return true;
}

bool FitsFile::current_is_image() {
  int type = 0;
  int status = 0;
  if (fits_get_hdu_type(fits(handle_), &type, &status)) fail(status, "reading the HDU type");
  return type == IMAGE_HDU;
}

std::optional<double> FitsFile::read_key_double(const std::string& key) {
  double value = 0;
  int status = 0;
  if (fits_read_key(fits(handle_), TDOUBLE, key.c_str(), &value, nullptr, &status)) {
    if (status == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    fail(status, "keyword " + key + " is not a number");
  }
  return value;
}

std::optional<long long> FitsFile::read_key_int(const std::string& key) {
  const auto value = read_key_double(key);
  if (!value) return std::nullopt;
  const auto as_int = static_cast<long long>(*value);
  if (static_cast<double>(as_int) != *value) {
    throw Error(ErrorCode::format_error,
                path_ + ", " + hdu_label() + ": keyword " + key + " is not an integer");
  }
  return as_int;
}

std::optional<std::string> FitsFile::read_key_string(const std::string& key) {
  char value[FLEN_VALUE] = {0};
  int status = 0;
  if (fits_read_key(fits(handle_), TSTRING, key.c_str(), value, nullptr, &status)) {
    if (status == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    fail(status, "reading keyword " + key);
  }
  std::string text(value);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(text.begin());
  return text;
}

namespace {
[[noreturn]] void missing_key(const std::string& path, const std::string& hdu, const std::string& key) {
  throw Error(ErrorCode::format_error, path + ", " + hdu + ": keyword " + key + " is missing");
}
}  // namespace

double FitsFile::require_key_double(const std::string& key) {
  const auto value = read_key_double(key);
  if (!value) missing_key(path_, hdu_label(), key);
  return *value;
}

long long FitsFile::require_key_int(const std::string& key) {
  const auto value = read_key_int(key);
  if (!value) missing_key(path_, hdu_label(), key);
  return *value;
}

std::string FitsFile::require_key_string(const std::string& key) {
  const auto value = read_key_string(key);
  if (!value) missing_key(path_, hdu_label(), key);
  return *value;
}

std::vector<long> FitsFile::image_shape() {
  int status = 0;
  int naxis = 0;
  if (fits_get_img_dim(fits(handle_), &naxis, &status)) fail(status, "reading the image dimensions");
  std::vector<long> fits_order(static_cast<std::size_t>(naxis), 0);
  if (naxis > 0 && fits_get_img_size(fits(handle_), naxis, fits_order.data(), &status)) {
    fail(status, "reading the image size");
  }
  return std::vector<long>(fits_order.rbegin(), fits_order.rend());
}

namespace {
template <class T>
std::vector<T> read_pixels(fitsfile* handle, int datatype, long long count, int* status) {
  std::vector<T> data(static_cast<std::size_t>(count));
  if (count == 0) return data;
  int anynul = 0;
  long long first = 1;
  fits_read_img(handle, datatype, first, count, nullptr, data.data(), &anynul, status);
  return data;
}
long long element_count(const std::vector<long>& shape) {
  long long n = shape.empty() ? 0 : 1;
  for (long d : shape) n *= d;
  return n;
}
}  // namespace

std::vector<double> FitsFile::read_image_double() {
  int status = 0;
  auto data = read_pixels<double>(fits(handle_), TDOUBLE, element_count(image_shape()), &status);
  if (status) fail(status, "reading image data");
  return data;
}

std::vector<float> FitsFile::read_image_float() {
  int status = 0;
  auto data = read_pixels<float>(fits(handle_), TFLOAT, element_count(image_shape()), &status);
  if (status) fail(status, "reading image data");
  return data;
}

std::vector<int> FitsFile::read_image_int() {
  int status = 0;
  auto data = read_pixels<int>(fits(handle_), TINT, element_count(image_shape()), &status);
  if (status) fail(status, "reading image data");
  return data;
}

std::vector<unsigned> FitsFile::read_image_uint32() {
  int status = 0;
  auto data = read_pixels<unsigned>(fits(handle_), TUINT, element_count(image_shape()), &status);
  if (status) fail(status, "reading image data");
  return data;
}

int FitsFile::image_equivalent_type() {
  int type = 0;
  int status = 0;
  if (fits_get_img_equivtype(fits(handle_), &type, &status)) fail(status, "reading the image type");
  return type;
}

long long FitsFile::row_count() {
  long long rows = 0;
  int status = 0;
  if (fits_get_num_rowsll(fits(handle_), &rows, &status)) fail(status, "reading the number of rows");
  return rows;
}

bool FitsFile::has_column(const std::string& name) {
  int column = 0;
  int status = 0;
  std::string templ = name;
  fits_get_colnum(fits(handle_), CASEINSEN, templ.data(), &column, &status);
  fits_clear_errmsg();
  return status == 0;
}

int FitsFile::column_number(const std::string& name) {
  int column = 0;
  int status = 0;
  std::string templ = name;
  if (fits_get_colnum(fits(handle_), CASEINSEN, templ.data(), &column, &status)) {
    fits_clear_errmsg();
    throw Error(ErrorCode::format_error, path_ + ", " + hdu_label() + ": column " + name + " is missing");
  }
  return column;
}

long long FitsFile::column_repeat(const std::string& name) {
  const int column = column_number(name);
  int type = 0;
  long long repeat = 0, width = 0;
  int status = 0;
  if (fits_get_coltypell(fits(handle_), column, &type, &repeat, &width, &status)) {
    fail(status, "reading the type of column " + name);
  }
  return repeat;
}

std::vector<double> FitsFile::read_column_double(const std::string& name) {
  const int column = column_number(name);
  const long long count = row_count() * column_repeat(name);
  std::vector<double> data(static_cast<std::size_t>(count));
  int status = 0;
  int anynul = 0;
  if (count > 0 &&
      fits_read_col(fits(handle_), TDOUBLE, column, 1, 1, count, nullptr, data.data(), &anynul, &status)) {
    fail(status, "reading column " + name);
  }
  return data;
}

std::vector<long long> FitsFile::read_column_int(const std::string& name) {
  const int column = column_number(name);
  const long long count = row_count() * column_repeat(name);
  std::vector<long long> data(static_cast<std::size_t>(count));
  int status = 0;
  int anynul = 0;
  if (count > 0 &&
      fits_read_col(fits(handle_), TLONGLONG, column, 1, 1, count, nullptr, data.data(), &anynul, &status)) {
    fail(status, "reading column " + name);
  }
  return data;
}

std::vector<std::string> FitsFile::read_column_string(const std::string& name) {
  const int column = column_number(name);
  int type = 0;
  long long repeat = 0, width = 0;
  int status = 0;
  if (fits_get_coltypell(fits(handle_), column, &type, &repeat, &width, &status)) {
    fail(status, "reading the type of column " + name);
  }
  if (type != TSTRING) {
    throw Error(ErrorCode::format_error,
                path_ + ", " + hdu_label() + ": column " + name + " is not a string column");
  }
  const long long rows = row_count();
  std::vector<std::string> values;
  std::vector<char> buffer(static_cast<std::size_t>(repeat) + 1);
  for (long long r = 0; r < rows; ++r) {
    char* ptr = buffer.data();
    int anynul = 0;
    if (fits_read_col_str(fits(handle_), column, r + 1, 1, 1, nullptr, &ptr, &anynul, &status)) {
      fail(status, "reading column " + name);
    }
    std::string text(ptr);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    while (!text.empty() && text.front() == ' ') text.erase(text.begin());
    values.push_back(text);
  }
  return values;
}

namespace {
template <class T>
void write_image(fitsfile* handle, int bitpix, int datatype, const std::vector<long>& shape, const T* data,
                 int* status) {
  std::vector<long> fits_order(shape.rbegin(), shape.rend());
  fits_create_img(handle, bitpix, static_cast<int>(fits_order.size()), fits_order.data(), status);
  const long long count = element_count(shape);
  if (*status == 0 && count > 0) {
    fits_write_img(handle, datatype, 1, count, const_cast<T*>(data), status);
  }
}
}  // namespace

void FitsFile::write_image_double(const std::vector<long>& shape, const double* data) {
  int status = 0;
  write_image(fits(handle_), DOUBLE_IMG, TDOUBLE, shape, data, &status);
  if (status) fail(status, "writing a float64 image");
}

void FitsFile::write_image_float(const std::vector<long>& shape, const float* data) {
  int status = 0;
  write_image(fits(handle_), FLOAT_IMG, TFLOAT, shape, data, &status);
  if (status) fail(status, "writing a float32 image");
}

void FitsFile::write_image_uint32(const std::vector<long>& shape, const unsigned* data) {
  int status = 0;
  write_image(fits(handle_), ULONG_IMG, TUINT, shape, data, &status);
  if (status) fail(status, "writing a uint32 image");
}

void FitsFile::write_image_int32(const std::vector<long>& shape, const int* data) {
  int status = 0;
  write_image(fits(handle_), LONG_IMG, TINT, shape, data, &status);
  if (status) fail(status, "writing an int32 image");
}

void FitsFile::create_table(const std::string& extname, long long rows,
                            const std::vector<ColumnSpec>& columns) {
  std::vector<std::string> names, forms, units;
  for (const auto& c : columns) {
    names.push_back(c.name);
    forms.push_back(c.form);
    units.push_back(c.unit);
  }
  std::vector<char*> ttype, tform, tunit;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    ttype.push_back(names[i].data());
    tform.push_back(forms[i].data());
    tunit.push_back(units[i].data());
  }
  int status = 0;
  std::string name = extname;
  if (fits_create_tbl(fits(handle_), BINARY_TBL, rows, static_cast<int>(columns.size()), ttype.data(),
                      tform.data(), tunit.data(), name.data(), &status)) {
    fail(status, "creating table " + extname);
  }
}

void FitsFile::write_column_double(int column, long long count, const double* data) {
  int status = 0;
  if (count > 0 &&
      fits_write_col(fits(handle_), TDOUBLE, column, 1, 1, count, const_cast<double*>(data), &status)) {
    fail(status, "writing table column " + std::to_string(column));
  }
}

void FitsFile::write_column_int(int column, long long count, const int* data) {
  int status = 0;
  if (count > 0 &&
      fits_write_col(fits(handle_), TINT, column, 1, 1, count, const_cast<int*>(data), &status)) {
    fail(status, "writing table column " + std::to_string(column));
  }
}

void FitsFile::write_column_int64(int column, long long count, const long long* data) {
  int status = 0;
  if (count > 0 &&
      fits_write_col(fits(handle_), TLONGLONG, column, 1, 1, count, const_cast<long long*>(data), &status)) {
    fail(status, "writing table column " + std::to_string(column));
  }
}

void FitsFile::write_column_string(int column, const std::vector<std::string>& values) {
  std::vector<std::string> copies = values;
  std::vector<char*> pointers;
  pointers.reserve(copies.size());
  for (auto& v : copies) pointers.push_back(v.data());
  int status = 0;
  if (!pointers.empty() &&
      fits_write_col_str(fits(handle_), column, 1, 1, static_cast<long long>(pointers.size()),
                         pointers.data(), &status)) {
    fail(status, "writing table column " + std::to_string(column));
  }
}

void FitsFile::write_tdim(int column, const std::vector<long>& dims) {
  std::vector<long> copy = dims;
  int status = 0;
  if (fits_write_tdim(fits(handle_), column, static_cast<int>(copy.size()), copy.data(), &status)) {
    fail(status, "writing TDIM of column " + std::to_string(column));
  }
}

void FitsFile::write_key(const std::string& key, const std::string& value, const std::string& comment) {
  int status = 0;
  std::string v = value;
  if (fits_update_key(fits(handle_), TSTRING, key.c_str(), v.data(),
                      comment.empty() ? nullptr : comment.c_str(), &status)) {
    fail(status, "writing keyword " + key);
  }
}

namespace {
// Fewest significant digits (15..17) that read back as the same double, so header
// values such as WAVEMAX = 7620.000000000423 survive a round trip (CFITSIO's TDOUBLE
// default keeps only 15).
int round_trip_digits(double value) {
  for (int digits = 15; digits < 17; ++digits) {
    char text[40];
    std::snprintf(text, sizeof text, "%.*G", digits, value);
    if (std::strtod(text, nullptr) == value) return digits;
  }
  return 17;
}
}  // namespace

void FitsFile::write_key(const std::string& key, double value, const std::string& comment) {
  int status = 0;
  if (fits_update_key_dbl(fits(handle_), key.c_str(), value, -round_trip_digits(value),
                          comment.empty() ? nullptr : comment.c_str(), &status)) {
    fail(status, "writing keyword " + key);
  }
}

void FitsFile::write_key(const std::string& key, long long value, const std::string& comment) {
  int status = 0;
  if (fits_update_key(fits(handle_), TLONGLONG, key.c_str(), &value,
                      comment.empty() ? nullptr : comment.c_str(), &status)) {
    fail(status, "writing keyword " + key);
  }
}

void FitsFile::write_comment(const std::string& text) {
  int status = 0;
  if (fits_write_comment(fits(handle_), text.c_str(), &status)) fail(status, "writing a comment");
}

void FitsFile::write_checksum() {
  int status = 0;
  if (fits_write_chksum(fits(handle_), &status)) fail(status, "writing CHECKSUM/DATASUM");
}

bool FitsFile::checksums_verify() {
  int data_ok = 0, hdu_ok = 0;
  int status = 0;
  if (fits_verify_chksum(fits(handle_), &data_ok, &hdu_ok, &status))
    fail(status, "verifying CHECKSUM/DATASUM");
  return data_ok == 1 && hdu_ok == 1;  // 0 = keyword absent, -1 = mismatch
}

void FitsFile::write_key_long_string(const std::string& key, const std::string& value,
                                     const std::string& comment) {
  int status = 0;
  if (fits_update_key_longstr(fits(handle_), key.c_str(), value.c_str(),
                              comment.empty() ? nullptr : comment.c_str(), &status)) {
    fail(status, "writing keyword " + key);
  }
}

std::optional<std::string> FitsFile::read_key_long_string(const std::string& key) {
  char* value = nullptr;
  int status = 0;
  if (fits_read_key_longstr(fits(handle_), key.c_str(), &value, nullptr, &status)) {
    if (value) fits_free_memory(value, &status);
    if (status == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    fail(status, "reading keyword " + key);
  }
  std::string text(value ? value : "");
  fits_free_memory(value, &status);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

namespace {
// A legal keyword (A-Z, 0-9, '-', '_', then blanks), printable ASCII throughout, and a
// value indicator or a commentary keyword: what CFITSIO and readers take back.
bool card_is_writable(const std::string& card) {
  bool blank_seen = false;
  for (std::size_t i = 0; i < card.size() && i < 8; ++i) {
    const char c = card[i];
    if (c == ' ') {
      blank_seen = true;
    } else if (blank_seen || !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return false;
    }
  }
  for (const char c : card) {
    if (c < 32 || c > 126) return false;
  }
  // A value card ("KEY     = ...") or commentary (COMMENT, HISTORY, CONTINUE, blank).
  const std::string key = card.substr(0, std::min<std::size_t>(8, card.size()));
  const bool value_card = card.size() >= 10 && card[8] == '=' && card[9] == ' ';
  return value_card || key == "COMMENT " || key == "HISTORY " || key == "CONTINUE" || key == "        ";
}
}  // namespace

std::vector<std::string> FitsFile::read_provenance_cards() {
  int count = 0;
  int status = 0;
  if (fits_get_hdrspace(fits(handle_), &count, nullptr, &status)) fail(status, "reading the header");
  std::vector<std::string> cards;
  for (int k = 1; k <= count; ++k) {
    char card[FLEN_CARD] = {0};
    if (fits_read_record(fits(handle_), k, card, &status))
      fail(status, "reading header card " + std::to_string(k));
    const int keyclass = fits_get_keyclass(card);
    if (keyclass < TYP_REFSYS_KEY) continue;  // structure, scaling, units, EXTNAME, checksums, WCS
    const std::string text(card);
    if (!card_is_writable(text)) continue;  // damaged: CFITSIO would refuse to write it back
    // CFITSIO writes these two itself into every primary header.
    if (text.rfind("COMMENT   FITS (Flexible Image Transport System)", 0) == 0 ||
        text.rfind("COMMENT   and Astrophysics', volume 376, page 359", 0) == 0) {
      continue;
    }
    cards.push_back(text);
  }
  return cards;
}

void FitsFile::write_cards(const std::vector<std::string>& cards) {
  for (const std::string& card : cards) {
    int status = 0;
    const std::string record = card.substr(0, 80);
    if (fits_write_record(fits(handle_), record.c_str(), &status)) {
      fail(status, "writing header card '" + record + "'");
    }
  }
}

namespace {
std::string build_card(const std::string& key, const std::string& formatted, const std::string& comment) {
  char card[FLEN_CARD] = {0};
  int status = 0;
  std::string value = formatted;
  if (fits_make_key(key.c_str(), value.data(), comment.empty() ? nullptr : comment.c_str(), card, &status)) {
    fits_clear_errmsg();
    throw Error(ErrorCode::invalid_argument, "cannot format FITS keyword " + key);
  }
  return card;
}
}  // namespace

std::string FitsFile::make_card(const std::string& key, const std::string& value,
                                const std::string& comment) {
  std::string quoted = "'";
  for (char c : value.substr(0, 66)) {
    quoted += c;
    if (c == '\'') quoted += '\'';  // FITS doubles a quote inside a string
  }
  while (quoted.size() < 9) quoted += ' ';  // strings are at least 8 characters wide
  return build_card(key, quoted + "'", comment);
}

std::string FitsFile::make_card(const std::string& key, double value, const std::string& comment) {
  if (!std::isfinite(value))
    throw Error(ErrorCode::invalid_argument, "FITS keyword " + key + " is not finite");
  char text[40];
  std::snprintf(text, sizeof text, "%.*G", round_trip_digits(value), value);
  std::string formatted(text);
  // A FITS real needs a decimal point, or CFITSIO reads it back as an integer.
  if (formatted.find('.') == std::string::npos) {
    const auto e = formatted.find('E');
    formatted.insert(e == std::string::npos ? formatted.size() : e, ".");
  }
  return build_card(key, formatted, comment);
}

std::string FitsFile::make_card(const std::string& key, long long value, const std::string& comment) {
  return build_card(key, std::to_string(value), comment);
}

void FitsFile::copy_hdu_from(FitsFile& source) {
  int status = 0;
  if (fits_copy_hdu(fits(source.handle_), fits(handle_), 0, &status)) {
    fail(status, "copying " + source.hdu_label() + " of " + source.path());
  }
}

void FitsFile::delete_rows(long long first, long long count) {
  int status = 0;
  if (count > 0 && fits_delete_rows(fits(handle_), first + 1, count, &status)) {
    fail(status, "deleting table rows");
  }
}

}  // namespace detail
}  // namespace libextract
