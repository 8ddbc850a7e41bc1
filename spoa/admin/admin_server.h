// The admin listener: its own address (loopback by default), its own thread and poll loop (an
// io::HttpListener, the same pieces as /metrics), never a thread that answers HAProxy. Disabled,
// with one log line saying so, unless a token file is configured.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "admin/store_adapter.h"
#include "admin/token_file.h"

namespace sticky::io {
class HttpListener;
}

namespace sticky::admin {

class AdminApi;

struct AdminSetup {
  std::string address;     // HOST:PORT
  std::string token_file;  // empty: admin disabled
  AdminSources sources;
  std::function<bool()> healthy;
};

class AdminServer {
 public:
  // Null with `error` empty when disabled (no token file); null with `error` set when it cannot
  // serve (unreadable or empty token, bad address, port taken). Logs what it does.
  static std::unique_ptr<AdminServer> start(AdminSetup setup, std::string& error);
  ~AdminServer();
  std::uint16_t port() const;

 private:
  AdminServer() = default;
  std::unique_ptr<TokenFile> token_;
  std::unique_ptr<StoreAdapter> store_;
  std::unique_ptr<AdminApi> api_;
  std::unique_ptr<io::HttpListener> listener_;
};

}  // namespace sticky::admin
