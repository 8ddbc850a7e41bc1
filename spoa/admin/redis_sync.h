// Blocking Redis commands for the admin API (never for a worker loop): a pin deleted by an operator
// is deleted in Redis and a tombstone (the record with an empty server) is published, so every
// other agent forgets it too (a backend cleared likewise, with one tombstone for all its pins);
// and a pin's stored record (its origin node) can be read. One short
// connection per call, bounded by the configured connect and command timeouts; the Sentinels are
// asked for the master when they are configured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/redis_options.h"
#include "store/sticky_record.h"

namespace sticky::admin {

struct RedisSyncResult {
  bool ok = false;
  std::string error;
  long long deleted = 0;    // DEL's answer
  long long receivers = 0;  // PUBLISH's answer: agents subscribed (this one included)
  std::optional<store::StickyRecord> record;  // GET: the stored record, if any
};

class RedisSync {
 public:
  explicit RedisSync(store::RedisOptions options) : options_(std::move(options)) {}
  // DEL the key, then PUBLISH a tombstone from this node.
  RedisSyncResult erase(std::string_view backend, std::uint8_t kind, std::string_view key, std::int64_t now_ms);
  RedisSyncResult get(std::string_view backend, std::uint8_t kind, std::string_view key);
  // Every record of the backend: SCAN + UNLINK in batches, then one backend tombstone (the record
  // with an empty server and an empty key) published, so every agent empties its own table for it.
  // `deleted` counts the keys removed. Stops with an error past `max_ms` (the keys deleted so far
  // stay deleted; no tombstone is sent, so the caller can call again).
  RedisSyncResult clear_backend(std::string_view backend, std::int64_t now_ms, std::int64_t max_ms = 20000);

 private:
  store::RedisOptions options_;
};

}  // namespace sticky::admin
