// Settings of the Redis-shared sticky store (one value for every client and the subscriber of a process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/backoff.h"
#include "store/outage_queue.h"

namespace sticky::store {

struct RedisEndpoint {
  std::string host;
  int port = 0;
  bool operator==(const RedisEndpoint&) const = default;
};

struct RedisOptions {
  std::string cluster = "sticky";  // key prefix and channel name; see valid_cluster_name()
  std::string node_id;             // this agent's origin id; its own pub/sub messages are skipped
  RedisEndpoint server{"127.0.0.1", 6379};  // used when `sentinels` is empty
  std::vector<RedisEndpoint> sentinels;     // when set, the master is discovered through them
  std::string sentinel_master = "mymaster";
  std::string sentinel_username, sentinel_password;
  std::string username, password;  // ACL user (empty username: legacy AUTH <password>)
  int connect_timeout_ms = 300;
  int command_timeout_ms = 1000;   // deadline of writes and internal commands
  int lookup_deadline_ms = 5;      // used when lookup() is given deadline_ms <= 0
  int stall_timeout_ms = 1000;     // no reply for this long with commands outstanding: drop and reconnect
  BackoffPolicy backoff{50, 5000};
  OutageQueueLimits queue{10000, 4u << 20};
  std::size_t warmup_batch = 500;        // SCAN COUNT
  std::size_t warmup_max_keys = 2000000;  // a warm-up pass stops after this many keys
  // A reload compares the settings whole (passwords included, as read from their files): any
  // difference reconnects every client with the new ones (SharedStore::reconfigure).
  bool operator==(const RedisOptions&) const = default;
};

// "host:port", as logs and the admin API show an endpoint.
std::string endpoint_text(const RedisEndpoint& e);

// Empty string when valid, else the first problem ("redis.cluster: ...").
std::string validate(const RedisOptions& options);

}  // namespace sticky::store
