// Carries HAProxy's server view from the health poller to the engines: when the poller publishes
// a new view, each consumer rebuilds what it derives from it (Maglev tables, serial maps), once,
// off the request path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "health/health_poller.h"

namespace sticky::agent {

class HealthFollower {
 public:
  using Consumer = std::function<void(const health::ServerView&)>;

  HealthFollower(health::HealthPoller& poller, std::vector<Consumer> consumers);
  ~HealthFollower();

  // Delivers the current view at once (so workers start with one), then follows changes.
  void start();
  void stop();

 private:
  void deliver();
  health::HealthPoller& poller_;
  std::vector<Consumer> consumers_;
  std::uint64_t seen_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sticky::agent
