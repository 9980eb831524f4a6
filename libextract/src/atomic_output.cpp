#include "atomic_output.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#include "libextract/errors.hpp"

namespace libextract {
namespace detail {

namespace {

// Live temporaries, read by the signal handler: each slot owns a strdup'ed path or
// holds nullptr. Only atomic loads and unlink() run in the handler.
constexpr int max_live = 64;
std::array<std::atomic<char*>, max_live> live{};
std::once_flag handlers_once;

extern "C" void remove_live_and_die(int signal_number) {
  for (auto& slot : live) {
    const char* path = slot.load();
    if (path) ::unlink(path);
  }
  std::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void install_handlers() {
  for (const int s : {SIGTERM, SIGINT}) {
    struct sigaction old {};
    if (::sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      struct sigaction action {};
      action.sa_handler = remove_live_and_die;
      sigemptyset(&action.sa_mask);
      ::sigaction(s, &action, nullptr);
    }
  }
}

int register_live(const std::string& path) {
  std::call_once(handlers_once, install_handlers);
  char* copy = ::strdup(path.c_str());
  for (int i = 0; i < max_live; ++i) {
    char* expected = nullptr;
    if (live[i].compare_exchange_strong(expected, copy)) return i;
  }
  std::free(copy);  // more than max_live at once: still atomic, just not cleaned on a signal
  return -1;
}

void unregister_live(int slot) {
  if (slot < 0) return;
  std::free(live[slot].exchange(nullptr));
}

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  std::string text(name.data());
  for (char& c : text) {
    if (c == '/' || c == '-') c = '_';  // the name must not contain the separators
  }
  return text;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void gzip_in_place(const std::string& path, const std::string& final_path) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::io_error, final_path + ": cannot reread the temporary to compress it");
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  gzFile out = gzopen(path.c_str(), "wb6");
  bool ok = out != nullptr;
  std::size_t done = 0;
  while (ok && done < bytes.size()) {
    const auto n = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - done, 1u << 30));
    ok = gzwrite(out, bytes.data() + done, n) == static_cast<int>(n);
    done += n;
  }
  if (out && gzclose(out) != Z_OK) ok = false;
  if (!ok) throw Error(ErrorCode::io_error, final_path + ": cannot write the compressed output");
}

}  // namespace

std::string temporary_name(const std::string& final_path) {
  return final_path + ".tmp-" + host_name() + "-" + std::to_string(static_cast<long>(::getpid()));
}

int remove_stale_temporaries(const std::string& final_path) {
  const auto slash = final_path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : final_path.substr(0, slash + 1);
  const std::string prefix =
      (slash == std::string::npos ? final_path : final_path.substr(slash + 1)) + ".tmp-" + host_name() + "-";
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return 0;
  int removed = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    const std::string path = (slash == std::string::npos ? "" : folder) + name;
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(dir);
  return removed;
}

AtomicOutput::AtomicOutput(std::string final_path)
    : final_path_(std::move(final_path)), temp_path_(temporary_name(final_path_)) {
  remove_stale_temporaries(final_path_);
  slot_ = register_live(temp_path_);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(temp_path_.c_str());
  unregister_live(slot_);
}

void AtomicOutput::finish() {
  if (finished_) return;
  if (ends_with(final_path_, ".gz")) {
    try {
      gzip_in_place(temp_path_, final_path_);
    } catch (...) {
      std::remove(temp_path_.c_str());
      throw;
    }
  }
  finished_ = true;
}

void AtomicOutput::commit() {
  finish();
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    std::remove(temp_path_.c_str());
    throw Error(ErrorCode::io_error, final_path_ + ": cannot move the finished output into place");
  }
  committed_ = true;
}

}  // namespace detail
}  // namespace libextract
