// The admin API: routes a request, checks the bearer token, and answers in JSON from what the
// StoreAdapter shows. Runs on the admin listener's thread only (never a worker's): lookups, pin
// counts, deletes, drain/ready through HAProxy's runtime API, a bounded wait for a drain, dry runs
// of server changes, the HSAF serial map, and the web page. Every change is logged with who asked.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "admin/json.h"
#include "admin/request.h"
#include "admin/store_adapter.h"
#include "admin/token_file.h"
#include "io/http_listener.h"

namespace sticky::admin {

struct AdminOptions {
  std::string token;                               // the bearer token (never logged)
  TokenFile* token_file = nullptr;                 // if set, the token comes from it (rotatable)
  std::int64_t default_active_ms = 5 * 60 * 1000;  // "active": seen within this window
  double max_wait_s = 60;                          // longest `wait` a client may ask for
  std::function<bool()> healthy;                   // for /healthz
  std::function<std::int64_t()> now_ms;            // wall clock, ms since the epoch
};

class AdminApi {
 public:
  AdminApi(StoreAdapter& store, AdminOptions options);
  io::HttpReply handle(const io::HttpRequest& req);

 private:
  struct Caller {
    std::string who;  // "user@peer" for the log
  };
  // Pin counts of one server (or of every server of a backend), from one walk over the table.
  struct PinStats {
    std::uint64_t pins = 0;
    std::uint64_t active = 0;
    std::uint64_t new_last_minute = 0;
    std::int64_t last_seen_ms = 0;
    std::int64_t last_expiry_ms = 0;         // when the last pin ends if no client comes back
    std::int64_t active_last_expiry_ms = 0;
  };
  std::map<std::string, PinStats, std::less<>> pin_stats(int backend, std::int64_t now_ms, std::int64_t active_ms,
                                                          std::map<std::string, std::uint64_t>* by_kind) const;
  // A backend's pins by reason and its servers' stats, as the backends and backend calls show them.
  void write_pins_and_servers(Json& j, int backend, const std::string& name, std::int64_t now_ms,
                              std::int64_t active_ms);

  io::HttpResponse backends(const Query& q);
  io::HttpResponse backend(const Route& r, const Query& q);
  io::HttpResponse lookup(const Route& r, const Query& q);
  io::HttpResponse delete_entry(const Route& r, const Query& q, const Caller& c);
  io::HttpResponse clear_backend(const Route& r, const Query& q, const Caller& c);
  io::HttpResponse server_status(const Route& r, const Query& q, bool* below_out = nullptr,
                                 std::uint64_t below = 0);
  io::HttpResponse set_state(const Route& r, const Caller& c, std::string_view state);
  io::HttpReply wait(const Route& r, const Query& q);
  io::HttpResponse dry_run(const Query& q);
  io::HttpResponse hsaf_map();
  io::HttpResponse reload(const Caller& c);  // admin_reload.cc
  io::HttpResponse config_status();          // admin_reload.cc

  // Shared checks; each returns an error response or nothing.
  std::optional<io::HttpResponse> check_backend(const std::string& backend, int& index, bool persist_only) const;
  std::optional<io::HttpResponse> active_window(const Query& q, std::int64_t& out) const;

  StoreAdapter& store_;
  AdminOptions options_;
  // Active-pin samples per "backend/server", for the drain's trend estimate.
  std::map<std::string, std::deque<std::pair<std::int64_t, std::uint64_t>>> drain_samples_;
  std::int64_t last_auth_log_ms_ = 0;
};

// A JSON error body: {"error": message}.
io::HttpResponse json_error(int status, std::string_view message);
// A JSON body with its status.
io::HttpResponse json_ok(std::string body, int status = 200);

}  // namespace sticky::admin
