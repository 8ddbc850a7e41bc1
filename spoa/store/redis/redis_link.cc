// hiredis async connection on libev: connect timeout, AUTH/ROLE handshake, per-command deadlines by id,
// and a stall watchdog.
#include "store/redis/redis_link.h"

#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "store/permission_errors.h"

namespace sticky::store {

std::string_view reply_outcome_name(ReplyOutcome o) {
  switch (o) {
    case ReplyOutcome::Reply: return "reply";
    case ReplyOutcome::Timeout: return "timeout";
    case ReplyOutcome::Disconnected: return "disconnected";
    case ReplyOutcome::NotSent: return "not sent";
  }
  return "unknown";
}

namespace {
void* id_to_privdata(std::uint64_t id) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)); }
std::uint64_t privdata_to_id(void* p) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }
double seconds(int ms) { return static_cast<double>(ms) / 1000.0; }
// Not the loop's cached ev_now: that may be a whole busy iteration old, and round trips are microseconds.
std::uint64_t monotonic_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
}  // namespace

RedisLink::RedisLink(struct ev_loop* loop, LinkSettings settings, RedisCounters& counters, Hooks hooks)
    : loop_(loop), settings_(std::move(settings)), counters_(counters), hooks_(std::move(hooks)) {
  ev_timer_init(&connect_timer_, &RedisLink::on_connect_timeout, seconds(settings_.connect_timeout_ms), 0.);
  connect_timer_.data = this;
  ev_timer_init(&watchdog_, &RedisLink::on_watchdog, seconds(settings_.stall_timeout_ms), 0.);
  watchdog_.data = this;
}

RedisLink::~RedisLink() {
  close();
  ev_timer_stop(loop_, &watchdog_);
}

void RedisLink::open(const RedisEndpoint& endpoint) {
  close();
  endpoint_ = endpoint;
  state_ = State::Connecting;
  redisAsyncContext* ac = redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
  if (ac == nullptr) {
    context_gone("cannot allocate redis context", false);
    return;
  }
  if (ac->err) {
    std::string why = "connect " + endpoint_text(endpoint) + ": " + ac->errstr;
    redisAsyncFree(ac);
    context_gone(why, false);
    return;
  }
  ac->data = this;
  redisEnableKeepAlive(&ac->c);  // lets the kernel notice a silently dead peer on idle links
  redisLibevAttach(loop_, ac);
  redisAsyncSetConnectCallback(ac, &RedisLink::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisLink::on_disconnect);
  ac_ = ac;
  ev_timer_set(&connect_timer_, seconds(settings_.connect_timeout_ms), 0.);
  ev_timer_start(loop_, &connect_timer_);
}

void RedisLink::close() {
  ev_timer_stop(loop_, &connect_timer_);
  ev_timer_stop(loop_, &watchdog_);
  state_ = State::Idle;
  outstanding_ = 0;
  forget_sent();
  if (ac_ != nullptr) {
    // Clear ac_ first: the NULL-reply callbacks and the disconnect callback that redisAsyncFree runs
    // (now, or after the current hiredis callback returns) then see a context that is no longer ours.
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);
  }
  fail_all_pending();
}

void RedisLink::fail(std::string_view why) {
  if (state_ == State::Idle) return;  // already gone; on_lost was reported then
  bool was_ready = ready();
  std::string reason(why);  // `why` may point into a reply that close() frees
  close();
  context_gone(reason, was_ready);
}

void RedisLink::context_gone(std::string_view why, bool was_ready) {
  ev_timer_stop(loop_, &connect_timer_);
  ev_timer_stop(loop_, &watchdog_);
  state_ = State::Idle;
  outstanding_ = 0;
  forget_sent();
  fail_all_pending();
  if (was_ready) ++counters_.disconnects;
  else ++counters_.connect_failures;
  if (hooks_.on_lost) hooks_.on_lost(why);
}

void RedisLink::fail_all_pending() {
  if (pending_.empty()) return;
  auto victims = std::move(pending_);
  pending_.clear();
  std::vector<std::uint64_t> ids;
  ids.reserve(victims.size());
  for (auto& [id, p] : victims) {
    ev_timer_stop(loop_, &p->timer);
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());  // oldest first, so requeued writes keep their order
  for (std::uint64_t id : ids) {
    ReplyFn fn = std::move(victims[id]->fn);
    if (fn) fn(ReplyOutcome::Disconnected, nullptr);
  }
}

bool RedisLink::command(std::span<const std::string_view> argv, int deadline_ms, ReplyFn fn) {
  return send(argv, deadline_ms, false, false, std::move(fn));
}

