// Hands a value built on one thread (the health poller) to every worker: workers check an
// atomic version per request and take the lock only when it changed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace sticky::agent {

template <typename T>
class ViewSlot {
 public:
  void publish(std::shared_ptr<const T> value) {
    std::lock_guard<std::mutex> lock(mutex_);
    value_ = std::move(value);
    version_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const T> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
  }
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
  std::atomic<std::uint64_t> version_{0};
};

// One worker's copy: refreshed only when the slot's version moved.
template <typename T>
class CachedView {
 public:
  const T* get(const ViewSlot<T>& slot) {
    const std::uint64_t v = slot.version();
    if (v != version_) {
      value_ = slot.get();
      version_ = v;
    }
    return value_.get();
  }

 private:
  std::shared_ptr<const T> value_;
  std::uint64_t version_ = 0;
};

}  // namespace sticky::agent
