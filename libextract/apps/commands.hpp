// The subcommands of the libextract executable; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace libextract {
namespace app {

int run_psf_command(const std::vector<std::string>& args);

}  // namespace app
}  // namespace libextract
