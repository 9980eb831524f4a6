// The one JSON writer of libextract's executable (the --timing reports of `extract`, serial and
// --mpi): full string escaping, doubles that round-trip (%.17g), and the comma and
// indentation bookkeeping, so no caller formats JSON by hand.
#pragma once

#include <string>
#include <vector>

namespace libextract {
namespace json {

// A JSON string literal for `text` (UTF-8): quotes, backslashes and control characters
// escaped (\n, \t, ... or \u00XX); valid UTF-8 passes through; a byte that is not
// valid UTF-8 (a Latin-1 file name) becomes \udcXX, Python's surrogateescape, so
// json.loads + os.fsencode give the original bytes back.
std::string quote(const std::string& text);

// A JSON number: integers exactly, doubles with 17 significant digits (they read back
// bit for bit); NaN and infinities, which JSON cannot hold, as null.
std::string number(double value);
std::string number(long long value);

// Builds one JSON document, two-space indented. Usage:
//   json::Writer j; j.begin_object().member("threads", 8).end_object(); j.text()
// A value in an object must follow key(); misuse throws std::logic_error.
class Writer {
 public:
  // one_line: this object or array and everything in it on one line ({"a": 1, "b": 2}),
  // for list entries that read best as a row.
  Writer& begin_object(bool one_line = false);
  Writer& end_object();
  Writer& begin_array(bool one_line = false);
  Writer& end_array();
  Writer& key(const std::string& name);
  Writer& value(const std::string& text);
  Writer& value(const char* text) { return value(std::string(text)); }
  Writer& value(double v);
  Writer& value(long long v);
  Writer& value(int v) { return value(static_cast<long long>(v)); }
  Writer& value(bool flag);
  // A value that is already a JSON document made by a Writer (e.g. gathered from another
  // MPI rank), inserted as it is.
  Writer& raw(const std::string& json_value);
  // A member: key(name).value(v).
  template <class T>
  Writer& member(const std::string& name, const T& v) {
    return key(name).value(v);
  }
  // The document, ending in a newline; throws std::logic_error if it is not complete.
  std::string text() const;

 private:
  void begin_value();
  void separate();  // the comma and line break (or space) before a member or element
  void open(char kind, bool one_line);
  void close(char kind);
  struct Level {
    char kind;      // '{' or '['
    int count;      // members or elements so far
    bool one_line;  // set here or inherited
  };
  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
  bool done_ = false;
};

}  // namespace json
}  // namespace libextract