bool RedisLink::subscribe(std::string_view channel, ReplyFn on_message) {
  const std::string_view argv[] = {"SUBSCRIBE", channel};
  channel_.assign(channel);
  return send(argv, 0, true, false, std::move(on_message));
}

bool RedisLink::send(std::span<const std::string_view> argv, int deadline_ms, bool persistent, bool handshake,
                     ReplyFn fn) {
  bool usable = ac_ != nullptr && (state_ == State::Ready || (handshake && state_ == State::Connecting));
  if (!usable) {
    if (fn) fn(ReplyOutcome::NotSent, nullptr);
    return false;
  }
  argv_ptrs_.clear();
  argv_lens_.clear();
  for (std::string_view a : argv) {
    argv_ptrs_.push_back(a.data());
    argv_lens_.push_back(a.size());
  }
  std::uint64_t id = next_id_++;
  int rc = redisAsyncCommandArgv(ac_, &RedisLink::on_reply, id_to_privdata(id), static_cast<int>(argv.size()),
                                 argv_ptrs_.data(), argv_lens_.data());
  if (rc != REDIS_OK) {
    ++counters_.errors;
    if (fn) fn(ReplyOutcome::NotSent, nullptr);
    return false;
  }
  ++counters_.commands_sent;
  auto p = std::make_unique<Pending>();
  p->owner = this;
  p->id = id;
  p->persistent = persistent;
  if (!argv.empty()) {
    p->cmd_len = static_cast<std::uint8_t>(std::min(argv[0].size(), sizeof p->cmd));
    std::memcpy(p->cmd, argv[0].data(), p->cmd_len);
    // AUTH's arguments are credentials: never kept.
    if (argv.size() > 1 && !handshake) {
      p->arg_len = static_cast<std::uint8_t>(std::min(argv[1].size(), sizeof p->arg));
      std::memcpy(p->arg, argv[1].data(), p->arg_len);
    }
  }
  p->fn = std::move(fn);
  if (deadline_ms > 0) {
    // The loop's cached time may be a whole busy iteration old; a few-ms deadline needs the real now.
    ev_now_update(loop_);
    ev_timer_init(&p->timer, &RedisLink::on_deadline, seconds(deadline_ms), 0.);
    p->timer.data = p.get();
    ev_timer_start(loop_, &p->timer);
    p->timed = true;
  }
  pending_.emplace(id, std::move(p));
  if (!persistent) {
    sent_at(monotonic_ns());
    if (outstanding_++ == 0) note_progress();
    if (!ev_is_active(&watchdog_)) {
      ev_timer_set(&watchdog_, seconds(settings_.stall_timeout_ms), 0.);
      ev_timer_start(loop_, &watchdog_);
    }
  }
  return true;
}

void RedisLink::note_progress() { last_progress_ = ev_now(loop_); }

void RedisLink::sent_at(std::uint64_t ns) {
  if (sent_count_ == sent_ns_.size()) {
    std::vector<std::uint64_t> grown(std::max<std::size_t>(16, sent_ns_.size() * 2));
    for (std::size_t i = 0; i < sent_count_; ++i) grown[i] = sent_ns_[(sent_head_ + i) & (sent_ns_.size() - 1)];
    sent_ns_ = std::move(grown);
    sent_head_ = 0;
  }
  sent_ns_[(sent_head_ + sent_count_) & (sent_ns_.size() - 1)] = ns;
  ++sent_count_;
}

void RedisLink::reply_read() {
  if (sent_count_ == 0) return;
  const std::uint64_t sent = sent_ns_[sent_head_];
  sent_head_ = (sent_head_ + 1) & (sent_ns_.size() - 1);
  --sent_count_;
  const std::uint64_t now = monotonic_ns();
  counters_.command_seconds.observe_ns(now > sent ? now - sent : 0);
}

void RedisLink::forget_sent() {
  sent_head_ = 0;
  sent_count_ = 0;
}

void RedisLink::handshake() {
  auto check_role = [this]() {
    if (!settings_.require_master) return become_ready();
    const std::string_view role[] = {"ROLE"};
    send(role, 0, false, true, [this](ReplyOutcome o, const redisReply* r) {
      if (o != ReplyOutcome::Reply) return;  // the link is already being torn down
      bool master = r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING &&
                    std::string_view(r->element[0]->str, r->element[0]->len) == "master";
      if (!master) {
        std::string why = r->type == REDIS_REPLY_ERROR ? std::string("ROLE refused: ") + r->str
                                                       : std::string("server is not a master");
        return fail(why);
      }
      become_ready();
    });
  };
  if (settings_.password.empty()) return check_role();
  std::vector<std::string_view> auth{"AUTH"};
  if (!settings_.username.empty()) auth.push_back(settings_.username);
  auth.push_back(settings_.password);
  send(auth, 0, false, true, [this, check_role](ReplyOutcome o, const redisReply* r) {
    if (o != ReplyOutcome::Reply) return;
    if (r->type == REDIS_REPLY_ERROR) return fail(std::string("AUTH rejected: ") + r->str);
    check_role();
  });
}

