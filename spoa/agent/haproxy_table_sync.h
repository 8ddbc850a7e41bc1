// Keeps HAProxy's own stick tables (the fast path, haproxy-conf/akamai/haproxy-fast.cfg) in step
// with server health: when a server stops taking its pinned clients (DOWN, MAINT), its pins are
// cleared there through the runtime API, so HAProxy asks the agent where those clients go and
// every node moves them the same way, instead of its load-balancing algorithm picking at random.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "health/runtime_api.h"
#include "health/server_view.h"

namespace sticky::agent {

class HaproxyTableSync {
 public:
  struct Target {
    std::string backend;  // HAProxy backend whose servers are followed
    std::string table;    // the stick table holding its pins (usually the backend itself)
  };
  // Sends one runtime API command; the real one is health::runtime_api_query on HAProxy's socket.
  using Send = std::function<health::RuntimeApiReply(const std::string& command)>;

  HaproxyTableSync(std::vector<Target> targets, Send send);

  // A HealthFollower consumer: clears the pins of every server of a followed backend that no
  // longer accepts pinned clients and did before (or at the first view: pins may predate us).
  void follow(const health::ServerView& view);

  // A reload's backends (any thread): followed from the next view on.
  void set_targets(std::vector<Target> targets);
  bool empty() const;
  std::uint64_t clears() const { return clears_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

  // "clear table <table> data.server_id eq <id>": drops exactly that server's pins.
  static std::string clear_command(std::string_view table, std::uint32_t server_id);

 private:
  mutable std::mutex mutex_;  // follow() on the follower thread, set_targets() on a reload
  std::vector<Target> targets_;
  Send send_;
  // Per backend, the servers (by name) that kept their pinned clients at the previous view.
  std::map<std::string, std::map<std::string, bool>, std::less<>> accepting_;
  std::atomic<std::uint64_t> clears_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace sticky::agent
