// This agent's table in front of Redis (see shared_pins.h).
#include "store/redis/shared_pins.h"

namespace sticky::store {

SharedStore::SharedStore(RedisOptions options, StickyTable& table, ServerRegistry& registry,
                         std::vector<PinBackend> backends, int workers)
    : options_(std::make_shared<const RedisOptions>(std::move(options))),
      table_(table),
      registry_(registry),
      backends_(std::make_shared<const std::vector<PinBackend>>(std::move(backends))),
      snapshots_(static_cast<std::size_t>(workers) + 1) {}

SharedStore::OptionsPtr SharedStore::options() const {
  std::lock_guard<std::mutex> lock(options_mutex_);
  return options_;
}

void SharedStore::reconfigure(RedisOptions options) {
  auto next = std::make_shared<const RedisOptions>(std::move(options));
  {
    std::lock_guard<std::mutex> lock(options_mutex_);
    options_ = std::move(next);
  }
}

SharedStore::Backends SharedStore::backends() const {
  std::lock_guard<std::mutex> lock(backends_mutex_);
  return backends_;
}

void SharedStore::set_backends(std::vector<PinBackend> backends) {
  auto next = std::make_shared<const std::vector<PinBackend>>(std::move(backends));
  std::lock_guard<std::mutex> lock(backends_mutex_);
  backends_ = std::move(next);
}

SharedStore::~SharedStore() {
  if (subscriber_) subscriber_->stop();
}

void SharedStore::start_subscriber(struct ev_loop* loop) {
  subscriber_loop_ = loop;
  subscriber_options_ = options();
  subscriber_ = std::make_unique<RedisSubscriber>(loop, *subscriber_options_, subscriber_counters_, [this](const StickyRecord& r) {
    apply(r, static_cast<std::int64_t>(ev_now(subscriber_loop_) * 1000.0));
  });
  subscriber_->start();
}

namespace {

// The subscriber does no lookups and queues no writes: a change of only those settings leaves it
// subscribed (a restart would mean a full warm-up SCAN of Redis for nothing).
bool subscriber_unaffected(RedisOptions a, RedisOptions b) {
  a.lookup_deadline_ms = b.lookup_deadline_ms;
  a.queue = b.queue;
  return a == b;
}

}  // namespace

void SharedStore::follow_options() {
  if (!subscriber_) return;
  OptionsPtr next = options();
  if (next == subscriber_options_) return;
  if (subscriber_unaffected(*subscriber_options_, *next)) {
    subscriber_options_ = std::move(next);
    return;
  }
  subscriber_->stop();
  subscriber_.reset();
  start_subscriber(subscriber_loop_);  // subscribes, then warms up from the new Redis
}

void SharedStore::apply(const StickyRecord& r, std::int64_t now_ms, bool authoritative) {
  if (r.server.empty()) {
    // A tombstone: an operator deleted this pin on another node (admin API); forget it here too.
    const int id = pin_backend_of(*backends(), r.backend);
    if (id < 0 || r.kind < kMinPinKind || r.kind > kMaxPinKind) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++rejected_;
      return;
    }
    // An empty key stands for the whole backend: an operator cleared it everywhere.
    if (r.key.empty()) table_.erase_backend(static_cast<std::uint16_t>(id));
    else table_.erase({static_cast<std::uint16_t>(id), r.kind, r.key});
    std::lock_guard<std::mutex> lock(mutex_);
    ++applied_;
    return;
  }
  StickyKey key;
  StickyEntry e;
  if (!pin_from_record(r, *backends(), registry_, now_ms, key, e)) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++rejected_;  // a backend this agent does not manage, or a kind it does not know
    return;
  }
  table_.apply_remote(key, e, now_ms, authoritative);
  std::lock_guard<std::mutex> lock(mutex_);
  ++applied_;
}

void SharedStore::publish_counters(int index, const RedisCounters& c) {
  std::lock_guard<std::mutex> lock(mutex_);
  snapshots_[static_cast<std::size_t>(index)] = c;
  // The subscriber lives on worker 0's loop: that worker's flush also copies its counters.
  if (index == 0) snapshots_.back() = subscriber_counters_;
}

RedisCounters SharedStore::totals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  RedisCounters t;
  for (const auto& c : snapshots_) add_redis_counters(t, c);
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

