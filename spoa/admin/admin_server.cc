// Starts the admin API on its own listener (see admin_server.h).
#include "admin/admin_server.h"

#include "admin/admin_api.h"
#include "base/log.h"
#include "io/http_listener.h"
#include "io/listen_address.h"

namespace sticky::admin {

std::unique_ptr<AdminServer> AdminServer::start(AdminSetup setup, std::string& error) {
  error.clear();
  if (setup.token_file.empty()) {
    STICKY_LOG(Info, "admin API disabled: no agent.admin_token_file / --admin-token-file");
    return nullptr;
  }
  auto token = std::make_unique<TokenFile>();
  if (!token->open(setup.token_file, error)) return nullptr;
  io::ListenAddress address;
  if (!io::parse_listen_address(setup.address, address, error) || address.kind != io::ListenAddress::Kind::Tcp) {
    error = "admin address: expected HOST:PORT, got '" + setup.address + "'" + (error.empty() ? "" : ": " + error);
    return nullptr;
  }
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->store_ = std::make_unique<StoreAdapter>(std::move(setup.sources));
  s->token_ = std::move(token);
  AdminOptions ao;
  ao.token_file = s->token_.get();
  ao.healthy = std::move(setup.healthy);
  s->api_ = std::make_unique<AdminApi>(*s->store_, std::move(ao));
  io::HttpListenerOptions lo;
  lo.name = "admin";
  lo.request_timeout = 5.0;
  lo.max_clients = 64;
  lo.limits.max_head = 8192;
  lo.limits.max_body = 4096;  // the API takes its arguments in the query; a body is never needed
  lo.recheck_interval = 0.5;  // a waiting drain re-counts its pins twice a second
  AdminApi* api = s->api_.get();
  s->listener_ = std::make_unique<io::HttpListener>(
      address, [api](const io::HttpRequest& req) { return api->handle(req); }, lo);
  if (!s->listener_->start(error)) {
    error = "admin: " + error;
    return nullptr;
  }
  STICKY_LOG(Info, "admin API and web page on http://%s (port %u), bearer token from %s", address.text.c_str(),
             static_cast<unsigned>(s->listener_->port()), setup.token_file.c_str());
  return s;
}

AdminServer::~AdminServer() {
  listener_.reset();  // its thread stops before the API it calls goes away
}

std::uint16_t AdminServer::port() const { return listener_->port(); }

}  // namespace sticky::admin
