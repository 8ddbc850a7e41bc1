// The persistence engines' link to Redis: every pin is written out and published, a local miss
// may ask Redis within a deadline, and other agents' pins arrive through pub/sub and warm-up.
// One RedisClient per worker loop (no cross-thread hand-off); one subscriber, on worker 0.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ev.h>

#include "agent/persist_handler.h"
#include "agent/persist_runtime.h"
#include "config/config.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"

namespace sticky::agent {

// Maps the config's redis section; false with `error` set when it cannot be used.
bool redis_options_from(const config::RedisSection& section, store::RedisOptions& out, std::string& error);

class SharedStore;

// Lives on one worker loop.
class SharedStoreWorker {
 public:
  SharedStoreWorker(SharedStore& shared, struct ev_loop* loop, int index);
  ~SharedStoreWorker();

  void start() { client_.start(); }
  bool connected() const { return client_.connected(); }
  // Sends one table write (new pin, move, or TTL refresh) and publishes it.
  void write(const PinWrite& w, std::int64_t now_ms);
  // Asks Redis for a pin the local table lacks (or holds past its copy's life in Redis); `done`
  // runs exactly once on this loop. With `authoritative` a found pin replaces the local one.
  void lookup(std::string_view backend, policy::IdentityKind kind, Bytes key, bool authoritative,
              store::LookupFn done);
  int lookup_deadline_ms() const;
  // A local miss that was not looked up because Redis is down: counted like a lookup answered
  // at once as unavailable (without building one).
  void count_unavailable_lookup() {
    ++counters_.lookups;
    ++counters_.lookup_unavailable;
  }
  // Copies this worker's counters to the shared snapshot (called about once a second).
  void publish_counters();

 private:
  SharedStore& shared_;
  struct ev_loop* loop_;
  int index_;
  store::RedisCounters counters_;
  store::RedisClient client_;
  store::StickyRecord scratch_;  // reused: no allocation per write beyond the client's own
};

class SharedStore {
 public:
  SharedStore(store::RedisOptions options, PersistRuntime& runtime, int workers);
  ~SharedStore();

  const store::RedisOptions& options() const { return options_; }
  PersistRuntime& runtime() { return runtime_; }

  // The subscriber (pub/sub + warm-up SCAN) on `loop`; records from it go into the table.
  void start_subscriber(struct ev_loop* loop);
  // Applies one record from another agent (or from warm-up) to the local table; `authoritative`
  // when the store just told us another agent's first pin beat ours.
  void apply(const store::StickyRecord& record, std::int64_t now_ms, bool authoritative = false);

  void publish_counters(int index, const store::RedisCounters& c);
  store::RedisCounters totals() const;
  std::uint64_t applied() const;
  std::uint64_t rejected() const;

 private:
  store::RedisOptions options_;
  PersistRuntime& runtime_;
  std::unique_ptr<store::RedisSubscriber> subscriber_;
  store::RedisCounters subscriber_counters_;
  struct ev_loop* subscriber_loop_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<store::RedisCounters> snapshots_;  // one per worker, plus the subscriber's
  std::uint64_t applied_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace sticky::agent
