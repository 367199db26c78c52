// Logging: one sink, set once by app/ (STYLE.md §2.15); core only calls log_*.
#pragma once

#include <functional>
#include <string>

namespace sf {

enum class LogLevel { debug, info, warn, error };

using LogSink = std::function<void(LogLevel, const std::string&)>;

/// Replaces the sink (default: warnings and errors to stderr). Call before starting threads.
void set_log_sink(LogSink sink);
/// Messages below this level are dropped (default: info).
void set_log_level(LogLevel level);

void log(LogLevel level, const std::string& message);
inline void log_debug(const std::string& m) { log(LogLevel::debug, m); }
inline void log_info(const std::string& m) { log(LogLevel::info, m); }
inline void log_warn(const std::string& m) { log(LogLevel::warn, m); }
inline void log_error(const std::string& m) { log(LogLevel::error, m); }

}  // namespace sf
