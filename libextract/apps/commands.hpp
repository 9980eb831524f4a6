// The subcommands of the libextract executable; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace libextract {
namespace app {

int run_psf_command(const std::vector<std::string>& args);
int run_simulate_command(const std::vector<std::string>& args);  // cmd_simulate.cpp
int run_extract_command(const std::vector<std::string>& args);   // cmd_extract.cpp
int run_bench_command(const std::vector<std::string>& args);     // cmd_bench.cpp

}  // namespace app
}  // namespace libextract
