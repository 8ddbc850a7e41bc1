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
#include "health/server_view.h"
#include "policy/persist_engine.h"
#include "store/record_pins.h"
#include "store/server_registry.h"
#include "store/sticky_table.h"

namespace sticky::agent {

struct PersistBackend {
  std::unique_ptr<policy::PersistEngine> engine;
  ViewSlot<policy::BackendView> view;
  model::ServerSetPtr servers;  // the set the current view was built from
};

// What the handlers count beyond the engine's own counters.
// X(field, metric, label, type, help): the list the exporter walks (base/counter_list.h).
#define STICKY_HANDLER_COUNTERS(X)                                                                       \
  X(requests, "sticky_request_messages_total", "", Counter, "persist-req messages handled")             \
  X(responses, "sticky_response_messages_total", "", Counter,                                          \
    "persist-res messages handled (HAProxy sends them only when needed)")                               \
  X(unknown_backend, "sticky_unknown_backend_total", "", Counter, "messages naming a backend absent from the config") \
  X(no_view, "sticky_no_server_view_total", "", Counter, "messages for a backend with no server list yet") \
  X(deferred, "sticky_shared_lookups_total", "", Counter, "decisions that waited for a Redis lookup")   \
  X(shared_hits, "sticky_shared_lookup_hits_total", "", Counter, "Redis lookups that found the client's pin") \
  X(xff_lines_too_long, "sticky_xff_lines_too_long_total", "", Counter,                                \
    "X-Forwarded-For lines over 4 KiB together (only the last line used)")                              \
  /* persist-res for a request HAProxy served from its own stick table (the fast path) elsewhere */    \
  /* than the table said: the agent derived the client's identity from the response's facts */        \
  X(table_hit_moves, "sticky_fast_path_moves_total", "", Counter,                                      \
    "Responses served elsewhere than HAProxy's own stick table said (fast path): the agent followed")

struct HandlerCounters {
  STICKY_HANDLER_COUNTERS(STICKY_COUNTER_FIELD)
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(HandlerCounters, f, __VA_ARGS__)
inline constexpr CounterField<HandlerCounters> kHandlerCounterFields[] = {STICKY_HANDLER_COUNTERS(STICKY_X)};
#undef STICKY_X

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
  store::StickyTable& table() { return *table_; }
  store::ServerRegistry& registry() { return *registry_; }
  // Every backend by id (name and TTL), as the shared store keys records.
  std::vector<store::PinBackend> pin_backends() const;
  // Null unless a backend names its HAProxy stick table (haproxy_table): the fast path.
  HaproxyTableSync* table_sync() { return table_sync_.get(); }
  const HaproxyTableSync* table_sync() const { return table_sync_.get(); }

  // Any thread: backends HAProxy names that the config lacks are logged here, once per name.
  UnknownBackendReport& unknown_backends() { return *unknown_backends_; }

  // Any thread: HAProxy's view of a backend changed. Rebuilds the view if the set is new.
  void publish_servers(std::string_view backend, model::ServerSetPtr servers);
  // A HealthFollower consumer: every backend's servers from the view, and the fast path's clears.
  void follow(const health::ServerView& view);

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
  std::vector<std::string> names_;  // backends_[i]'s name, flat for find()
  std::unique_ptr<store::StickyTable> table_;
  std::unique_ptr<store::ServerRegistry> registry_;
  std::unique_ptr<HaproxyTableSync> table_sync_;
  std::unique_ptr<UnknownBackendReport> unknown_backends_;
  std::mutex rebuild_mutex_;
  mutable std::mutex totals_mutex_;
  PersistTotals totals_;
};

// Folds `from` into `into` (every counter added).
void add_counters(policy::PersistCounters& into, const policy::PersistCounters& from);

}  // namespace sticky::agent
