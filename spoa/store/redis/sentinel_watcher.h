// Keeps a subscription to `+switch-master` on one of the Sentinels, so a failover is followed the moment
// Sentinel announces it -- without it a client stays on a demoted-but-running master until Sentinel
// reconfigures that node (seconds later), and writes made meanwhile are lost.
#pragma once

#include <ev.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string_view>

#include "store/redis/redis_link.h"
#include "store/redis_counters.h"
#include "store/redis_options.h"

namespace sticky::store {

// Parses a `+switch-master` payload "<name> <old-ip> <old-port> <new-ip> <new-port>"; returns the new
// master when `name` matches, nullopt for another master or a malformed payload.
std::optional<RedisEndpoint> parse_switch_master(std::string_view payload, std::string_view master_name);

class SentinelWatcher {
 public:
  using SwitchFn = std::function<void(const RedisEndpoint& new_master)>;

  // `options` must outlive the watcher.
  SentinelWatcher(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters, SwitchFn on_switch);
  ~SentinelWatcher();
  SentinelWatcher(const SentinelWatcher&) = delete;
  SentinelWatcher& operator=(const SentinelWatcher&) = delete;

  void start();
  void stop();
  bool watching() const { return watching_; }

 private:
  void connect_next();
  void lost();
  static void on_retry(struct ev_loop* loop, ev_timer* w, int revents);

  struct ev_loop* loop_;
  const RedisOptions& options_;
  RedisCounters& counters_;
  SwitchFn on_switch_;
  RedisLink link_;
  ev_timer retry_timer_{};
  std::size_t next_ = 0;
  std::uint32_t attempt_ = 0;
  bool running_ = false;
  bool watching_ = false;
  std::minstd_rand rng_;
};

}  // namespace sticky::store
