// A real unix-socket server for tests: answers every connection with the reply currently set,
// then closes, as HAProxy's runtime API does for one non-interactive command.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

class SocketPeer {
 public:
  SocketPeer() {
    char tmpl[] = "/tmp/sticky-health-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/api.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path_.c_str(), sizeof(sun.sun_path) - 1);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun));
    ::listen(fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~SocketPeer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  void set_reply(std::string reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(reply);
  }
  std::string last_command() {
    std::lock_guard<std::mutex> lock(mutex_);
    return command_;
  }
  const std::string& path() const { return path_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[256];
      ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      std::string reply;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        command_.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
        reply = reply_;
      }
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string reply_;
  std::string command_;
  std::thread thread_;
};
