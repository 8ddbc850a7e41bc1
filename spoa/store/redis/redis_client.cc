// Per-worker Redis client: pin writes, TTL refresh, deadline lookups, outage queue.
#include "store/redis/redis_client.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>

#include "store/redis/move_script.h"
#include "store/redis_key.h"

namespace sticky::store {

std::string_view lookup_status_name(LookupStatus s) {
  switch (s) {
    case LookupStatus::Found: return "found";
    case LookupStatus::NotFound: return "not found";
    case LookupStatus::Timeout: return "timeout";
    case LookupStatus::Unavailable: return "unavailable";
    case LookupStatus::Error: return "error";
    case LookupStatus::Malformed: return "malformed";
  }
  return "unknown";
}

namespace {

// Record times are Unix epoch ms shared between nodes, so the wall clock (not the loop's monotonic one).
std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Decimal {
  char buf[24];
  std::string_view view;
  explicit Decimal(std::int64_t v) {
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    view = std::string_view(buf, static_cast<std::size_t>(res.ptr - buf));
  }
};

// Errors meaning "this server cannot take writes now": after a failover or during a restart.
bool is_failover_error(std::string_view msg) {
  return msg.starts_with("READONLY") || msg.starts_with("LOADING") || msg.starts_with("MASTERDOWN");
}

}  // namespace

RedisClient::RedisClient(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters)
    : options_(options),
      counters_(counters),
      queue_(options.queue),
      link_(loop, options_, counters, ManagedLink::Hooks{[this] {
                                                           flush_queue();
                                                           if (on_connected_) on_connected_();
                                                         },
                                                         nullptr}),
      channel_(sticky_channel(options.cluster)) {}

RedisClient::~RedisClient() { stop(); }

void RedisClient::start() { link_.start(); }

void RedisClient::stop() {
  link_.stop();  // in-flight writes fail with Disconnected and land in the queue...
  counters_.dropped += queue_.clear();  // ...which is then discarded, counted
  counters_.queue_depth = 0;
}

std::vector<QueuedWrite> RedisClient::hand_over() {
  link_.stop();
  std::vector<QueuedWrite> out;
  out.reserve(queue_.size());
  while (std::optional<QueuedWrite> w = queue_.pop_front()) out.push_back(std::move(*w));
  counters_.queue_depth = 0;
  return out;
}

void RedisClient::take_over(std::vector<QueuedWrite> writes) {
  for (QueuedWrite& w : writes) counters_.dropped += queue_.push(std::move(w));
  counters_.queue_depth = queue_.size();
  if (link_.ready()) flush_queue();
}

void RedisClient::write_new(const StickyRecord& record, ConflictFn on_conflict) {
  submit(QueuedWrite{WriteKind::New, record, std::move(on_conflict)});
}
void RedisClient::write_move(const StickyRecord& record, ConflictFn on_conflict) {
  submit(QueuedWrite{WriteKind::Move, record, std::move(on_conflict)});
}
void RedisClient::refresh_ttl(const StickyRecord& record, ConflictFn on_conflict) {
  submit(QueuedWrite{WriteKind::Refresh, record, std::move(on_conflict)});
}

void RedisClient::submit(QueuedWrite w) {
  ++counters_.writes;
  if (link_.ready()) send_write(std::move(w));
  else enqueue(std::move(w));
}

std::string_view RedisClient::encode_value(const StickyRecord& record) {
  EncodeResult e = encode(record, value_buf_);
  if (e.status != CodecStatus::Ok) return {};
  return as_chars(Bytes(value_buf_.data(), e.size));
}

std::string_view RedisClient::key_of(const StickyRecord& record) {
  make_redis_key(key_buf_, options_.cluster, record.backend, record.kind, record.key);
  return key_buf_;
}

void RedisClient::send_write(QueuedWrite w) {
  std::int64_t ttl = w.record.expires_ms - wall_now_ms();
  if (ttl <= 0) {  // nothing worth storing; the entry is already dead everywhere
    ++counters_.expired_writes;
    return;
  }
  if (w.kind == WriteKind::Refresh) return send_refresh(std::move(w), ttl);
  if (w.kind == WriteKind::Move) return send_move(std::move(w), ttl, false);
  send_set(std::move(w), ttl);
}

void RedisClient::send_set(QueuedWrite w, std::int64_t ttl_ms) {
  std::string_view value = encode_value(w.record);
  if (value.empty()) {  // a field over its limit: the caller's bug, reported as a failed write
    ++counters_.write_failures;
    return;
  }
  Decimal ttl(ttl_ms);
  std::string_view key = key_of(w.record);
  bool nx = w.kind == WriteKind::New;
  std::string_view argv_nx[] = {"SET", key, value, "PX", ttl.view, "NX"};
  std::span<const std::string_view> argv(argv_nx, nx ? 6 : 5);
  link_.link().command(argv, options_.command_timeout_ms, [this, w = std::move(w)](ReplyOutcome o,
                                                                                    const redisReply* r) mutable {
    if (o != ReplyOutcome::Reply) return enqueue(std::move(w));
    if (r->type == REDIS_REPLY_ERROR) return handle_write_error(std::move(w), r);
    if (r->type == REDIS_REPLY_NIL) return fetch_winner(std::move(w));  // NX lost: someone pinned first
    publish(w.record);
    if (!queue_.empty()) flush_queue();  // a write went through: drain what earlier failures left
  });
}

void RedisClient::send_refresh(QueuedWrite w, std::int64_t ttl_ms) {
  Decimal ttl(ttl_ms);
  std::string_view key = key_of(w.record);  // before `w` is moved into the callback
  link_.link().command({"PEXPIRE", key, ttl.view}, options_.command_timeout_ms,
                       [this, w = std::move(w)](ReplyOutcome o, const redisReply* r) mutable {
                         if (o != ReplyOutcome::Reply) return enqueue(std::move(w));
                         if (r->type == REDIS_REPLY_ERROR) return handle_write_error(std::move(w), r);
                         if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
                           // Gone from Redis (a restart without persistence, eviction): put it back.
                           ++counters_.recreated;
                           w.kind = WriteKind::New;
                           return send_write(std::move(w));
                         }
                         if (!queue_.empty()) flush_queue();
                       });
}

