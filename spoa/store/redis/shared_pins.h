// The pins shared with the other agents through Redis: this agent's table in front, Redis behind.
// Every pin written here is written out and published; a local miss (or a pin past its life in
// Redis) may ask Redis within a deadline, and the answer is handed to the engine as an input;
// other agents' pins arrive through pub/sub and warm-up and go into the table.
// One SharedPins per worker loop (its own RedisClient, no cross-thread hand-off); one SharedStore
// per process, with the subscriber on one loop.
// New Redis settings (a reload) are published here as a new options object; each loop notices it at
// its once-a-second counter flush and starts a client with them beside the running one, which
// keeps serving until the new one is connected and takes its queued writes (make before break:
// no gap in lookups, and new settings that never connect leave the old connection in use). The
// subscriber's loop restarts the subscriber. The request path never looks.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ev.h>

#include "store/pin_store.h"
#include "store/record_pins.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"

namespace sticky::store {

class SharedStore {
 public:
  // `backends`: index = backend id, as the engines key their pins.
  SharedStore(RedisOptions options, StickyTable& table, ServerRegistry& registry, std::vector<PinBackend> backends,
              int workers);
  ~SharedStore();

  using OptionsPtr = std::shared_ptr<const RedisOptions>;
  // The settings now in force (a reload may replace them: keep the pointer, not a reference).
  // A new pointer means new settings: a loop compares it with the one its client was built with.
  OptionsPtr options() const;
  // Every client reconnects with `options` within about a second (the flush period); pins and
  // queued writes are kept. Any thread.
  void reconfigure(RedisOptions options);
  StickyTable& table() { return table_; }
  ServerRegistry& registry() { return registry_; }
  // Index = backend id. A reload replaces the list (set_backends); a caller keeps the one it took.
  using Backends = std::shared_ptr<const std::vector<PinBackend>>;
  Backends backends() const;
  void set_backends(std::vector<PinBackend> backends);

  // The subscriber (pub/sub + warm-up SCAN) on `loop`; records from it go into the table.
  void start_subscriber(struct ev_loop* loop);
  // On the subscriber's loop: a new subscriber if the settings changed since it started.
  void follow_options();
  // Merges one record from another agent into the table; `authoritative` when Redis just told us
  // another agent's first pin beat ours (a lost SET NX: the first writer wins).
  void apply(const StickyRecord& record, std::int64_t now_ms, bool authoritative = false);

  int workers() const { return static_cast<int>(snapshots_.size()) - 1; }
  void publish_counters(int index, const RedisCounters& c);
  RedisCounters totals() const;
  std::uint64_t applied() const;
  std::uint64_t rejected() const;

 private:
  mutable std::mutex options_mutex_;
  OptionsPtr options_;
  OptionsPtr subscriber_options_;  // subscriber's loop only: what the subscriber follows
  StickyTable& table_;
  ServerRegistry& registry_;
  mutable std::mutex backends_mutex_;
  Backends backends_;
  std::unique_ptr<RedisSubscriber> subscriber_;
  RedisCounters subscriber_counters_;
  struct ev_loop* subscriber_loop_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<RedisCounters> snapshots_;  // one per worker, plus the subscriber's
  std::uint64_t applied_ = 0;
  std::uint64_t rejected_ = 0;
};

// Lives on one worker loop.
class SharedPins final : public PinStore {
 public:
  SharedPins(SharedStore& shared, struct ev_loop* loop, int index);
  ~SharedPins() override;

  void start() { client_->start(); }
  bool connected() const { return client_->connected(); }

  PinAnswer lookup(const PinQuery& q, std::int64_t now_ms) override;
  void lookup_shared(const PinQuery& q, PinAnswer answer, LookupDone done) override;
  std::optional<StickyEntry> peek(const StickyKey& key, std::int64_t now_ms) const override;
  RecordResult record(std::span<const PinWrite> writes, std::int64_t now_ms) override;

  // Copies this worker's counters to the shared snapshot (called about once a second), after
  // taking new settings if a reload published some.
  void publish_counters();

 private:
  void follow_options();
  void promote_next_client();

  std::int64_t loop_now_ms() const { return static_cast<std::int64_t>(ev_now(loop_) * 1000.0); }

  SharedStore& shared_;
  struct ev_loop* loop_;
  int index_;
  RedisCounters counters_;
  SharedStore::OptionsPtr options_;  // what client_ was built with
  std::unique_ptr<RedisClient> client_;
  // Built with newer settings, connecting; replaces client_ once connected.
  SharedStore::OptionsPtr next_options_;
  std::unique_ptr<RedisClient> next_client_;
  StickyRecord scratch_;  // reused: no allocation per write beyond the client's own
};

}  // namespace sticky::store
