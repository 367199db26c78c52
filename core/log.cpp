#include "core/log.h"

#include <atomic>
#include <iostream>
#include <mutex>

namespace sf {
namespace {

std::mutex sink_mutex;
LogSink sink;  // empty: the default sink below
std::atomic<LogLevel> min_level{LogLevel::info};

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warning";
        case LogLevel::error: return "error";
    }
    return "?";
}

}  // namespace

void set_log_sink(LogSink s) {
    std::lock_guard lock(sink_mutex);
    sink = std::move(s);
}

void set_log_level(LogLevel level) { min_level = level; }

void log(LogLevel level, const std::string& message) {
    if (level < min_level.load()) {
        return;
    }
    std::lock_guard lock(sink_mutex);
    if (sink) {
        sink(level, message);
    } else if (level >= LogLevel::warn) {
        std::cerr << "sfumato: " << level_name(level) << ": " << message << '\n';
    }
}

}  // namespace sf