void RedisClient::send_move(QueuedWrite w, std::int64_t ttl_ms, bool full_script) {
  std::string_view value = encode_value(w.record);
  if (value.empty()) {
    ++counters_.write_failures;
    return;
  }
  Decimal ttl(ttl_ms), version(static_cast<std::int64_t>(w.record.version));
  std::string_view key = key_of(w.record);
  const std::string_view argv[] = {full_script ? "EVAL" : "EVALSHA", full_script ? kMoveScript : kMoveScriptSha1,
                                   "1", key, value, ttl.view, version.view};
  link_.link().command(argv, options_.command_timeout_ms, [this, w = std::move(w), ttl_ms, full_script](
                                                               ReplyOutcome o, const redisReply* r) mutable {
    if (o != ReplyOutcome::Reply) return enqueue(std::move(w));  // re-sent later: the script keeps that safe
    if (r->type == REDIS_REPLY_ERROR) {
      // A Redis that has not seen the script yet (restarted, failed over, SCRIPT FLUSH): send it whole.
      if (!full_script && std::string_view(r->str, r->len).starts_with("NOSCRIPT"))
        return send_move(std::move(w), ttl_ms, true);
      return handle_write_error(std::move(w), r);
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
      publish(w.record);
      if (!queue_.empty()) flush_queue();
      return;
    }
    handle_move_refused(std::move(w), r);
  });
}

