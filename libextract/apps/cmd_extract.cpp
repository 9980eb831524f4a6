// Work in progress: replaced by the real subcommand before this lands.
#include "commands.hpp"
#include "libextract/errors.hpp"

namespace libextract {
namespace app {

int run_extract_command(const std::vector<std::string>&) {
  throw Error(ErrorCode::internal_error, "libextract extract: not built yet");
}

}  // namespace app
}  // namespace libextract
