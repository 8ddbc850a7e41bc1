// Polls the poller's version (one atomic load) every 50 ms; rebuilds only on change.
#include "agent/health_follower.h"

namespace sticky::agent {

HealthFollower::HealthFollower(health::HealthPoller& poller, std::vector<Consumer> consumers)
    : poller_(poller), consumers_(std::move(consumers)) {}

HealthFollower::~HealthFollower() { stop(); }

void HealthFollower::deliver() {
  const std::uint64_t v = poller_.version();
  if (v == seen_) return;
  seen_ = v;
  if (const health::ServerViewPtr view = poller_.view()) {
    for (const auto& c : consumers_) c(*view);
  }
}

void HealthFollower::start() {
  deliver();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(50));
      if (stopping_) break;
      lock.unlock();
      deliver();
      lock.lock();
    }
  });
}

void HealthFollower::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sticky::agent
