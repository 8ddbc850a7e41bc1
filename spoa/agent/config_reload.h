// Hot reload: SIGHUP, or POST /api/v1/reload on the admin listener, re-reads the config file (and
// the files it names: cookie secrets, CIDR lists), validates all of it as start-up does, and
// either applies it between requests or refuses it whole, the running config untouched.
//
// Applied live: the persistence backends (each a new engine; the sticky table, its entries and
// the server registry are kept, so a client of an unchanged backend keeps its server), backends
// added (a table partition of their own) and removed (their pins dropped and counted), the HSAF
// profiles, the static server lists and agent.log_level. Start-up settings (restart_settings.h)
// keep their running value and are reported as waiting for a restart; the Redis connections are
// kept as they are.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "agent/cli.h"
#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "config/config.h"
#include "health/health_poller.h"
#include "store/redis/shared_pins.h"

namespace sticky::agent {

struct ReloadOutcome {
  enum class Kind : std::uint8_t { None, Applied, Refused, NoFile };
  Kind kind = Kind::None;
  std::uint64_t generation = 0;            // the one running after this reload
  std::vector<std::string> errors;         // why it was refused ("FILE:LINE: reason")
  std::vector<std::string> warnings;
  std::vector<std::string> changes;        // what it changed, for the log and the caller
  std::vector<std::string> restart_needed;  // start-up settings the file changes
  std::size_t dropped_pins = 0;
  std::int64_t at_unix_s = 0;
};
std::string_view reload_outcome_name(ReloadOutcome::Kind k);

// Plain copy for /metrics and the admin API.
struct ReloadStatus {
  std::string source;  // the config file ("" when started without -c)
  std::uint64_t generation = 1;
  std::uint64_t applied = 0;
  std::uint64_t refused = 0;
  std::int64_t started_at_unix_s = 0;
  std::vector<std::string> restart_needed;
  ReloadOutcome last;  // kind None before the first reload

  // True until a reload is refused, and again once one is applied.
  bool last_successful() const { return last.kind != ReloadOutcome::Kind::Refused; }
  // When the last reload was tried; the start-up time before the first.
  std::int64_t last_at_unix_s() const { return last.kind == ReloadOutcome::Kind::None ? started_at_unix_s : last.at_unix_s; }
};

class ConfigReloader {
 public:
  struct Targets {
    PersistRuntime& persist;
    HsafRuntime& hsaf;
    health::HealthPoller& poller;
    store::SharedStore* shared = nullptr;
  };
  // `running`: the config the agent started with (from cli.config_path, or defaults without one).
  ConfigReloader(CliOptions cli, config::Config running, Targets targets);

  // Any thread; one reload at a time (a second caller waits for the first). Logs the outcome.
  ReloadOutcome reload();
  ReloadStatus status() const;

 private:
  ReloadOutcome reload_locked();

  const CliOptions cli_;
  Targets targets_;
  std::mutex reload_mutex_;    // serialises reloads
  config::Config running_;     // guarded by reload_mutex_
  mutable std::mutex status_mutex_;
  ReloadStatus status_;
};

// The reload lines of /metrics.
void render_reload_metrics(const ReloadStatus& s, std::string& out);

}  // namespace sticky::agent
