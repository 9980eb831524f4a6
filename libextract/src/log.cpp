#include "libextract/log.hpp"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

namespace libextract {

namespace {

int initial_level() {
  const char* env = std::getenv("DESI_LOGLEVEL");
  const std::optional<LogLevel> level = env ? parse_log_level(env) : std::nullopt;
  return static_cast<int>(level.value_or(LogLevel::info));
}

std::atomic<int>& threshold() {
  static std::atomic<int> level{initial_level()};
  return level;
}

// The sink is swapped under a mutex but called outside it, through a shared copy: a
// sink that takes another lock (Python's GIL) cannot deadlock against a thread that
// holds that lock and logs.
std::mutex sink_mutex;
std::shared_ptr<const LogSink>& sink_slot() {
  static std::shared_ptr<const LogSink> sink;
  return sink;
}

const char* base_name(const char* path) {
  const char* name = path;
  for (const char* p = path; *p; ++p) {
    if (*p == '/' || *p == '\\') name = p + 1;
  }
  return name;
}

}  // namespace

std::optional<LogLevel> parse_log_level(const std::string& text) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "DEBUG") return LogLevel::debug;
  if (upper == "INFO") return LogLevel::info;
  if (upper == "WARNING") return LogLevel::warning;
  if (upper == "ERROR" || upper == "CRITICAL") return LogLevel::error;
  return std::nullopt;
}

const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warning:
      return "WARNING";
    case LogLevel::error:
      return "ERROR";
  }
  return "ERROR";
}

LogLevel log_level() noexcept {
  return static_cast<LogLevel>(threshold().load(std::memory_order_relaxed));
}

void set_log_level(LogLevel level) noexcept {
  threshold().store(static_cast<int>(level), std::memory_order_relaxed);
}

void set_log_sink(LogSink sink) {
  std::shared_ptr<const LogSink> next = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
  const std::lock_guard<std::mutex> lock(sink_mutex);
  sink_slot().swap(next);
}

std::string format_log_record(const LogRecord& record, bool timestamp) {
  std::string line = std::string(to_string(record.level)) + ":" + base_name(record.file) + ":" +
                     std::to_string(record.line) + ":" + record.function + ":";
  if (timestamp) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
    line += stamp;
    line += ":";
  }
  line += " ";
  line += record.message;
  return line;
}

void log_message(LogLevel level, const char* file, int line, const char* function,
                 const std::string& message) {
  if (!log_enabled(level)) return;
  const LogRecord record{level, file, line, function, message};
  std::shared_ptr<const LogSink> sink;
  {
    const std::lock_guard<std::mutex> lock(sink_mutex);
    sink = sink_slot();
  }
  if (sink) {
    (*sink)(record);
    return;
  }
  const std::string text = format_log_record(record) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);  // one write per line: lines of threads never interleave
  std::fflush(stderr);
}

}  // namespace libextract
