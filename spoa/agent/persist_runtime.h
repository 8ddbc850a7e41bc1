// Everything persistence needs that outlives a request and is shared by the workers: one engine
// per configured backend, the sticky table, the server registry and the current server views.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/haproxy_table_sync.h"
#include "agent/unknown_backends.h"
#include "agent/view_slot.h"
#include "config/config.h"
#include "policy/persist_engine.h"

namespace sticky::agent {

struct PersistBackend {
  std::unique_ptr<policy::PersistEngine> engine;
  ViewSlot<policy::BackendView> view;
  policy::ServerSetPtr servers;  // the set the current view was built from
};

// What the handlers count beyond the engine's own counters.
struct HandlerCounters {
  std::uint64_t requests = 0;         // persist-req messages handled
  std::uint64_t responses = 0;        // persist-res messages handled (HAProxy sends them only when needed)
  std::uint64_t unknown_backend = 0;  // messages naming a backend absent from the config
  std::uint64_t no_view = 0;          // messages for a backend with no server list yet
  std::uint64_t deferred = 0;         // decisions that waited for a Redis lookup
  std::uint64_t shared_hits = 0;      // ...and found the pin there
  std::uint64_t xff_lines_too_long = 0;  // X-Forwarded-For lines over 4 KiB together: last line used alone
  // persist-res for a request HAProxy served from its own stick table (the fast path) elsewhere
  // than the table said: the agent derived the client's identity from the response's facts.
  std::uint64_t table_hit_moves = 0;
};

// Counters summed over workers; workers publish their plain counters here about once a second.
struct PersistTotals {
  policy::PersistCounters counters;
  HandlerCounters handler;
};

class PersistRuntime {
 public:
  // Builds every backend from the config. On failure returns null and appends the reasons
  // (secret files, CIDR files...) to `errors`.
  static std::unique_ptr<PersistRuntime> build(const config::Config& cfg, std::vector<std::string>& errors);

  // Index of the backend, or -1.
  int find(std::string_view backend) const;
  PersistBackend& backend(int index) { return *backends_[static_cast<std::size_t>(index)]; }
  std::size_t size() const { return backends_.size(); }
  policy::StickyTable& table() { return *table_; }
  // Null unless a backend names its HAProxy stick table (haproxy_table): the fast path.
  HaproxyTableSync* table_sync() { return table_sync_.get(); }
  const HaproxyTableSync* table_sync() const { return table_sync_.get(); }

  // Any thread: backends HAProxy names that the config lacks are logged here, once per name.
  UnknownBackendReport& unknown_backends() { return *unknown_backends_; }

  // Any thread: HAProxy's view of a backend changed. Rebuilds the view if the set is new.
  void publish_servers(std::string_view backend, policy::ServerSetPtr servers);

  // Workers add their counters (and reset their own) here; the exporter reads the totals.
  void merge_counters(policy::PersistCounters& from, HandlerCounters& handler);
  // Workers call this about once a second with their clock: expired pins are reclaimed in bounded
  // steps (the first caller in a second does that second's share), so sticky_table_entries counts
  // live pins within StickyTable's sweep period.
  void sweep_table(std::int64_t now_ms) { table_->sweep_tick(now_ms); }
  PersistTotals totals() const;

 private:
  PersistRuntime() = default;
  std::vector<std::unique_ptr<PersistBackend>> backends_;
  std::unique_ptr<policy::StickyTable> table_;
  std::unique_ptr<policy::ServerRegistry> registry_;
  std::unique_ptr<HaproxyTableSync> table_sync_;
  std::unique_ptr<UnknownBackendReport> unknown_backends_;
  std::mutex rebuild_mutex_;
  mutable std::mutex totals_mutex_;
  PersistTotals totals_;
};

// Folds `from` into `into` (every counter added).
void add_counters(policy::PersistCounters& into, const policy::PersistCounters& from);

}  // namespace sticky::agent
