// Per-worker Redis client of the shared sticky store: writes pins (SET NX/SET + PUBLISH), refreshes TTLs,
// looks up misses with a deadline, and queues writes through outages. Single-threaded: one per worker loop.
//
// Key schema and value format: store/redis_key.h and store/entry_codec.h. Every write is published on
// `<cluster>:sticky` so the other agents' subscribers apply it. Redis is never on the critical path of
// correctness: a lookup while Redis is known to be down completes at once with Unavailable, and writes
// wait in a bounded queue (oldest dropped first, counted) until a connection is back.
#pragma once

#include <ev.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/entry_codec.h"
#include "store/outage_queue.h"
#include "store/redis/managed_link.h"
#include "store/redis_counters.h"
#include "store/redis_options.h"
#include "store/sticky_record.h"

struct redisReply;

namespace sticky::store {

enum class LookupStatus : std::uint8_t {
  Found = 0,        // `record` holds the entry; expires_ms is recomputed from Redis's PTTL
  NotFound = 1,
  Timeout = 2,      // the deadline passed first
  Unavailable = 3,  // no usable connection (answered at once) or the connection died meanwhile
  Error = 4,        // Redis answered with an error (e.g. NOPERM)
  Malformed = 5,    // the stored value did not decode or did not match the key (counted)
};
std::string_view lookup_status_name(LookupStatus s);

struct LookupResult {
  LookupStatus status = LookupStatus::NotFound;
  StickyRecord record;
};
using LookupFn = std::function<void(LookupResult)>;

class RedisClient {
 public:
  RedisClient(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();
  void stop();  // closes the connection; queued writes are dropped and counted

  // For a client replacing this one (new settings): closes the connection, so writes in flight
  // fail back into the queue and lookups in flight end Unavailable, then gives up every queued
  // write, oldest first. take_over() queues them in the successor, sent once it is connected.
  std::vector<QueuedWrite> hand_over();
  void take_over(std::vector<QueuedWrite> writes);
  // Runs each time a connection becomes usable, after the queue's flush began (a successor
  // waiting to replace a client learns it can). It may destroy other clients, not this one.
  void on_connected(std::function<void()> fn) { on_connected_ = std::move(fn); }

  // New pin: SET NX PX (TTL = expires_ms - now) then PUBLISH. When another node already holds the key,
  // `on_conflict` receives the stored record (only if its server or origin differs from ours) so the
  // caller adopts it. Queued writes keep their callback, so it can run after an outage ends.
  void write_new(const StickyRecord& record, ConflictFn on_conflict);
  // Server changed: SET PX only if Redis holds no version >= record.version (move_if_newer.lua, by
  // EVALSHA; EVAL once after NOSCRIPT), then PUBLISH. The caller sets record.version = old version + 1.
  // A move retried after a lost reply thus never undoes a newer move made meanwhile: `on_conflict`
  // receives the stored record instead (not for our own earlier attempt that landed).
  void write_move(const StickyRecord& record, ConflictFn on_conflict = nullptr);
  // PEXPIRE to record.expires_ms. If the key is gone from Redis (expired, or Redis lost it) the record
  // is written again with SET NX. The caller throttles (e.g. only when under half the TTL remains).
  // `on_conflict` as for write_new, for when the key was gone and the re-creating SET NX loses.
  void refresh_ttl(const StickyRecord& record, ConflictFn on_conflict = nullptr);
  // GET + PTTL in one round trip. `done` runs exactly once; synchronously (before lookup returns) when
  // Redis is known down. deadline_ms <= 0 uses options.lookup_deadline_ms.
  void lookup(std::string_view backend, std::uint8_t kind, std::string_view key, int deadline_ms, LookupFn done);

  bool connected() const { return link_.ready(); }
  const RedisEndpoint& endpoint() const { return link_.link().endpoint(); }
  std::size_t queue_depth() const { return queue_.size(); }
  const OutageQueue& queue() const { return queue_; }
  const std::string& last_error() const { return link_.last_error(); }

 private:
  void submit(QueuedWrite w);
  void send_write(QueuedWrite w);
  void send_set(QueuedWrite w, std::int64_t ttl_ms);
  void send_refresh(QueuedWrite w, std::int64_t ttl_ms);
  void send_move(QueuedWrite w, std::int64_t ttl_ms, bool full_script);
  void handle_move_refused(QueuedWrite w, const redisReply* reply);
  void fetch_winner(QueuedWrite w);
  void publish(const StickyRecord& record);
  void handle_write_error(QueuedWrite w, const redisReply* reply);
  void enqueue(QueuedWrite w);
  void flush_queue();
  std::string_view encode_value(const StickyRecord& record);
  std::string_view key_of(const StickyRecord& record);

  RedisOptions options_;
  RedisCounters& counters_;
  OutageQueue queue_;
  ManagedLink link_;
  std::string channel_;
  std::function<void()> on_connected_;
  std::string key_buf_;  // reused per command; hiredis copies argv when formatting
  std::array<std::uint8_t, kMaxEncodedSize> value_buf_{};
};

}  // namespace sticky::store
