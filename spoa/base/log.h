// Minimal leveled logging to stderr: one formatted line per call, written with a single
// write(2) so lines from different threads never interleave.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <unistd.h>

namespace sticky::log {

enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

inline std::atomic<int>& threshold() {
  static std::atomic<int> level{static_cast<int>(Level::Info)};
  return level;
}
inline bool enabled(Level l) { return static_cast<int>(l) <= threshold().load(std::memory_order_relaxed); }

inline bool parse_level(std::string_view s, Level& out) {
  if (s == "error") out = Level::Error;
  else if (s == "warn" || s == "warning") out = Level::Warn;
  else if (s == "info") out = Level::Info;
  else if (s == "debug") out = Level::Debug;
  else return false;
  return true;
}

__attribute__((format(printf, 2, 3))) inline void write(Level l, const char* fmt, ...) {
  if (!enabled(l)) return;
  static const char* const kNames[] = {"error", "warn", "info", "debug"};
  char line[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  int n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
                        kNames[static_cast<int>(l)]);
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t ignored = ::write(2, line, len);
  (void)ignored;
}

}  // namespace sticky::log

#define STICKY_LOG(level, ...) ::sticky::log::write(::sticky::log::Level::level, __VA_ARGS__)
