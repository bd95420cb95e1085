// Structured logging: one JSON object per line on stdout, flushed per line so that a supervisor or
// a test reading the pipe sees each event at once. No prompt or completion text is ever logged.
#pragma once

#include <atomic>
#include <string_view>

#include <boost/json/object.hpp>

namespace slipway {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
LogLevel parse_log_level(std::string_view s);  // unknown -> info

class Log {
 public:
  void set_level(LogLevel level) { level_.store(static_cast<int>(level), std::memory_order_relaxed); }
  bool enabled(LogLevel level) const { return static_cast<int>(level) >= level_.load(std::memory_order_relaxed); }
  // `fields` are added after "ts", "level" and "event".
  void write(LogLevel level, std::string_view event, const boost::json::object& fields = {}) const;

 private:
  std::atomic<int> level_{static_cast<int>(LogLevel::info)};
};

}  // namespace slipway
