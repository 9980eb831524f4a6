// Two file arguments naming one file (see io.hpp: require_distinct_files).
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "libextract/errors.hpp"
#include "libextract/io.hpp"

namespace libextract {

namespace {

// What makes a file itself: (st_dev, st_ino) for one that exists, the real path of
// its folder plus its name for one that does not exist yet.
std::string identity(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    return "inode " + std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  }
  const auto slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  char real[PATH_MAX];
  if (::realpath(folder.c_str(), real) == nullptr) return "path " + path;  // the open will report it
  return "path " + std::string(real) + "/" + name;
}

}  // namespace

void require_distinct_files(const std::vector<NamedFile>& files) {
  std::vector<std::string> ids;
  ids.reserve(files.size());
  for (const NamedFile& f : files) ids.push_back(f.path.empty() ? std::string() : identity(f.path));
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (std::size_t j = i + 1; j < files.size(); ++j) {
      if (ids[i].empty() || ids[i] != ids[j]) continue;
      throw Error(ErrorCode::invalid_argument, files[j].option + " '" + files[j].path +
                                                   "' is the same file as " + files[i].option + " '" +
                                                   files[i].path + "': refusing to overwrite it");
    }
  }
}

}  // namespace libextract
