// Redis glue for the persistence engines (see shared_store.h).
#include "agent/shared_store.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "base/log.h"

namespace sticky::agent {

namespace {

bool parse_endpoint(const std::string& text, store::RedisEndpoint& out) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = 0;
  auto [p, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port <= 0 || port > 65535) return false;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.port = port;
  return true;
}

std::string default_node_id() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // The pid keeps two agents on one host apart; a restarted agent gets a new id, which is
  // harmless: origin only lets an agent skip its own pub/sub echoes.
  return std::string(host) + "-" + std::to_string(::getpid());
}

}  // namespace

bool redis_options_from(const config::RedisSection& s, store::RedisOptions& o, std::string& error) {
  o.cluster = s.cluster;
  o.node_id = s.node_id.empty() ? default_node_id() : s.node_id;
  if (!s.sentinels.empty()) {
    for (const auto& text : s.sentinels) {
      store::RedisEndpoint e;
      if (!parse_endpoint(text, e)) {
        error = "redis.sentinels: bad address '" + text + "'";
        return false;
      }
      o.sentinels.push_back(e);
    }
    o.sentinel_master = s.master_name;
  } else if (!s.address.empty() && !parse_endpoint(s.address, o.server)) {
    error = "redis.address: bad address '" + s.address + "'";
    return false;
  }
  o.username = s.user;
  o.password = s.password;
  if (!s.password_file.empty()) {
    std::ifstream f(s.password_file);
    std::ostringstream ss;
    ss << f.rdbuf();
    o.password = ss.str();
    while (!o.password.empty() && (o.password.back() == '\n' || o.password.back() == '\r')) o.password.pop_back();
  }
  o.connect_timeout_ms = static_cast<int>(s.connect_timeout.count());
  o.command_timeout_ms = static_cast<int>(s.command_timeout.count());
  o.lookup_deadline_ms = static_cast<int>(s.lookup_deadline.count());
  o.queue.max_items = s.queue_max_entries;
  o.queue.max_bytes = s.queue_max_bytes;
  error = store::validate(o);
  return error.empty();
}

SharedStoreWorker::SharedStoreWorker(SharedStore& shared, struct ev_loop* loop, int index)
    : shared_(shared), loop_(loop), index_(index), client_(loop, shared.options(), counters_) {}

SharedStoreWorker::~SharedStoreWorker() { client_.stop(); }

int SharedStoreWorker::lookup_deadline_ms() const { return shared_.options().lookup_deadline_ms; }

void SharedStoreWorker::write(const PinWrite& w, std::int64_t now_ms) {
  store::StickyRecord& r = scratch_;
  r.backend.assign(w.backend);
  r.kind = static_cast<std::uint8_t>(w.kind);
  r.key.assign(reinterpret_cast<const char*>(w.key.data()), w.key.size());
  r.server.assign(w.server);
  r.created_ms = now_ms;
  r.last_seen_ms = now_ms;
  r.expires_ms = now_ms + w.ttl_ms;
  r.origin = shared_.options().node_id;
  r.version = w.version;
  // Another agent may have pinned this client a moment earlier (or, for a refresh, after our
  // copy in Redis expired): its pin is in the store first, so it wins and we adopt it.
  auto adopt_winner = [this](const store::StickyRecord& winner) {
    shared_.apply(winner, static_cast<std::int64_t>(ev_now(loop_) * 1000.0), /*authoritative=*/true);
  };
  switch (w.type) {
    case PinWrite::Type::New:
      client_.write_new(r, adopt_winner);
      break;
    case PinWrite::Type::Move:
      client_.write_move(r, adopt_winner);  // a newer move already in Redis wins
      break;
    case PinWrite::Type::Refresh:
      client_.refresh_ttl(r, adopt_winner);
      break;
  }
}

void SharedStoreWorker::lookup(std::string_view backend, policy::IdentityKind kind, Bytes key, bool authoritative,
                               store::LookupFn done) {
  // A found pin goes into the local table before `done` runs, so the caller's next decision
  // sees it like any other local pin.
  client_.lookup(backend, static_cast<std::uint8_t>(kind), as_chars(key), 0,
                 [this, authoritative, done = std::move(done)](store::LookupResult r) {
                   if (r.status == store::LookupStatus::Found)
                     shared_.apply(r.record, static_cast<std::int64_t>(ev_now(loop_) * 1000.0), authoritative);
                   done(std::move(r));
                 });
}

void SharedStoreWorker::publish_counters() { shared_.publish_counters(index_, counters_); }

SharedStore::SharedStore(store::RedisOptions options, PersistRuntime& runtime, int workers)
    : options_(std::move(options)), runtime_(runtime), snapshots_(static_cast<std::size_t>(workers) + 1) {}

SharedStore::~SharedStore() {
  if (subscriber_) subscriber_->stop();
}

void SharedStore::start_subscriber(struct ev_loop* loop) {
  subscriber_loop_ = loop;
  subscriber_ = std::make_unique<store::RedisSubscriber>(
      loop, options_, subscriber_counters_, [this](const store::StickyRecord& r) {
        apply(r, static_cast<std::int64_t>(ev_now(subscriber_loop_) * 1000.0));
      });
  subscriber_->start();
}

void SharedStore::apply(const store::StickyRecord& r, std::int64_t now_ms, bool authoritative) {
  const int be = runtime_.find(r.backend);
  if (be < 0 || r.kind < static_cast<std::uint8_t>(policy::IdentityKind::AgentCookie) ||
      r.kind > static_cast<std::uint8_t>(policy::IdentityKind::Source)) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++rejected_;  // a backend this agent does not manage, or a kind it does not know
    return;
  }
  if (r.server.empty()) {
    // A tombstone: an operator deleted this pin on another node (admin API); forget it here too.
    const auto& engine = *runtime_.backend(be).engine;
    runtime_.table().erase({engine.options().id, r.kind, r.key});
    std::lock_guard<std::mutex> lock(mutex_);
    ++applied_;
    return;
  }
  policy::RemotePin pin;
  pin.kind = static_cast<policy::IdentityKind>(r.kind);
  pin.key = as_bytes(r.key);
  pin.server = r.server;
  pin.created_ms = r.created_ms;
  pin.last_seen_ms = r.last_seen_ms;
  pin.expires_ms = r.expires_ms;
  pin.version = static_cast<std::uint32_t>(r.version);
  runtime_.backend(be).engine->adopt(pin, now_ms, authoritative);
  std::lock_guard<std::mutex> lock(mutex_);
  ++applied_;
}

void SharedStore::publish_counters(int index, const store::RedisCounters& c) {
  std::lock_guard<std::mutex> lock(mutex_);
  snapshots_[static_cast<std::size_t>(index)] = c;
  // The subscriber lives on worker 0's loop: that worker's flush also copies its counters.
  if (index == 0) snapshots_.back() = subscriber_counters_;
}

store::RedisCounters SharedStore::totals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  store::RedisCounters t;
  for (const auto& c : snapshots_) add_fields(t, c, store::kRedisCounterFields);
  return t;
}

std::uint64_t SharedStore::applied() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return applied_;
}

std::uint64_t SharedStore::rejected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rejected_;
}

}  // namespace sticky::agent
