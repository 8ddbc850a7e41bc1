// Background thread that reads HAProxy's `show servers state` every poll interval and publishes a
// new ServerView when something changed; static servers from the config stand in when no runtime
// API is configured or it cannot be reached.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/counter_list.h"
#include "health/server_view.h"
#include "health/servers_state.h"
#include "model/server_set.h"

namespace sticky::health {

struct HealthPollerOptions {
  std::string runtime_api{};  // "unix:/path", "/path" or "host:port"; empty = static servers only
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds api_timeout{1000};
  // Fallback per backend; weight and name as configured, state Up.
  std::vector<model::ServerSet> static_servers{};
  // Called on the poller thread on every change of source state (live, unreachable, bad reply),
  // never once per poll, so a dead socket does not flood the log.
  std::function<void(std::string_view)> log{};
};

// Plain copy of the poller's counters; read with HealthPoller::counters().
// X(field, metric, label, type, help): the list the exporter walks (base/counter_list.h).
#define STICKY_HEALTH_COUNTERS(X)                                                                        \
  X(polls, "sticky_health_polls_total", "", Counter, "runtime API queries for HAProxy's server states") \
  X(api_failures, "sticky_health_api_failures_total", "", Counter,                                     \
    "runtime API queries that failed (connect, read, timeout)")                                         \
  X(parse_errors, "sticky_health_parse_errors_total", "", Counter,                                     \
    "runtime API replies that were not a servers state dump")                                           \
  X(unchanged_polls, "sticky_health_unchanged_polls_total", "", Counter, "good replies that changed nothing") \
  X(published, "sticky_health_views_published_total", "", Counter,                                     \
    "server views published after the initial one (HAProxy's servers changed)")

struct HealthCounters {
  STICKY_HEALTH_COUNTERS(STICKY_COUNTER_FIELD)
  StateParseError last_parse_error = StateParseError::None;
  bool on_static_fallback = true;     // the current view comes from the config, not HAProxy
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(HealthCounters, f, __VA_ARGS__)
inline constexpr CounterField<HealthCounters> kHealthCounterFields[] = {STICKY_HEALTH_COUNTERS(STICKY_X)};
#undef STICKY_X

class HealthPoller {
 public:
  // Publishes the static view immediately (version 1) so readers never see an empty poller.
  explicit HealthPoller(HealthPollerOptions options);
  ~HealthPoller();  // stop()
  HealthPoller(const HealthPoller&) = delete;
  HealthPoller& operator=(const HealthPoller&) = delete;

  // Starts the polling thread; does nothing without a runtime API.
  void start();
  // Wakes the thread and joins it; returns within about api_timeout. Idempotent.
  void stop();

  // A reload's static servers (any thread): published now while no HAProxy answer stands, else
  // merged at the next poll (HAProxy's view of a backend wins over the config's).
  void set_static_servers(std::vector<model::ServerSet> servers);
  // One poll on the caller's thread: query, parse, publish if changed. The thread loops on this.
  void poll_once();

  // Cheap change detector for per-request checks (one atomic load).
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  // The current view (takes a mutex: call only when version() moved, see ServerViewCache).
  ServerViewPtr view() const;
  HealthCounters counters() const;

 private:
  enum class Source : std::uint8_t { Static, Live, Unreachable, BadReply };

  void run();
  // Builds the next view from HAProxy's backends over the static ones, reusing unchanged sets
  // so their version (and anything derived from them) stays put; publishes only on a change.
  void publish(const std::vector<BackendServers>* live);
  void note_source(Source s, std::string_view why);

  HealthPollerOptions options_;
  std::atomic<std::uint64_t> version_{0};
  mutable std::mutex view_mutex_;  // guards view_ and counters_
  ServerViewPtr view_;
  HealthCounters counters_;
  Source source_ = Source::Static;

  std::mutex run_mutex_;  // guards stopping_ for the condition variable
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sticky::health
