// Pub/sub receiver and background warm-up SCAN of the shared sticky store.
#include "store/redis/redis_subscriber.h"

#include <hiredis/hiredis.h>

#include <chrono>

#include "store/entry_codec.h"
#include "store/redis_key.h"

namespace sticky::store {

namespace {
std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::string_view str_of(const redisReply* r) {
  return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? std::string_view(r->str, r->len)
                                                                         : std::string_view();
}
}  // namespace

RedisSubscriber::RedisSubscriber(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters,
                                 RecordFn on_record)
    : options_(options),
      counters_(counters),
      on_record_(std::move(on_record)),
      sub_(loop, options_, counters, ManagedLink::Hooks{[this] { on_sub_ready(); }, [this] { subscribed_ = false; }}),
      data_(loop, options_, counters, ManagedLink::Hooks{[this] { maybe_start_scan(); }, [this] { abort_scan(); }}),
      channel_(sticky_channel(options.cluster)),
      pattern_(scan_pattern(options.cluster)),
      batch_text_(std::to_string(options.warmup_batch)) {}

RedisSubscriber::~RedisSubscriber() { stop(); }

void RedisSubscriber::start() {
  sub_.start();
  data_.start();
}

void RedisSubscriber::stop() {
  scan_wanted_ = false;
  abort_scan();
  sub_.stop();
  data_.stop();
  subscribed_ = false;
}

void RedisSubscriber::on_sub_ready() {
  subscribed_ = false;
  sub_.link().subscribe(channel_, [this](ReplyOutcome o, const redisReply* r) {
    if (o != ReplyOutcome::Reply) {
      subscribed_ = false;
      return;
    }
    on_message(r);
  });
}

void RedisSubscriber::on_message(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  std::string_view type = str_of(r->element[0]);
  if (type == "subscribe") {
    // Messages published while we were not subscribed are lost; a catch-up pass reloads the store.
    subscribed_ = true;
    sub_.confirm();
    scan_wanted_ = true;
    if (scan_running_) abort_scan();
    maybe_start_scan();
    return;
  }
  if (type != "message" || r->element[2]->type != REDIS_REPLY_STRING) return;
  ++counters_.received;
  DecodeResult d = decode(as_bytes(std::string_view(r->element[2]->str, r->element[2]->len)));
  if (d.status != CodecStatus::Ok) {
    ++counters_.malformed;
    return;
  }
  deliver(d.record, true);
}

void RedisSubscriber::deliver(const StickyRecord& record, bool from_pubsub) {
  if (from_pubsub && record.origin == options_.node_id) {
    ++counters_.own_skipped;
    return;
  }
  ++counters_.applied;
  if (on_record_) on_record_(record);
}

void RedisSubscriber::maybe_start_scan() {
  if (!scan_wanted_ || scan_running_ || !subscribed_ || !data_.ready()) return;
  scan_running_ = true;
  ++scan_generation_;
  cursor_ = "0";
  scanned_ = 0;
  scan_step();
}

void RedisSubscriber::abort_scan() {
  if (!scan_running_) return;
  scan_running_ = false;
  ++scan_generation_;  // late callbacks of this pass now ignore themselves
}

void RedisSubscriber::scan_step() {
  std::uint64_t gen = scan_generation_;
  data_.link().command(
      {"SCAN", cursor_, "MATCH", pattern_, "COUNT", batch_text_}, options_.command_timeout_ms,
      [this, gen](ReplyOutcome o, const redisReply* r) {
        if (gen != scan_generation_) return;
        if (o != ReplyOutcome::Reply || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
          bool refused = o == ReplyOutcome::Reply;  // an error reply (e.g. NOPERM) would repeat: give up
          abort_scan();
          if (refused) scan_wanted_ = false;
          else maybe_start_scan();  // a timeout on a live link: start over (a stall drops the link)
          return;
        }
        cursor_ = std::string(str_of(r->element[0]));
        const redisReply* keys = r->element[1];
        std::vector<std::string> batch;
        batch.reserve(keys->elements);
        for (std::size_t i = 0; i < keys->elements; ++i) {
          if (keys->element[i]->type == REDIS_REPLY_STRING)
            batch.emplace_back(keys->element[i]->str, keys->element[i]->len);
        }
        scanned_ += batch.size();
        counters_.warmup_keys += batch.size();
        if (!batch.empty()) return fetch_batch(std::move(batch));
        finish_batch();
      });
}

void RedisSubscriber::fetch_batch(std::vector<std::string> keys) {
  std::uint64_t gen = scan_generation_;
  std::size_t n = keys.size();
  batch_keys_ = std::move(keys);
  batch_values_.assign(n, std::string());
  batch_present_.assign(n, false);
  batch_ttls_.assign(n, -1);
  batch_ttls_seen_ = 0;
  auto failed = [this](ReplyOutcome o) {
    abort_scan();
    if (o == ReplyOutcome::Timeout) maybe_start_scan();
  };
  std::vector<std::string_view> argv;
  argv.reserve(n + 1);
  argv.push_back("MGET");
  for (const auto& k : batch_keys_) argv.push_back(k);
  data_.link().command(argv, options_.command_timeout_ms, [this, gen, n, failed](ReplyOutcome o, const redisReply* r) {
    if (gen != scan_generation_) return;
    if (o != ReplyOutcome::Reply || r->type != REDIS_REPLY_ARRAY || r->elements != n) return failed(o);
    for (std::size_t i = 0; i < n; ++i) {
      if (r->element[i]->type != REDIS_REPLY_STRING) continue;  // deleted or expired since SCAN
      batch_values_[i].assign(r->element[i]->str, r->element[i]->len);
      batch_present_[i] = true;
    }
  });
  // PTTL per key, pipelined behind MGET: values carry the expiry of their last write, but refresh_ttl
  // extends keys with PEXPIRE, so Redis's TTL is the authority.
  for (std::size_t i = 0; i < n; ++i) {
    data_.link().command({"PTTL", batch_keys_[i]}, options_.command_timeout_ms,
                         [this, gen, i, n, failed](ReplyOutcome o, const redisReply* r) {
                           if (gen != scan_generation_) return;
                           if (o != ReplyOutcome::Reply) return failed(o);
                           if (r->type == REDIS_REPLY_INTEGER) batch_ttls_[i] = r->integer;
                           if (++batch_ttls_seen_ == n) finish_batch();
                         });
    if (gen != scan_generation_) return;  // the link died while sending
  }
}

void RedisSubscriber::finish_batch() {
  std::int64_t now = wall_now_ms();
  std::string expected_key;
  for (std::size_t i = 0; i < batch_keys_.size(); ++i) {
    if (!batch_present_[i] || batch_ttls_[i] == -2) continue;
    ++counters_.received;
    DecodeResult d = decode(as_bytes(batch_values_[i]));
    if (d.status == CodecStatus::Ok) {
      make_redis_key(expected_key, options_.cluster, d.record.backend, d.record.kind, d.record.key);
    }
    if (d.status != CodecStatus::Ok || expected_key != batch_keys_[i]) {
      ++counters_.malformed;  // not ours, or a value stored under the wrong key
      continue;
    }
    if (batch_ttls_[i] >= 0) d.record.expires_ms = now + batch_ttls_[i];
    deliver(d.record, false);
  }
  batch_keys_.clear();
  batch_values_.clear();
  batch_present_.clear();
  if (cursor_ == "0" || scanned_ >= options_.warmup_max_keys) {
    scan_running_ = false;
    scan_wanted_ = false;
    ++counters_.warmup_scans;
    return;
  }
  scan_step();
}

}  // namespace sticky::store