// The script found a version >= ours in Redis: {0, stored record, PTTL}.
void RedisClient::handle_move_refused(QueuedWrite w, const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING)
    return handle_write_error(std::move(w), r);
  DecodeResult d = decode(as_bytes(std::string_view(r->element[1]->str, r->element[1]->len)));
  if (d.status != CodecStatus::Ok) {  // (the script overwrites what it cannot read: not reached)
    ++counters_.malformed;
    return;
  }
  StickyRecord& stored = d.record;
  if (stored.version == w.record.version && stored.server == w.record.server && stored.origin == w.record.origin)
    return publish(w.record);  // our own earlier attempt landed (its reply was lost): publish it now
  if (r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer >= 0)
    stored.expires_ms = wall_now_ms() + r->element[2]->integer;  // Redis's TTL is the truth (see fetch_winner)
  ++counters_.moves_superseded;
  if (w.on_conflict) w.on_conflict(stored);
}

namespace {
// The lost SET NX's write while GET and PTTL (pipelined) fetch the winner.
struct WinnerFetch {
  QueuedWrite write;
  StickyRecord winner;
  bool have_winner = false;
  bool settled = false;  // the GET reply already decided (retry, error, malformed)
};
}  // namespace

void RedisClient::fetch_winner(QueuedWrite w) {
  std::string_view key = key_of(w.record);  // hiredis copies argv: valid for both commands below
  auto st = std::make_shared<WinnerFetch>();
  st->write = std::move(w);
  link_.link().command({"GET", key}, options_.command_timeout_ms, [this, st](ReplyOutcome o, const redisReply* r) {
    if (o != ReplyOutcome::Reply) {
      st->settled = true;
      return enqueue(std::move(st->write));
    }
    if (r->type == REDIS_REPLY_NIL) {  // expired meanwhile: ours can go in now
      st->settled = true;
      return send_write(std::move(st->write));
    }
    if (r->type != REDIS_REPLY_STRING) {
      st->settled = true;
      return handle_write_error(std::move(st->write), r);
    }
    DecodeResult d = decode(as_bytes(std::string_view(r->str, r->len)));
    if (d.status != CodecStatus::Ok) {
      st->settled = true;
      ++counters_.malformed;
      return;
    }
    st->winner = std::move(d.record);
    st->have_winner = true;
  });
  link_.link().command({"PTTL", key}, options_.command_timeout_ms, [this, st](ReplyOutcome o, const redisReply* r) {
    if (st->settled || !st->have_winner) return;
    if (o == ReplyOutcome::Reply && r->type == REDIS_REPLY_INTEGER) {
      if (r->integer == -2) return send_write(std::move(st->write));  // expired between GET and PTTL
      // The value's expires_ms goes stale once refreshes extend the key: Redis's TTL is the truth.
      // Without it the adopt below would see an "expired" winner and keep our losing pin.
      if (r->integer >= 0) st->winner.expires_ms = wall_now_ms() + r->integer;
    } else {
      st->winner.expires_ms = std::max(st->winner.expires_ms, st->write.record.expires_ms);  // best guess
    }
    // Our own earlier attempt landed (its reply was lost to a timeout or a dropped link): not a
    // conflict, but its PUBLISH may never have gone out.
    if (st->winner.server == st->write.record.server && st->winner.origin == st->write.record.origin)
      return publish(st->write.record);
    ++counters_.conflicts;
    if (st->write.on_conflict) st->write.on_conflict(st->winner);
  });
}

void RedisClient::publish(const StickyRecord& record) {
  std::string_view value = encode_value(record);
  link_.link().command({"PUBLISH", channel_, value}, options_.command_timeout_ms,
                       [this](ReplyOutcome o, const redisReply* r) {
                         // Not retried: a lost publish only costs other nodes a lookup on their next miss.
                         if (o == ReplyOutcome::Reply && r->type == REDIS_REPLY_INTEGER) ++counters_.published;
                       });
}

void RedisClient::handle_write_error(QueuedWrite w, const redisReply* r) {
  std::string_view msg = r->type == REDIS_REPLY_ERROR ? std::string_view(r->str, r->len) : "unexpected reply type";
  if (is_failover_error(msg)) {
    enqueue(std::move(w));
    link_.fail(msg);  // reconnect, re-asking the sentinels for the new master
    return;
  }
  ++counters_.write_failures;  // NOPERM, OOM, WRONGTYPE...: retrying would fail the same way
}

