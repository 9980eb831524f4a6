#include "json_writer.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace libextract {
namespace json {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not valid).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

void append_escape(std::string& out, unsigned code) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", code);
  out += buffer;
}

}  // namespace

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) {
        append_escape(out, 0xdc00u + c);  // surrogateescape
        ++i;
      } else {
        out.append(text, i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          append_escape(out, c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

std::string number(long long value) {
  return std::to_string(value);
}

void Writer::separate() {
  Level& level = levels_.back();
  if (level.one_line) {
    if (level.count) out_ += ", ";
  } else {
    out_ += level.count ? ",\n" : "\n";
    out_.append(2 * levels_.size(), ' ');
  }
  ++level.count;
}

void Writer::begin_value() {
  if (done_) throw std::logic_error("json::Writer: a value after the document's end");
  if (levels_.empty()) return;  // the top-level value
  if (levels_.back().kind == '{') {
    if (!after_key_) throw std::logic_error("json::Writer: an object member without key()");
    after_key_ = false;
    return;
  }
  separate();
}

Writer& Writer::key(const std::string& name) {
  if (levels_.empty() || levels_.back().kind != '{' || after_key_) {
    throw std::logic_error("json::Writer: key(\"" + name + "\") outside an object");
  }
  separate();
  out_ += quote(name);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

void Writer::open(char kind, bool one_line) {
  begin_value();
  out_ += kind;
  const bool inherited = !levels_.empty() && levels_.back().one_line;
  levels_.push_back({kind, 0, one_line || inherited});
}

Writer& Writer::begin_object(bool one_line) {
  open('{', one_line);
  return *this;
}

Writer& Writer::begin_array(bool one_line) {
  open('[', one_line);
  return *this;
}

void Writer::close(char kind) {
  if (levels_.empty() || levels_.back().kind != kind || after_key_) {
    throw std::logic_error("json::Writer: unbalanced end_object/end_array");
  }
  const Level level = levels_.back();
  levels_.pop_back();
  if (level.count && !level.one_line) {
    out_ += '\n';
    out_.append(2 * levels_.size(), ' ');
  }
  out_ += kind == '{' ? '}' : ']';
  if (levels_.empty()) done_ = true;
}

Writer& Writer::end_object() {
  close('{');
  return *this;
}

Writer& Writer::end_array() {
  close('[');
  return *this;
}

Writer& Writer::value(const std::string& text) {
  begin_value();
  out_ += quote(text);
  return *this;
}

Writer& Writer::value(double v) {
  begin_value();
  out_ += number(v);
  return *this;
}

Writer& Writer::value(long long v) {
  begin_value();
  out_ += number(v);
  return *this;
}

Writer& Writer::value(bool flag) {
  begin_value();
  out_ += flag ? "true" : "false";
  return *this;
}

Writer& Writer::raw(const std::string& json_value) {
  begin_value();
  std::string v = json_value;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  out_ += v;
  return *this;
}

std::string Writer::text() const {
  if (!done_) throw std::logic_error("json::Writer: the document is not complete");
  return out_ + "\n";
}

}  // namespace json
}  // namespace libextract