SharedPins::SharedPins(SharedStore& shared, struct ev_loop* loop, int index)
    : shared_(shared),
      loop_(loop),
      index_(index),
      options_(shared.options()),
      client_(std::make_unique<RedisClient>(loop, *options_, counters_)) {}

SharedPins::~SharedPins() {
  if (next_client_) next_client_->stop();
  client_->stop();
}

void SharedPins::follow_options() {
  SharedStore::OptionsPtr latest = shared_.options();
  if (latest == (next_client_ ? next_options_ : options_)) return;
  next_options_ = std::move(latest);  // a successor still connecting is replaced by this one
  next_client_ = std::make_unique<RedisClient>(loop_, *next_options_, counters_);
  next_client_->on_connected([this, successor = next_client_.get()] {
    if (next_client_.get() == successor) promote_next_client();  // later reconnects: nothing to do
  });
  next_client_->start();
}

// On the successor's first connection (inside its ready hook): the running client closes (its
// writes in flight fail back into its queue, its lookups in flight end Unavailable) and its
// queue moves to the successor, which becomes the client.
void SharedPins::promote_next_client() {
  std::vector<QueuedWrite> pending = client_->hand_over();
  client_ = std::move(next_client_);
  options_ = std::move(next_options_);
  client_->take_over(std::move(pending));
}

PinAnswer SharedPins::lookup(const PinQuery& q, std::int64_t now_ms) {
  PinAnswer a = local_answer(shared_.table(), q, now_ms, true);
  if (a.ask_shared && !client_->connected()) {
    // Redis is down: the lookup is skipped, not silently (sticky_redis_lookup_unavailable_total),
    // and the client is placed here as any miss would be once a lookup finds nothing.
    ++counters_.lookups;
    ++counters_.lookup_unavailable;
    a.ask_shared = false;
    a.lapsed = false;
  }
  return a;
}

void SharedPins::lookup_shared(const PinQuery& q, PinAnswer answer, LookupDone done) {
  const SharedStore::Backends backends = shared_.backends();
  if (q.key.backend >= backends->size() || (*backends)[q.key.backend].name.empty()) {
    done(answer);
    return;
  }
  client_->lookup((*backends)[q.key.backend].name, q.key.kind, q.key.bytes, 0,
                 [this, answer, done = std::move(done)](LookupResult r) mutable {
                   answer.asked_shared = true;
                   StickyKey key;
                   StickyEntry e;
                   if (r.status == LookupStatus::Found &&
                       pin_from_record(r.record, *shared_.backends(), shared_.registry(), loop_now_ms(), key, e))
                     answer.shared = e;
                   done(answer);
                 });
}

std::optional<StickyEntry> SharedPins::peek(const StickyKey& key, std::int64_t now_ms) const {
  return shared_.table().peek(key, now_ms);
}

RecordResult SharedPins::record(std::span<const PinWrite> writes, std::int64_t now_ms) {
  RecordResult result;
  for (const PinWrite& w : writes) {
    const std::uint32_t version = LocalPins::apply_local(shared_.table(), w, now_ms, w.type != PinWrite::Type::Adopt);
    if (w.type == PinWrite::Type::Adopt) continue;  // it came from Redis
    if (version == 0) {
      ++result.refused;  // the table refused it: nothing to share
      continue;
    }
    StickyRecord& r = scratch_;
    record_from_write(w, version, options_->node_id, now_ms, r);
    // Another agent may have pinned this client a moment earlier (or, for a refresh, after our
    // copy in Redis expired): its pin is in the store first, so it wins and we adopt it.
    auto adopt_winner = [this](const StickyRecord& winner) { shared_.apply(winner, loop_now_ms(), true); };
    switch (w.type) {
      case PinWrite::Type::New: client_->write_new(r, adopt_winner); break;
      case PinWrite::Type::Move: client_->write_move(r, adopt_winner); break;  // a newer move in Redis wins
      case PinWrite::Type::Refresh: client_->refresh_ttl(r, adopt_winner); break;
      case PinWrite::Type::Adopt: break;
    }
  }
  return result;
}

void SharedPins::publish_counters() {
  follow_options();
  if (index_ == 0) shared_.follow_options();  // the subscriber lives on worker 0's loop
  counters_.connected = client_->connected() ? 1 : 0;
  counters_.settings_pending = next_client_ ? 1 : 0;
  shared_.publish_counters(index_, counters_);
}

}  // namespace sticky::store