void RedisClient::enqueue(QueuedWrite w) {
  ++counters_.queued;
  counters_.dropped += queue_.push(std::move(w));
  counters_.queue_depth = queue_.size();
}

void RedisClient::flush_queue() {
  // Bounded by the depth at entry: a write that fails again goes back to the tail, not into this pass.
  for (std::size_t n = queue_.size(); n > 0 && link_.ready(); --n) {
    std::optional<QueuedWrite> w = queue_.pop_front();
    if (!w) break;
    ++counters_.flushed;
    send_write(std::move(*w));
  }
  counters_.queue_depth = queue_.size();
}

namespace {
struct LookupState {
  LookupFn done;
  LookupResult result;
  bool finished = false;
  bool have_value = false;
};
}  // namespace

void RedisClient::lookup(std::string_view backend, std::uint8_t kind, std::string_view key, int deadline_ms,
                         LookupFn done) {
  ++counters_.lookups;
  if (!link_.ready()) {
    ++counters_.lookup_unavailable;
    done(LookupResult{LookupStatus::Unavailable, {}});
    return;
  }
  if (deadline_ms <= 0) deadline_ms = options_.lookup_deadline_ms;
  auto st = std::make_shared<LookupState>();
  st->done = std::move(done);
  auto finish = [this](LookupState& s, LookupStatus status) {
    if (s.finished) return;
    s.finished = true;
    switch (status) {
      case LookupStatus::Found: ++counters_.lookup_hits; break;
      case LookupStatus::NotFound: ++counters_.lookup_misses; break;
      case LookupStatus::Timeout: ++counters_.lookup_timeouts; break;
      case LookupStatus::Unavailable: ++counters_.lookup_unavailable; break;
      case LookupStatus::Malformed: ++counters_.malformed; break;
      case LookupStatus::Error: break;
    }
    s.result.status = status;
    if (status != LookupStatus::Found) s.result.record = StickyRecord{};
    LookupFn fn = std::move(s.done);
    fn(std::move(s.result));
  };
  auto failed = [](ReplyOutcome o) {
    return o == ReplyOutcome::Timeout ? LookupStatus::Timeout : LookupStatus::Unavailable;
  };
  make_redis_key(key_buf_, options_.cluster, backend, kind, key);
  std::string want_backend(backend), want_key(key);
  link_.link().command(
      {"GET", key_buf_}, deadline_ms,
      [st, finish, failed, want_backend = std::move(want_backend), want_key = std::move(want_key), kind](
          ReplyOutcome o, const redisReply* r) {
        if (st->finished) return;
        if (o != ReplyOutcome::Reply) return finish(*st, failed(o));
        if (r->type == REDIS_REPLY_NIL) return finish(*st, LookupStatus::NotFound);
        if (r->type != REDIS_REPLY_STRING) return finish(*st, LookupStatus::Error);
        DecodeResult d = decode(as_bytes(std::string_view(r->str, r->len)));
        if (d.status != CodecStatus::Ok || d.record.backend != want_backend || d.record.kind != kind ||
            d.record.key != want_key)
          return finish(*st, LookupStatus::Malformed);
        st->result.record = std::move(d.record);
        st->have_value = true;  // complete once PTTL (pipelined right behind) answers
      });
  if (st->finished) return;
  link_.link().command({"PTTL", key_buf_}, deadline_ms, [st, finish, failed](ReplyOutcome o, const redisReply* r) {
    if (st->finished) return;
    if (o != ReplyOutcome::Reply) return finish(*st, failed(o));
    if (!st->have_value || r->type != REDIS_REPLY_INTEGER) return finish(*st, LookupStatus::Error);
    if (r->integer == -2) return finish(*st, LookupStatus::NotFound);  // expired between GET and PTTL
    // The value's expires_ms goes stale when refresh_ttl extends the key; Redis's TTL is the truth.
    if (r->integer >= 0) st->result.record.expires_ms = wall_now_ms() + r->integer;
    finish(*st, LookupStatus::Found);
  });
}

}  // namespace sticky::store
