// One hiredis async connection on a libev loop: connect timeout, AUTH, optional ROLE check, and
// commands with deadlines whose completions are found by id (never through a pointer hiredis holds).
//
// Round trips: every reply to a command (late ones too) is timed from the command's send into
// counters.command_seconds. Redis answers a connection's commands in order, so the send times wait in
// a FIFO beside `outstanding_` and each reply takes the oldest; a command that timed out still gets
// its real round trip when its late reply comes.
//
// Contract: every command callback runs exactly once -- with the reply, with Timeout when its deadline
// fires first, or with Disconnected/NotSent. A reply that arrives after its deadline is counted and
// dropped. Callbacks may issue commands or close() the link, but must not destroy it: destroy a link
// from outside its own callbacks (hiredis frees its context only after returning from them).
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/redis_counters.h"
#include "store/redis_options.h"

struct redisAsyncContext;
struct redisReply;

namespace sticky::store {

enum class ReplyOutcome : std::uint8_t {
  Reply = 0,         // `reply` is non-null (it may be an error reply)
  Timeout = 1,       // deadline passed first; a later reply is ignored
  Disconnected = 2,  // the connection went away before the reply
  NotSent = 3,       // the link was not ready, or hiredis refused the command
};
std::string_view reply_outcome_name(ReplyOutcome o);

// `reply` is valid only during the call and only for ReplyOutcome::Reply.
using ReplyFn = std::function<void(ReplyOutcome, const redisReply* reply)>;

struct LinkSettings {
  int connect_timeout_ms = 300;     // covers TCP connect plus AUTH and ROLE
  // With commands outstanding and no reply for this long, the server is stalled (SIGSTOP, blackholed
  // route): the link drops so callers fail fast instead of each waiting out its own deadline.
  int stall_timeout_ms = 1000;
  std::string username, password;   // AUTH when password is set
  bool require_master = true;       // ROLE must say "master" (a demoted master is refused)
};

class RedisLink {
 public:
  struct Hooks {
    std::function<void()> on_ready;                  // connected, authenticated, role checked
    std::function<void(std::string_view why)> on_lost;  // an attempt failed or a Ready link died
    // Redis refused a command with a permission/auth error (store/permission_errors.h), already counted in
    // permission_errors: `command` and its first argument (a key or channel; empty for AUTH).
    // Called before the command's own callback; for SUBSCRIBE, before on_lost (hiredis drops the link).
    std::function<void(std::string_view command, std::string_view arg, std::string_view message)> on_refused;
  };

  RedisLink(struct ev_loop* loop, LinkSettings settings, RedisCounters& counters, Hooks hooks);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Starts an asynchronous connection (closing any current one). Outcome arrives through the hooks,
  // possibly before open() returns (e.g. an immediate ECONNREFUSED).
  void open(const RedisEndpoint& endpoint);
  // Drops the connection now. Pending commands complete with Disconnected; on_lost is not called.
  void close();
  // Closes and reports on_lost(why): used by owners that find the server unusable (READONLY, stall).
  void fail(std::string_view why);

  bool ready() const { return state_ == State::Ready; }
  bool idle() const { return state_ == State::Idle; }
  const RedisEndpoint& endpoint() const { return endpoint_; }
  std::size_t pending() const { return pending_.size(); }

  // Sends argv (binary-safe). deadline_ms <= 0 means no deadline. Returns false when not sent, in which
  // case `fn` has already run with NotSent.
  bool command(std::span<const std::string_view> argv, int deadline_ms, ReplyFn fn);
  bool command(std::initializer_list<std::string_view> argv, int deadline_ms, ReplyFn fn) {
    return command(std::span<const std::string_view>(argv.begin(), argv.size()), deadline_ms, std::move(fn));
  }
  // SUBSCRIBE: `on_message` runs for every reply on the channel (the confirmation too) and a last time
  // with Disconnected when the connection ends.
  bool subscribe(std::string_view channel, ReplyFn on_message);

 private:
  enum class State : std::uint8_t { Idle, Connecting, Ready };
  struct Pending {
    RedisLink* owner = nullptr;
    std::uint64_t id = 0;
    ev_timer timer{};
    bool timed = false;
    bool persistent = false;
    // argv[0] and argv[1] (truncated), for reporting a refusal; copied so no caller memory is kept.
    std::uint8_t cmd_len = 0, arg_len = 0;
    char cmd[15] = {};
    char arg[95] = {};
    ReplyFn fn;
  };

  bool send(std::span<const std::string_view> argv, int deadline_ms, bool persistent, bool handshake, ReplyFn fn);
  void handshake();
  void become_ready();
  void handle_reply(std::uint64_t id, const redisReply* reply);
  void handle_deadline(std::uint64_t id);
  void complete(std::uint64_t id, ReplyOutcome outcome, const redisReply* reply);
  void fail_all_pending();
  void context_gone(std::string_view why, bool was_ready);
  void note_progress();
  void sent_at(std::uint64_t ns);
  void reply_read();
  void forget_sent();

  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_deadline(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_connect_timeout(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_watchdog(struct ev_loop* loop, ev_timer* w, int revents);

  struct ev_loop* loop_;
  LinkSettings settings_;
  RedisCounters& counters_;
  Hooks hooks_;
  RedisEndpoint endpoint_;
  State state_ = State::Idle;
  redisAsyncContext* ac_ = nullptr;
  ev_timer connect_timer_{};
  ev_timer watchdog_{};
  ev_tstamp last_progress_ = 0;     // last reply, or when commands started being outstanding
  std::size_t outstanding_ = 0;     // sent and not yet called back by hiredis (includes timed-out ones)
  // Send times (monotonic ns) of those outstanding commands, oldest first: a ring of power-of-two size,
  // grown when full, so timing a command allocates nothing once warmed up.
  std::vector<std::uint64_t> sent_ns_;
  std::size_t sent_head_ = 0, sent_count_ = 0;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  // Reused argv scratch so formatting a command does not allocate after warm-up.
  std::vector<const char*> argv_ptrs_;
  std::vector<std::size_t> argv_lens_;
  std::string channel_;  // the last SUBSCRIBE's channel, to name it when Redis refuses it
};

}  // namespace sticky::store
