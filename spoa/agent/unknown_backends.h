// Backends HAProxy names (the SPOE `be` argument) that the agent config does not describe: HAProxy then
// balances on its own and only sticky_unknown_backend_total moves, so each such name is also logged,
// once per process, at warn level, with the names the agent knows. Bounded: at most kMaxNames distinct
// names are remembered; past that, one last line says further names go unlogged.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::agent {

// Process-wide, thread-safe; consulted only the first time a worker meets a name.
class UnknownBackendReport {
 public:
  static constexpr std::size_t kMaxNames = 32;
  using LogFn = void (*)(const std::string& line);

  // `known`: the agent's backend names. `log` defaults to STICKY_LOG(Warn, ...).
  explicit UnknownBackendReport(std::vector<std::string> known, LogFn log = nullptr);

  // Logs `name` if it is new and there is room. Returns true when it logged it.
  bool report(std::string_view name);
  std::size_t remembered() const;

  static std::string message(std::string_view name, const std::vector<std::string>& known);

 private:
  std::vector<std::string> known_;
  LogFn log_;
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  bool overflow_logged_ = false;
};

// Per worker (no lock): names this worker already handed to the report, so a repeated unknown name
// costs a short scan and no allocation. Bounded like the report.
class UnknownBackendFilter {
 public:
  void note(std::string_view name, UnknownBackendReport& report);

 private:
  std::vector<std::string> seen_;
  bool full_ = false;
};

}  // namespace sticky::agent
