// See config_reload.h.
#include "agent/config_reload.h"

#include <chrono>

#include "agent/redis_config.h"
#include "agent/restart_settings.h"
#include "agent/startup.h"
#include "base/log.h"
#include "config/config_file.h"
#include "metrics/exporter.h"

namespace sticky::agent {

namespace {

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

std::string_view reload_outcome_name(ReloadOutcome::Kind k) {
  switch (k) {
    case ReloadOutcome::Kind::None: return "none";
    case ReloadOutcome::Kind::Applied: return "applied";
    case ReloadOutcome::Kind::Refused: return "refused";
    case ReloadOutcome::Kind::NoFile: return "no_file";
  }
  return "?";
}

ConfigReloader::ConfigReloader(CliOptions cli, config::Config running, Targets targets)
    : cli_(std::move(cli)), targets_(targets), running_(std::move(running)) {
  status_.source = cli_.config_path;
  status_.started_at_unix_s = unix_now_s();
}

ReloadStatus ConfigReloader::status() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return status_;
}

ReloadOutcome ConfigReloader::reload() {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  ReloadOutcome r = reload_locked();
  r.at_unix_s = unix_now_s();
  {
    std::lock_guard<std::mutex> s(status_mutex_);
    if (r.kind == ReloadOutcome::Kind::Applied) {
      ++status_.applied;
      status_.generation = r.generation;
      status_.restart_needed = r.restart_needed;
    } else if (r.kind == ReloadOutcome::Kind::Refused) {
      ++status_.refused;
      r.generation = status_.generation;
    }
    if (r.kind != ReloadOutcome::Kind::NoFile) status_.last = r;
  }
  for (const auto& w : r.warnings) STICKY_LOG(Warn, "config reload: %s", w.c_str());
  switch (r.kind) {
    case ReloadOutcome::Kind::Applied:
      STICKY_LOG(Info, "config reload: generation %llu applied (%s)%s%s", static_cast<unsigned long long>(r.generation),
                 joined(r.changes).c_str(), r.restart_needed.empty() ? "" : "; waiting for a restart: ",
                 joined(r.restart_needed).c_str());
      break;
    case ReloadOutcome::Kind::Refused:
      STICKY_LOG(Error, "config reload refused, generation %llu keeps running: %s",
                 static_cast<unsigned long long>(r.generation), joined(r.errors).c_str());
      break;
    case ReloadOutcome::Kind::NoFile:
      STICKY_LOG(Warn, "config reload: the agent was started without -c, there is no file to read");
      break;
    case ReloadOutcome::Kind::None: break;
  }
  return r;
}

ReloadOutcome ConfigReloader::reload_locked() {
  ReloadOutcome r;
  if (cli_.config_path.empty()) {
    r.kind = ReloadOutcome::Kind::NoFile;
    r.errors.push_back("the agent was started without a config file (-c): nothing to reload");
    return r;
  }
  r.kind = ReloadOutcome::Kind::Refused;
  // Everything start-up checks, and nothing applied until all of it passed.
  config::LoadResult loaded = config::load_file(cli_.config_path);
  r.warnings = std::move(loaded.warnings);
  if (!loaded.ok()) {
    r.errors = std::move(loaded.errors);
    return r;
  }
  config::Config& next = loaded.config;
  Startup startup;
  resolve_startup(cli_, next, startup, r.errors);
  std::optional<store::RedisOptions> next_redis;
  if (next.redis) {
    store::RedisOptions ro;
    std::string error;
    if (!redis_options_from(*next.redis, ro, error)) r.errors.push_back(error);
    else next_redis = std::move(ro);
  }
  PersistReloadPlan plan;
  std::shared_ptr<PersistBackends> persist = targets_.persist.prepare(next, r.errors, plan);
  std::shared_ptr<HsafProfiles> hsaf = HsafRuntime::prepare(next, r.errors, r.warnings);
  if (!persist || !hsaf || !r.errors.empty()) return r;

  r.restart_needed = restart_needed(running_, next, cli_);
  r.restart_needed.insert(r.restart_needed.end(), plan.restart_needed.begin(), plan.restart_needed.end());
  r.changes = std::move(plan.changes);
  r.changes.push_back(std::to_string(next.backends.size()) + " persistence backends, " +
                      std::to_string(next.hsaf.size()) + " hsaf profiles");

  // Apply. The static servers first, so the poller's view already holds an added backend's; the
  // new engines and routers start from that view, and the follower keeps them current.
  targets_.poller.set_static_servers(health_options(next).static_servers);
  const health::ServerViewPtr view = targets_.poller.view();
  r.dropped_pins = targets_.persist.apply(persist, view.get());
  targets_.hsaf.apply(hsaf, view.get());
  if (targets_.shared) targets_.shared->set_backends(targets_.persist.pin_backends());
  // New Redis settings (or a rotated password file): every connection is made again with them;
  // the table and the writes waiting for Redis stay.
  if (targets_.shared && next_redis && *next_redis != *targets_.shared->options()) {
    targets_.shared->reconfigure(std::move(*next_redis));
    r.changes.push_back("redis: new settings, reconnecting");
  }
  if (!cli_.log_level_set) log::threshold().store(static_cast<int>(next.agent.log_level));
  if (r.dropped_pins) r.changes.push_back(std::to_string(r.dropped_pins) + " pins of removed backends dropped");
  running_ = with_startup_settings(std::move(next), running_);
  r.kind = ReloadOutcome::Kind::Applied;
  r.generation = persist->generation();
  return r;
}

void render_reload_metrics(const ReloadStatus& s, std::string& out) {
  using sticky::MetricType;
  metrics::append_metric(out, "sticky_config_generation", "gauge",
                         "config generation running (1 at start, one more per applied reload)",
                         static_cast<double>(s.generation));
  metrics::append_sample(out, "sticky_config_reloads_total", "outcome=\"applied\"", MetricType::Counter,
                         "config reloads (SIGHUP or the admin API), by outcome", s.applied, true);
  metrics::append_sample(out, "sticky_config_reloads_total", "outcome=\"refused\"", MetricType::Counter, "",
                         s.refused, false);
  metrics::append_metric(out, "sticky_config_last_reload_successful", "gauge",
                         "1 if the last reload was applied (or none was tried yet), 0 if it was refused",
                         s.last_successful() ? 1.0 : 0.0);
  metrics::append_metric(out, "sticky_config_last_reload_timestamp_seconds", "gauge",
                         "when the last reload was tried (the start-up time before the first)",
                         static_cast<double>(s.last_at_unix_s()));
  metrics::append_metric(out, "sticky_config_restart_needed", "gauge",
                         "start-up settings the config file changes that only a restart applies",
                         static_cast<double>(s.restart_needed.size()));
}

}  // namespace sticky::agent
