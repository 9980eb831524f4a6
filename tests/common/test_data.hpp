// Where tests find the shared reference data (../shared/data beside the checkout, or
// $LIBEXTRACT_SHARED_DATA) and the libextract executable. Tests that need the data
// skip, loudly, when it is absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace libextract_test {

inline std::string shared_data_dir() {
  if (const char* env = std::getenv("LIBEXTRACT_SHARED_DATA")) return env;
  return LIBEXTRACT_SHARED_DATA_DEFAULT;
}

inline bool file_exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

inline std::string shared_file(const std::string& name) {
  return shared_data_dir() + "/" + name;
}

inline std::string cli_path() {
  return LIBEXTRACT_CLI_PATH;
}

// A scratch folder for the files a test writes (removed by the OS's tmp cleaning).
inline std::string scratch_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/libextract-test-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

}  // namespace libextract_test

// Skips the current test when a shared data file is missing.
#define LIBEXTRACT_REQUIRE_SHARED_FILE(name)                                                       \
  do {                                                                                             \
    if (!::libextract_test::file_exists(::libextract_test::shared_file(name)))                     \
      GTEST_SKIP() << "shared reference data not found: " << ::libextract_test::shared_file(name); \
  } while (0)
