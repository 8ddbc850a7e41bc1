// Background thread that reads HAProxy's `show servers state` and publishes changed ServerViews.
#include "health/health_poller.h"

#include "health/runtime_api.h"

namespace sticky::health {
namespace {

bool same_servers(const std::vector<model::Server>& a, const std::vector<model::Server>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].weight != b[i].weight || a[i].state != b[i].state ||
        a[i].haproxy_id != b[i].haproxy_id)
      return false;
  return true;
}

}  // namespace

HealthPoller::HealthPoller(HealthPollerOptions options) : options_(std::move(options)) {
  publish(nullptr);
}

HealthPoller::~HealthPoller() { stop(); }

void HealthPoller::start() {
  if (options_.runtime_api.empty() || thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void HealthPoller::stop() {
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthPoller::run() {
  std::unique_lock<std::mutex> lock(run_mutex_);
  while (!stopping_) {
    lock.unlock();
    poll_once();
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
  }
}

void HealthPoller::poll_once() {
  if (options_.runtime_api.empty()) return;
  {
    std::lock_guard<std::mutex> lock(view_mutex_);
    ++counters_.polls;
  }
  RuntimeApiReply reply = runtime_api_query(options_.runtime_api, "show servers state", options_.api_timeout);
  if (!reply.ok) {
    {
      std::lock_guard<std::mutex> lock(view_mutex_);
      ++counters_.api_failures;
    }
    note_source(Source::Unreachable, reply.error);
    // Keep HAProxy's last answer: its socket also vanishes during a reload, and falling back to
    // the configured list (every server up) would undo maintenance and drain for that moment.
    // Static servers stand in only until HAProxy has answered once.
    bool never_live;
    {
      std::lock_guard<std::mutex> lock(view_mutex_);
      never_live = counters_.on_static_fallback;
    }
    if (never_live) publish(nullptr);
    return;
  }
  ServersStateResult parsed = parse_servers_state(reply.text);
  if (!parsed.ok()) {
    {
      std::lock_guard<std::mutex> lock(view_mutex_);
      ++counters_.parse_errors;
      counters_.last_parse_error = parsed.error;
    }
    // A reply we cannot read says nothing about the servers: keep the previous view.
    note_source(Source::BadReply, std::string(state_parse_error_name(parsed.error)) + " at line " +
                                      std::to_string(parsed.line) + ": " + parsed.detail);
    return;
  }
  note_source(Source::Live, {});
  publish(&parsed.backends);
}

void HealthPoller::set_static_servers(std::vector<model::ServerSet> servers) {
  bool fallback;
  {
    std::lock_guard<std::mutex> lock(view_mutex_);
    options_.static_servers = std::move(servers);
    fallback = counters_.on_static_fallback;
  }
  if (fallback) publish(nullptr);
}

void HealthPoller::publish(const std::vector<BackendServers>* live) {
  std::lock_guard<std::mutex> lock(view_mutex_);
  std::uint64_t next_version = (view_ ? view_->version : 0) + 1;
  auto next = std::make_shared<ServerView>();
  next->version = next_version;
  bool changed = !view_;

  auto place = [&](const std::string& backend, const std::vector<model::Server>& servers) {
    if (view_) {
      const model::ServerSetPtr& old = view_->find(backend);
      if (old && same_servers(old->servers, servers)) {
        next->backends[backend] = old;
        return;
      }
    }
    auto set = std::make_shared<model::ServerSet>();
    set->backend = backend;
    set->servers = servers;
    set->version = next_version;
    next->backends[backend] = std::move(set);
    changed = true;
  };

  // Static first, then HAProxy's view over it: a backend HAProxy does not report keeps its
  // configured servers rather than vanishing.
  for (const model::ServerSet& s : options_.static_servers) {
    if (live) {
      bool reported = false;
      for (const BackendServers& b : *live) reported = reported || b.backend == s.backend;
      if (reported) continue;
    }
    place(s.backend, s.servers);
  }
  if (live)
    for (const BackendServers& b : *live) place(b.backend, b.servers);
  if (view_ && next->backends.size() != view_->backends.size()) changed = true;

  counters_.on_static_fallback = live == nullptr;
  if (!changed) {
    if (live) ++counters_.unchanged_polls;
    return;
  }
  if (view_) ++counters_.published;
  view_ = std::move(next);
  version_.store(next_version, std::memory_order_release);
}

void HealthPoller::note_source(Source s, std::string_view why) {
  Source previous;
  {
    std::lock_guard<std::mutex> lock(view_mutex_);
    previous = source_;
    source_ = s;
  }
  if (s == previous || !options_.log) return;
  switch (s) {
    case Source::Live:
      options_.log("health: reading server state from HAProxy at " + options_.runtime_api);
      break;
    case Source::Unreachable:
      options_.log("health: HAProxy runtime API unreachable (" + std::string(why) +
                   "); using the configured static servers");
      break;
    case Source::BadReply:
      options_.log("health: unreadable `show servers state` reply (" + std::string(why) +
                   "); keeping the last known servers");
      break;
    case Source::Static:
      break;
  }
}

ServerViewPtr HealthPoller::view() const {
  std::lock_guard<std::mutex> lock(view_mutex_);
  return view_;
}

HealthCounters HealthPoller::counters() const {
  std::lock_guard<std::mutex> lock(view_mutex_);
  return counters_;
}

}  // namespace sticky::health
