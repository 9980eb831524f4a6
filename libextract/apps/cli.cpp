#include "cli.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "libextract/errors.hpp"
#include "libextract/io.hpp"
#include "libextract/log.hpp"

namespace libextract {
namespace app {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::add_option(const std::string& name, const std::string& short_name, const std::string& metavar,
                           const std::string& help, const std::string& default_value) {
  options_.push_back(Spec{name, short_name, metavar, help, default_value, false});
  if (!default_value.empty()) values_[name] = default_value;
}

void ArgParser::add_file_option(const std::string& name, const std::string& short_name,
                                const std::string& metavar, const std::string& help) {
  options_.push_back(Spec{name, short_name, metavar, help, "", false, true});
}

std::vector<std::string> ArgParser::option_names() const {
  std::vector<std::string> names;
  for (const auto& s : options_) names.push_back(s.name);
  return names;
}

void ArgParser::add_flag(const std::string& name, const std::string& short_name, const std::string& help) {
  options_.push_back(Spec{name, short_name, "", help, "", true});
}

void ArgParser::add_positional(const std::string& name, const std::string& help) {
  positionals_.emplace_back(name, help);
}

const ArgParser::Spec* ArgParser::find(const std::string& token) const {
  for (const auto& s : options_) {
    if (token == s.name || (!s.short_name.empty() && token == s.short_name)) return &s;
  }
  return nullptr;
}

namespace {
[[noreturn]] void usage_error(const std::string& command, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, command + ": " + what + " (see --help)");
}
}  // namespace

bool ArgParser::parse(const std::vector<std::string>& args) {
  std::size_t next_positional = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string token = args[i];
    if (token == "-h" || token == "--help") {
      std::cout << help();
      return false;
    }
    if (token.size() > 1 && token[0] == '-' &&
        !(token.size() > 1 && (std::isdigit(static_cast<unsigned char>(token[1])) || token[1] == '.'))) {
      std::string value;
      bool inline_value = false;
      const auto eq = token.find('=');
      if (token.rfind("--", 0) == 0 && eq != std::string::npos) {
        value = token.substr(eq + 1);
        token = token.substr(0, eq);
        inline_value = true;
      }
      const Spec* spec = find(token);
      if (!spec) usage_error(command_, "unknown option " + token);
      if (spec->is_flag) {
        if (inline_value) usage_error(command_, "option " + spec->name + " takes no value");
        values_[spec->name] = "1";
        given_.insert(spec->name);
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size())
          usage_error(command_, "option " + spec->name + " needs a value " + spec->metavar);
        value = args[++i];
      }
      values_[spec->name] = value;
      given_.insert(spec->name);
      continue;
    }
    if (next_positional >= positionals_.size()) usage_error(command_, "unexpected argument '" + token + "'");
    values_[positionals_[next_positional++].first] = token;
  }
  if (next_positional < positionals_.size()) {
    usage_error(command_, "missing argument " + positionals_[next_positional].first);
  }
  std::vector<NamedFile> files;
  for (const auto& s : options_) {
    if (!s.is_file || !values_.count(s.name)) continue;
    const std::string option = (s.short_name.empty() ? "" : s.short_name + "/") + s.name;
    if (values_[s.name].empty()) usage_error(command_, option + ": empty file name");
    files.push_back(NamedFile{option, values_[s.name]});
  }
  require_distinct_files(files);
  return true;
}

bool ArgParser::has(const std::string& name) const {
  return values_.count(name) > 0;
}
bool ArgParser::given(const std::string& name) const {
  return given_.count(name) > 0;
}
bool ArgParser::flag(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string ArgParser::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) usage_error(command_, name + " is required");
  return it->second;
}

std::string ArgParser::get_or(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

long long ArgParser::get_int64(const std::string& name) const {
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0)
    usage_error(command_, name + ": '" + text + "' is not an integer");
  return value;
}

int ArgParser::get_int(const std::string& name) const {
  const long long value = get_int64(name);
  if (value < -2147483647LL || value > 2147483647LL) usage_error(command_, name + ": value out of range");
  return static_cast<int>(value);
}

double ArgParser::get_double(const std::string& name) const {
  const std::string text = get(name);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) {
    usage_error(command_, name + ": '" + text + "' is not a finite number");
  }
  return value;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "usage: " << command_;
  for (const auto& p : positionals_) out << " " << p.first;
  out << " [options]\n\n" << summary_ << "\n";
  if (!positionals_.empty()) {
    out << "\narguments:\n";
    for (const auto& p : positionals_) out << "  " << p.first << "\n      " << p.second << "\n";
  }
  out << "\noptions:\n";
  for (const auto& s : options_) {
    out << "  ";
    if (!s.short_name.empty()) out << s.short_name << ", ";
    out << s.name;
    if (!s.is_flag) out << " " << s.metavar;
    out << "\n      " << s.help;
    if (!s.default_value.empty()) out << " (default: " << s.default_value << ")";
    out << "\n";
  }
  out << "  -h, --help\n      show this help and exit\n";
  if (!epilog_.empty()) out << "\n" << epilog_ << "\n";
  return out.str();
}

void apply_log_flags(const ArgParser& parser) {
  if (parser.flag("--quiet")) {
    set_log_level(LogLevel::error);
  } else if (parser.flag("--verbose")) {
    set_log_level(LogLevel::debug);
  }
}

}  // namespace app
}  // namespace libextract
