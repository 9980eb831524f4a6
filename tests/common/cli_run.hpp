// Runs the libextract executable through the shell and collects its exit status and
// its stdout + stderr, for the command-line tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "common/test_data.hpp"

namespace libextract_test {

struct CliResult {
  int status;  // the exit status; -1 when a signal ended it
  std::string output;
};

// `libextract <args>` with stderr folded into the output.
inline CliResult run_cli(const std::string& args) {
  const std::string command = cli_path() + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace libextract_test
