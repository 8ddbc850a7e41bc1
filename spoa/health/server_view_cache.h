// Per-worker-thread cache of the poller's current ServerView: one atomic load per request, and the
// poller's mutex only when the view actually changed.
#pragma once

#include <string_view>

#include "health/health_poller.h"
#include "health/server_view.h"

namespace sticky::health {

class ServerViewCache {
 public:
  explicit ServerViewCache(const HealthPoller& poller) : poller_(poller) {}

  // The latest view; the reference stays valid until the next call to current() or find().
  const ServerView& current() {
    if (!view_ || poller_.version() != view_->version) view_ = poller_.view();
    return *view_;
  }

  // The backend's servers (null if unknown); same validity as current().
  const model::ServerSetPtr& find(std::string_view backend) { return current().find(backend); }

  // Version of the view held now (0 before the first current()).
  std::uint64_t version() const { return view_ ? view_->version : 0; }

 private:
  const HealthPoller& poller_;
  ServerViewPtr view_;
};

}  // namespace sticky::health
