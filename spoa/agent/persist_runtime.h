// Everything persistence needs that outlives a request and is shared by the workers: one engine
// per configured backend, the sticky table, the server registry and the current server views.
#pragma once

#include <atomic>
#include <map>
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
  std::size_t capacity = 0;      // the table partition it asks for (taken at start, or when added)
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

// One config generation's persistence backends: built whole from a config, published whole by
// a reload, and never changed after (except their server views, which the health follower keeps
// current). Workers hold the generation they started a message with until its answer is sent,
// so a reload never changes a backend under a decision.
class PersistBackends {
 public:
  // Index of the backend, or -1.
  int find(std::string_view backend) const;
  PersistBackend& backend(int index) const { return *backends_[static_cast<std::size_t>(index)]; }
  std::size_t size() const { return backends_.size(); }
  std::uint64_t generation() const { return generation_; }
  // Any thread: backends HAProxy names that this config lacks are logged here, once per name.
  UnknownBackendReport& unknown_backends() const { return *unknown_backends_; }

 private:
  friend class PersistRuntime;
  std::vector<std::unique_ptr<PersistBackend>> backends_;
  std::vector<std::string> names_;  // backends_[i]'s name, flat for find()
  std::unique_ptr<UnknownBackendReport> unknown_backends_;
  std::vector<HaproxyTableSync::Target> haproxy_tables_;  // the fast path's tables (haproxy_table)
  std::uint64_t generation_ = 1;
};
using PersistBackendsPtr = std::shared_ptr<const PersistBackends>;

// What a reload changes in persistence, worked out before anything is applied.
struct PersistReloadPlan {
  std::vector<std::string> changes;         // "backend 'b' added", "backend 'b' changed", ...
  std::vector<std::string> restart_needed;  // settings this runtime cannot take live
};

class PersistRuntime {
 public:
  // Builds every backend from the config (generation 1). On failure returns null and appends
  // the reasons (secret files, CIDR files...) to `errors`.
  static std::unique_ptr<PersistRuntime> build(const config::Config& cfg, std::vector<std::string>& errors);

  // The current generation. Any thread; takes a lock: workers use slot() with a CachedView.
  PersistBackendsPtr current() const { return current_.get(); }
  const ViewSlot<PersistBackends>& slot() const { return current_; }

  // Reload, step one (any thread, one reload at a time): the next generation from `cfg`, built
  // against this runtime's table without touching it. Null, with the reasons in `errors`, when
  // `cfg` is refused (the running generation is unaffected either way).
  std::shared_ptr<PersistBackends> prepare(const config::Config& cfg, std::vector<std::string>& errors,
                                           PersistReloadPlan& plan) const;
  // Reload, step two: partitions for the added backends, the current server views (`view`),
  // then the swap; the pins of backends `next` no longer has are dropped. Returns how many.
  std::size_t apply(std::shared_ptr<PersistBackends> next, const health::ServerView* view);

  store::StickyTable& table() { return *table_; }
  store::ServerRegistry& registry() { return *registry_; }
  // Every backend id this generation uses (index = id; names of retired ids are empty), with its
  // TTL, as the shared store keys records.
  std::vector<store::PinBackend> pin_backends() const;
  // Null unless the agent has HAProxy's runtime API: clears HAProxy's own stick tables (the
  // fast path) for the backends that name one (haproxy_table).
  HaproxyTableSync* table_sync() { return table_sync_.get(); }
  const HaproxyTableSync* table_sync() const { return table_sync_.get(); }

  // A HealthFollower consumer (any thread): every backend's servers from the view, and the fast
  // path's clears. Applies to the current generation.
  void follow(const health::ServerView& view);

  // Workers add their counters (and reset their own) here; the exporter reads the totals. The
  // totals outlive generations: counters never go back on a reload.
  void merge_counters(policy::PersistCounters& from, HandlerCounters& handler);
  // Workers call this about once a second with their clock: expired pins are reclaimed in bounded
  // steps (the first caller in a second does that second's share), so sticky_table_entries counts
  // live pins within StickyTable's sweep period.
  void sweep_table(std::int64_t now_ms) { table_->sweep_tick(now_ms); }
  PersistTotals totals() const;
  // Pins dropped because a reload removed their backend.
  std::uint64_t reload_dropped() const { return reload_dropped_.load(std::memory_order_relaxed); }

 private:
  PersistRuntime() = default;
  // Builds the backends of `cfg`; ids of names in `ids` are kept, new names numbered from next_id.
  std::shared_ptr<PersistBackends> make_backends(const config::Config& cfg, std::vector<std::string>& errors) const;
  void publish_servers(PersistBackend& b, model::ServerSetPtr servers);
  static std::vector<HaproxyTableSync::Target> table_targets(const config::Config& cfg);

  ViewSlot<PersistBackends> current_;
  std::unique_ptr<store::StickyTable> table_;
  std::unique_ptr<store::ServerRegistry> registry_;
  std::unique_ptr<HaproxyTableSync> table_sync_;
  bool shared_ = false;  // pins go to Redis too: fixed at start (the shared store is built once)
  // Backend ids by name, stable across reloads so the table's entries stay keyed right; an id of
  // a removed backend is never handed out again (a straggling write cannot land in a new backend).
  std::map<std::string, std::uint16_t, std::less<>> ids_;
  std::uint16_t next_id_ = 0;
  std::mutex rebuild_mutex_;  // one view rebuild or generation swap at a time
  mutable std::mutex totals_mutex_;
  PersistTotals totals_;
  std::atomic<std::uint64_t> reload_dropped_{0};
};

// Folds `from` into `into` (every counter added).
void add_counters(policy::PersistCounters& into, const policy::PersistCounters& from);

}  // namespace sticky::agent
