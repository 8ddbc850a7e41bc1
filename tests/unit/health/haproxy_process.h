// Runs a real haproxy for a test: writes its config into a temp dir, starts it in the foreground
// as our child, waits for its stats socket, and kills and reaps it in the destructor (so also when
// an assertion throws).
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "health/runtime_api.h"

class HaproxyProcess {
 public:
  // True when an executable `haproxy` is on PATH.
  static bool available() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    std::size_t start = 0;
    while (start <= dirs.size()) {
      std::size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/haproxy";
      if (::access(candidate.c_str(), X_OK) == 0) return true;
      start = end + 1;
    }
    return false;
  }

  // A loopback TCP port nobody listens on right now (bind port 0, read it back, release it).
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  // `body` is everything after the global section; `{dir}` in it is replaced by the temp dir.
  explicit HaproxyProcess(const std::string& body) {
    char tmpl[] = "/tmp/sticky-haproxy-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    tcp_port_ = free_port();
    std::string cfg = "global\n  stats socket " + dir_ + "/admin.sock level admin\n  stats socket 127.0.0.1:" +
                      std::to_string(tcp_port_) + " level admin\n  stats timeout 5s\n" + body;
    std::ofstream(dir_ + "/haproxy.cfg") << cfg;
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen((dir_ + "/haproxy.log").c_str(), "w", stdout);
      std::freopen((dir_ + "/haproxy.log").c_str(), "a", stderr);
      ::execlp("haproxy", "haproxy", "-db", "-f", (dir_ + "/haproxy.cfg").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }

  ~HaproxyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Waits until the stats socket answers; false (with the log in `why`) if haproxy did not come up.
  bool wait_ready(std::chrono::milliseconds limit, std::string& why) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (sticky::health::runtime_api_query(unix_socket(), "show info", std::chrono::milliseconds(200)).ok)
        return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream log(dir_ + "/haproxy.log");
    std::stringstream text;
    text << log.rdbuf();
    why = text.str();
    return false;
  }

  std::string unix_socket() const { return "unix:" + dir_ + "/admin.sock"; }
  std::string tcp_socket() const { return "127.0.0.1:" + std::to_string(tcp_port_); }

 private:
  std::string dir_;
  int tcp_port_ = 0;
  pid_t pid_ = -1;
};
