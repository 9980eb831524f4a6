// The library's one log: leveled messages (debug, info, warning, error) to one sink.
// The default sink writes desiutil's line format to stderr,
//   LEVEL:file:line:function:2026-12-06T21:07:05: message
// (desiutil.log with timestamp=True); the Python package routes the records to
// desiutil's logger or logging.getLogger("libextract") instead, and a C++ program can
// install its own sink.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include <functional>
#include <optional>
#include <string>

namespace libextract {

// Python logging's numbers, so a record maps onto a logging.LogRecord unchanged.
enum class LogLevel : int { debug = 10, info = 20, warning = 30, error = 40 };

struct LogRecord {
  LogLevel level = LogLevel::info;
  const char* file = "";      // __FILE__ (the formatters print its base name)
  int line = 0;               // __LINE__
  const char* function = "";  // __func__
  std::string message;
};

using LogSink = std::function<void(const LogRecord&)>;

// "DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL" (as error), any case; nullopt else.
std::optional<LogLevel> parse_log_level(const std::string& text);
const char* to_string(LogLevel level) noexcept;  // "DEBUG", ...

// The threshold: messages below it are dropped before formatting. Initially the level
// DESI_LOGLEVEL names (as desiutil reads it), else info.
LogLevel log_level() noexcept;
void set_log_level(LogLevel level) noexcept;
inline bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) >= static_cast<int>(log_level());
}

// Installs `sink` for every later message (an empty function: the default stderr sink).
// Sinks may be called from any thread; each call gets one whole record.
void set_log_sink(LogSink sink);

// The default sink's line: "LEVEL:file:line:function:TIMESTAMP: message", the timestamp
// local time as desiutil writes it (%Y-%m-%dT%H:%M:%S); without it with timestamp false.
std::string format_log_record(const LogRecord& record, bool timestamp = true);

// Sends a record to the sink when `level` passes the threshold. Prefer the macros below,
// which name the calling file, line and function and skip building a dropped message.
void log_message(LogLevel level, const char* file, int line, const char* function,
                 const std::string& message);

}  // namespace libextract

#define LIBEXTRACT_LOG(level, message)                                                                     \
  do {                                                                                                     \
    if (::libextract::log_enabled(level))                                                                  \
      ::libextract::log_message(level, __FILE__, __LINE__, static_cast<const char*>(__func__), (message)); \
  } while (0)
#define LIBEXTRACT_LOG_DEBUG(message) LIBEXTRACT_LOG(::libextract::LogLevel::debug, message)
#define LIBEXTRACT_LOG_INFO(message) LIBEXTRACT_LOG(::libextract::LogLevel::info, message)
#define LIBEXTRACT_LOG_WARNING(message) LIBEXTRACT_LOG(::libextract::LogLevel::warning, message)
#define LIBEXTRACT_LOG_ERROR(message) LIBEXTRACT_LOG(::libextract::LogLevel::error, message)
