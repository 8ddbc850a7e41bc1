// Test support: sticky records with wall-clock times, and RedisOptions for a test Redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "store/redis_options.h"
#include "store/sticky_record.h"

namespace sticky::test {

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline store::StickyRecord record(int i, std::string origin, std::string server = "s1",
                                  std::int64_t ttl_ms = 60000) {
  store::StickyRecord r;
  r.backend = "web";
  r.kind = 5;  // policy::IdentityKind::Source
  r.key = std::string("\x0a\x00", 2) + static_cast<char>((i >> 8) & 0xff) + static_cast<char>(i & 0xff);
  r.server = std::move(server);
  r.created_ms = wall_ms();
  r.last_seen_ms = r.created_ms;
  r.expires_ms = r.created_ms + ttl_ms;
  r.origin = std::move(origin);
  r.version = 1;
  return r;
}

inline store::RedisOptions options_for(int port, std::string node_id) {
  store::RedisOptions o;
  o.cluster = "t";
  o.node_id = std::move(node_id);
  o.server = {"127.0.0.1", port};
  o.lookup_deadline_ms = 200;  // generous: CI machines are shared
  o.backoff = {20, 200};
  return o;
}

}  // namespace sticky::test