void RedisLink::become_ready() {
  ev_timer_stop(loop_, &connect_timer_);
  state_ = State::Ready;
  ++counters_.connects;
  if (hooks_.on_ready) hooks_.on_ready();
}

void RedisLink::handle_reply(std::uint64_t id, const redisReply* reply) {
  auto it = pending_.find(id);
  bool persistent = it != pending_.end() && it->second->persistent;
  if (!persistent && reply != nullptr && outstanding_ > 0) {
    --outstanding_;
    reply_read();
    note_progress();
  }
  if (it == pending_.end()) {
    if (reply != nullptr) ++counters_.late_replies;
    return;
  }
  if (reply == nullptr) return complete(id, ReplyOutcome::Disconnected, nullptr);
  ++counters_.replies;
  if (reply->type == REDIS_REPLY_ERROR) {
    ++counters_.errors;
    std::string_view msg(reply->str, reply->len);
    if (is_permission_error(msg)) {
      ++counters_.permission_errors;
      const Pending& p = *it->second;
      if (hooks_.on_refused)
        hooks_.on_refused(std::string_view(p.cmd, p.cmd_len), std::string_view(p.arg, p.arg_len), msg);
    }
  }
  if (persistent) {
    ++counters_.pubsub_messages;
    ReplyFn& fn = it->second->fn;
    if (fn) fn(ReplyOutcome::Reply, reply);  // may close the link; touch nothing of `it` afterwards
    return;
  }
  complete(id, ReplyOutcome::Reply, reply);
}

void RedisLink::complete(std::uint64_t id, ReplyOutcome outcome, const redisReply* reply) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);
  ev_timer_stop(loop_, &p->timer);
  if (p->fn) p->fn(outcome, reply);
}

void RedisLink::handle_deadline(std::uint64_t id) {
  ++counters_.timeouts;
  complete(id, ReplyOutcome::Timeout, nullptr);
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr || ac != self->ac_) return;
  if (status != REDIS_OK) {
    std::string why = "connect " + endpoint_text(self->endpoint_) + ": " + (ac->errstr[0] ? ac->errstr : "failed");
    self->ac_ = nullptr;  // hiredis frees it after this callback
    self->context_gone(why, false);
    return;
  }
  self->handshake();
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr || ac != self->ac_) return;  // a context we closed ourselves
  bool was_ready = self->ready();
  std::string why = status == REDIS_OK ? std::string("connection closed")
                                       : std::string("connection lost: ") + (ac->errstr[0] ? ac->errstr : "error");
  if (status != REDIS_OK && is_permission_error(ac->errstr)) {
    // hiredis drops a subscribed connection whose SUBSCRIBE is refused (the error reply matches no
    // callback, and the subscription's callback has already run with NULL): report it against the channel.
    ++self->counters_.permission_errors;
    if (self->hooks_.on_refused) self->hooks_.on_refused("SUBSCRIBE", self->channel_, ac->errstr);
  }
  self->ac_ = nullptr;  // hiredis frees it after this callback
  self->context_gone(why, was_ready);
}

void RedisLink::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr) return;
  self->handle_reply(privdata_to_id(privdata), static_cast<const redisReply*>(reply));
}

void RedisLink::on_deadline(struct ev_loop*, ev_timer* w, int) {
  auto* p = static_cast<Pending*>(w->data);
  p->owner->handle_deadline(p->id);
}

void RedisLink::on_connect_timeout(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<RedisLink*>(w->data);
  if (self->state_ != State::Connecting) return;
  self->fail("connect/handshake timeout");
}

void RedisLink::on_watchdog(struct ev_loop* loop, ev_timer* w, int) {
  auto* self = static_cast<RedisLink*>(w->data);
  if (self->outstanding_ == 0 || self->state_ == State::Idle) return;  // nothing owed: stay idle
  ev_tstamp stall = seconds(self->settings_.stall_timeout_ms);
  ev_tstamp left = self->last_progress_ + stall - ev_now(loop);
  if (left > 0) {
    ev_timer_set(w, left, 0.);
    ev_timer_start(loop, w);
    return;
  }
  ++self->counters_.stalls;
  self->fail("stalled: no reply within stall_timeout_ms");
}

}  // namespace sticky::store
