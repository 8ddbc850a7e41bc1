// Test support: a real redis-server or redis-sentinel on 127.0.0.1 with a free port and its own temp
// dir, killed on destruction; plus a blocking command helper and a bounded libev loop runner.
#pragma once

#include <ev.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace sticky::test {

// A private libev loop for one test case.
struct Loop {
  struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
  ~Loop() { ev_loop_destroy(loop); }
};

class RedisProcess {
 public:
  enum class Mode { Server, Sentinel };

  static bool available();  // redis-server is installed
  static int free_port();

  // `extra_config` lines are appended to a minimal no-persistence config.
  explicit RedisProcess(std::string extra_config = "", Mode mode = Mode::Server);
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  bool start();    // spawns and waits (<= 5 s) until PING answers
  void kill();     // SIGKILL and reap
  bool restart();  // start again on the same port and dir
  void pause();    // SIGSTOP: the socket stays open, nothing answers
  void resume();   // SIGCONT

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // Blocking command for test set-up and checks. Reply rendered as text: strings as-is, integers in
  // decimal, nil as "(nil)", errors as "ERR:<message>", arrays joined with '\n'; "" when unreachable.
  std::string cmd(std::initializer_list<std::string_view> argv) const;

 private:
  Mode mode_;
  std::string extra_;
  std::string dir_;
  std::string conf_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Runs `loop` until `done()` is true or `timeout_ms` passes; returns done().
bool run_until(struct ev_loop* loop, const std::function<bool()>& done, int timeout_ms);
// Runs `loop` for `ms` milliseconds.
void run_for(struct ev_loop* loop, int ms);

}  // namespace sticky::test

// Ends the test case with a warning when redis-server is not installed.
#define REQUIRE_REDIS()                                               \
  if (!::sticky::test::RedisProcess::available()) {                   \
    WARN("redis-server not installed: skipping Redis test");          \
    return;                                                           \
  }
