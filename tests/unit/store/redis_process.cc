// Test support: spawning redis-server/redis-sentinel, a blocking client, and loop runners.
#include "redis_process.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace sticky::test {

namespace {
constexpr const char* kServerBinary = "/usr/bin/redis-server";

std::string render(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return std::string(r->str, r->len);
    case REDIS_REPLY_ERROR: return "ERR:" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
    case REDIS_REPLY_NIL: return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r->elements; ++i) {
        if (i) out += '\n';
        out += render(r->element[i]);
      }
      return out;
    }
    default: return "?";
  }
}
}  // namespace

bool RedisProcess::available() { return ::access(kServerBinary, X_OK) == 0; }

int RedisProcess::free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

RedisProcess::RedisProcess(std::string extra_config, Mode mode) : mode_(mode), extra_(std::move(extra_config)) {
  char tmpl[] = "/tmp/sticky-redis-XXXXXX";
  if (char* d = ::mkdtemp(tmpl)) dir_ = d;
  port_ = free_port();
  conf_ = dir_ + "/redis.conf";
}

RedisProcess::~RedisProcess() {
  kill();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool RedisProcess::start() {
  if (dir_.empty() || port_ == 0) return false;
  {
    std::ofstream f(conf_);
    f << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nlogfile " << dir_ << "/log.txt\n";
    if (mode_ == Mode::Server) f << "save \"\"\nappendonly no\n";
    f << extra_ << "\n";
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    if (mode_ == Mode::Sentinel)
      ::execl(kServerBinary, kServerBinary, conf_.c_str(), "--sentinel", static_cast<char*>(nullptr));
    else
      ::execl(kServerBinary, kServerBinary, conf_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string pong = cmd({"PING"});
    if (pong == "PONG" || pong.starts_with("ERR:NOAUTH")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void RedisProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool RedisProcess::restart() {
  kill();
  return start();
}

void RedisProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}
void RedisProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisProcess::cmd(std::initializer_list<std::string_view> argv) const {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr) return "";
  if (c->err) {
    redisFree(c);
    return "";
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(ptrs.size()), ptrs.data(), lens.data()));
  std::string out = r ? render(r) : "";
  if (r) freeReplyObject(r);
  redisFree(c);
  return out;
}

bool run_until(struct ev_loop* loop, const std::function<bool()>& done, int timeout_ms) {
  ev_timer tick;
  ev_timer_init(&tick, [](struct ev_loop*, ev_timer*, int) {}, 0.002, 0.002);  // bounds each ev_run
  ev_timer_start(loop, &tick);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done() && std::chrono::steady_clock::now() < deadline) ev_run(loop, EVRUN_ONCE);
  ev_timer_stop(loop, &tick);
  return done();
}

void run_for(struct ev_loop* loop, int ms) {
  run_until(loop, [] { return false; }, ms);
}

}  // namespace sticky::test
