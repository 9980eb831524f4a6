// A small command-line parser for the libextract subcommands: long and short
// options, flags, positionals, generated --help, and errors that name the option.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace libextract {
namespace app {

// Sets the log threshold from a command's -v/--verbose (debug) and -q/--quiet (error
// only) flags; without either, DESI_LOGLEVEL's level (else info) stays.
class ArgParser;
void apply_log_flags(const ArgParser& parser);

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  void add_option(const std::string& name, const std::string& short_name, const std::string& metavar,
                  const std::string& help, const std::string& default_value = "");
  // An option naming a file: parse() refuses two of them naming one file.
  void add_file_option(const std::string& name, const std::string& short_name, const std::string& metavar,
                       const std::string& help);
  void add_flag(const std::string& name, const std::string& short_name, const std::string& help);
  void add_positional(const std::string& name, const std::string& help);
  void set_epilog(const std::string& text) { epilog_ = text; }

  // Returns false when --help was asked for (the help text is already printed).
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;    // given on the command line or defaulted
  bool given(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const;
  std::string get(const std::string& name) const;  // throws if absent
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int get_int(const std::string& name) const;
  long long get_int64(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::string help() const;
  // Every registered option, for sweeps that must cover options added later.
  std::vector<std::string> option_names() const;

 private:
  struct Spec {
    std::string name, short_name, metavar, help, default_value;
    bool is_flag = false;
    bool is_file = false;
  };
  const Spec* find(const std::string& token) const;
  std::string command_, summary_, epilog_;
  std::vector<Spec> options_;
  std::vector<std::pair<std::string, std::string>> positionals_;
  std::map<std::string, std::string> values_;
  std::set<std::string> given_;
};

}  // namespace app
}  // namespace libextract
