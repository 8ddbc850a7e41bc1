// Admin API handlers (see admin_api.h). Every handler validates its input before it reads or
// changes anything, so a bad request gets a 4xx and never touches the table.
#include "admin/admin_api.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

#include "admin/admin_page.h"
#include "admin/dry_run.h"
#include "admin/json.h"
#include "base/log.h"
#include "hsaf/assignment.h"
#include "io/metrics_http.h"
#include "policy/persist_engine.h"

namespace sticky::admin {

namespace {

constexpr std::int64_t kMinuteMs = 60 * 1000;

}  // namespace

io::HttpResponse json_ok(std::string body, int status) {
  io::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

namespace {

std::string_view reason_of(policy::IdentityKind k) {
  using K = policy::IdentityKind;
  using R = policy::PinReason;
  switch (k) {
    case K::AppCookie: return policy::pin_reason_name(R::Learned);
    case K::TrueClientIp: return policy::pin_reason_name(R::ClientIp);
    case K::ForwardedFor: return policy::pin_reason_name(R::ForwardedFor);
    case K::Source: return policy::pin_reason_name(R::Subnet);
    case K::AgentCookie: return policy::pin_reason_name(R::Cookie);
    case K::None: break;
  }
  return "?";
}

// The caller's own name for the log: X-Admin-User if it is short and printable, else "-".
std::string caller_name(const io::HttpRequest& req) {
  const std::string_view u = req.header("x-admin-user");
  if (u.empty() || u.size() > 64) return "-";
  for (char c : u)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return "-";
  return std::string(u);
}

bool parse_uint(std::string_view text, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

void write_server_stats(Json& j, const model::Server* s, const std::string& name, const auto* st) {
  j.begin_object().field("name", name);
  if (s) {
    j.field("state", model::server_state_name(s->state)).field("weight", s->weight);
  } else {
    j.field("state", "gone").field("weight", 0);
  }
  j.field("pins", st ? st->pins : 0)
      .field("active_pins", st ? st->active : 0)
      .field("new_pins_last_minute", st ? st->new_last_minute : 0)
      .field("last_seen_ms", st ? st->last_seen_ms : 0)
      .field("last_expiry_ms", st ? st->last_expiry_ms : 0);
  j.end_object();
}

}  // namespace

io::HttpResponse json_error(int status, std::string_view message) {
  Json j;
  j.begin_object().field("error", message).field("status", status).end_object();
  return json_ok(j.take(), status);
}

AdminApi::AdminApi(StoreAdapter& store, AdminOptions options) : store_(store), options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = [] {
      return static_cast<std::int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count());
    };
}

io::HttpReply AdminApi::handle(const io::HttpRequest& req) {
  io::HttpReply reply;
  store_.refresh();  // one config generation for the whole request
  const Route route = route_request(req.method, req.path);
  // The page and /healthz carry no data: no token. Everything else needs it, even to learn
  // whether an endpoint exists.
  if ((route.kind == RouteKind::Healthz || route.kind == RouteKind::Page) && !route.method_allowed) {
    io::HttpResponse r = json_error(405, "this endpoint takes " + route.allowed);
    r.headers.emplace_back("Allow", route.allowed);
    reply.now = std::move(r);
    return reply;
  }
  if (route.kind == RouteKind::Healthz) {
    reply.now = io::healthz_response(options_.healthy);
    return reply;
  }
  if (route.kind == RouteKind::Page) {
    io::HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(kAdminPage);
    // The page loads nothing from elsewhere; say so to the browser as well.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "connect-src 'self'; img-src 'self' data:");
    reply.now = std::move(r);
    return reply;
  }
  const std::string who = caller_name(req) + "@" + req.peer;
  const std::string_view token = bearer_token(req.header("authorization"));
  const std::string& expected = options_.token_file ? options_.token_file->current() : options_.token;
  if (token.empty() || !secrets_equal(token, expected)) {
    const std::int64_t now = options_.now_ms();
    if (now - last_auth_log_ms_ >= 1000) {  // at most one line a second, whatever a client sends
      last_auth_log_ms_ = now;
      STICKY_LOG(Warn, "admin: %s refused for %s: %s", std::string(route_kind_name(route.kind)).c_str(), who.c_str(),
                 token.empty() ? "no bearer token" : "wrong token");
    }
    io::HttpResponse r = json_error(401, token.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                                       : "wrong token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"sticky-agent\"");
    reply.now = std::move(r);
    return reply;
  }
  if (route.kind == RouteKind::NotFound) {
    reply.now = json_error(404, "no such endpoint: see GET /api/v1/backends, /api/v1/hsaf, /api/v1/dryrun");
    return reply;
  }
  if (!route.method_allowed) {
    io::HttpResponse r = json_error(405, "this endpoint takes " + route.allowed);
    r.headers.emplace_back("Allow", route.allowed);
    reply.now = std::move(r);
    return reply;
  }
  if (route.bad_path) {
    reply.now = json_error(400, "bad %-escape or empty name in the path");
    return reply;
  }
  Query q;
  std::string error;
  if (!parse_query(req.query, q, error)) {
    reply.now = json_error(400, error);
    return reply;
  }
  const Caller caller{who};
  switch (route.kind) {
    case RouteKind::Backends: reply.now = backends(q); break;
    case RouteKind::Backend: reply.now = backend(route, q); break;
    case RouteKind::Lookup: reply.now = lookup(route, q); break;
    case RouteKind::DeleteEntry: reply.now = delete_entry(route, q, caller); break;
    case RouteKind::ClearBackend: reply.now = clear_backend(route, q, caller); break;
    case RouteKind::Server: reply.now = server_status(route, q); break;
    case RouteKind::Drain: reply.now = set_state(route, caller, "drain"); break;
    case RouteKind::Ready: reply.now = set_state(route, caller, "ready"); break;
    case RouteKind::Wait: return wait(route, q);
    case RouteKind::DryRun: reply.now = dry_run(q); break;
    case RouteKind::Hsaf: reply.now = hsaf_map(); break;
    case RouteKind::Reload: reply.now = reload(caller); break;
    case RouteKind::Config: reply.now = config_status(); break;
    default: reply.now = json_error(404, "no such endpoint"); break;
  }
  return reply;
}

std::optional<io::HttpResponse> AdminApi::check_backend(const std::string& backend, int& index,
                                                        bool persist_only) const {
  index = store_.find_backend(backend);
  if (index >= 0) return std::nullopt;
  if (!persist_only && store_.servers(backend)) return std::nullopt;
  std::string known;
  for (std::size_t i = 0; i < store_.backend_count(); ++i)
    known += (known.empty() ? "" : ", ") + store_.backend(static_cast<int>(i)).name;
  return json_error(404, "unknown backend '" + backend.substr(0, 128) + "'" +
                             (persist_only ? " (persistence backends: " : " (known: ") + known + ")");
}

std::optional<io::HttpResponse> AdminApi::active_window(const Query& q, std::int64_t& out) const {
  out = options_.default_active_ms;
  if (auto a = q.get("active")) {
    const auto ms = parse_duration_text(*a);
    if (!ms || *ms <= 0) return json_error(400, "active: expected a duration such as 5m, 30s or 1h");
    out = *ms;
  }
  return std::nullopt;
}

std::map<std::string, AdminApi::PinStats, std::less<>> AdminApi::pin_stats(
    int backend, std::int64_t now_ms, std::int64_t active_ms, std::map<std::string, std::uint64_t>* by_kind) const {
  std::map<std::string, PinStats, std::less<>> out;
  std::array<std::uint64_t, policy::kIdentityKindCount> kinds{};
  store_.visit(backend, [&](policy::IdentityKind kind, std::string_view, const store::StickyEntry& e,
                            std::string_view server) {
    if (e.expires_ms <= now_ms) return;  // expired, not yet swept
    auto it = out.find(server);
    if (it == out.end()) it = out.emplace(std::string(server), PinStats{}).first;
    PinStats& s = it->second;
    ++s.pins;
    const bool active = e.last_seen_ms >= now_ms - active_ms;
    if (active) {
      ++s.active;
      s.active_last_expiry_ms = std::max(s.active_last_expiry_ms, e.expires_ms);
    }
    if (e.created_ms >= now_ms - kMinuteMs) ++s.new_last_minute;
    s.last_seen_ms = std::max(s.last_seen_ms, e.last_seen_ms);
    s.last_expiry_ms = std::max(s.last_expiry_ms, e.expires_ms);
    const auto k = static_cast<std::size_t>(kind);
    if (k < kinds.size()) ++kinds[k];
  });
  if (by_kind)
    for (std::size_t k = 1; k < kinds.size(); ++k)
      if (kinds[k]) (*by_kind)[std::string(reason_of(static_cast<policy::IdentityKind>(k)))] += kinds[k];
  return out;
}

void AdminApi::write_pins_and_servers(Json& j, int backend, const std::string& name, std::int64_t now_ms,
                                      std::int64_t active_ms) {
  std::map<std::string, std::uint64_t> by_kind;
  const auto stats = pin_stats(backend, now_ms, active_ms, &by_kind);
  const model::ServerSetPtr set = store_.servers(name);
  j.key("pins_by_reason").begin_object();
  for (const auto& [reason, n] : by_kind) j.field(reason, n);
  j.end_object();
  j.key("servers").begin_array();
  if (set)
    for (const model::Server& s : set->servers) {
      auto it = stats.find(s.name);
      write_server_stats(j, &s, s.name, it == stats.end() ? nullptr : &it->second);
    }
  // Pins to servers HAProxy no longer lists: they move at the clients' next requests.
  for (const auto& [server, st] : stats)
    if (!set || set->find(server) < 0) write_server_stats(j, nullptr, server, &st);
  j.end_array();
}

io::HttpResponse AdminApi::backends(const Query& q) {
  std::int64_t active_ms = 0;
  if (auto e = active_window(q, active_ms)) return *e;
  const std::int64_t now = options_.now_ms();
  Json j;
  j.begin_object()
      .field("node", store_.node_id())
      .field("now_ms", now)
      .field("active_window_ms", active_ms)
      .field("live_view", store_.view_is_live())
      .field("sharing", store_.sharing())
      .field("runtime_api", store_.has_runtime_api());
  j.key("backends").begin_array();
  for (std::size_t i = 0; i < store_.backend_count(); ++i) {
    const BackendInfo info = store_.backend(static_cast<int>(i));
    j.begin_object()
        .field("name", info.name)
        .field("ttl_ms", info.ttl_ms)
        .field("entries", info.entries)
        .field("capacity", info.capacity)
        .field("issues_cookie", info.issues_cookie);
    write_pins_and_servers(j, static_cast<int>(i), info.name, now, active_ms);
    j.end_object();
  }
  j.end_array();
  j.key("hsaf").begin_array();
  for (std::size_t i = 0; i < store_.hsaf_count(); ++i) j.str(store_.hsaf(static_cast<int>(i)).name);
  j.end_array().end_object();
  return json_ok(j.take());
}

io::HttpResponse AdminApi::backend(const Route& r, const Query& q) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, true)) return *e;
  std::int64_t active_ms = 0;
  if (auto e = active_window(q, active_ms)) return *e;
  const std::int64_t now = options_.now_ms();
  const BackendInfo info = store_.backend(index);
  Json j;
  j.begin_object()
      .field("name", info.name)
      .field("now_ms", now)
      .field("active_window_ms", active_ms)
      .field("ttl_ms", info.ttl_ms)
      .field("entries", info.entries)
      .field("capacity", info.capacity);
  write_pins_and_servers(j, index, info.name, now, active_ms);
  j.end_object();
  return json_ok(j.take());
}

io::HttpResponse AdminApi::lookup(const Route& r, const Query& q) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, true)) return *e;
  const auto kind = q.get("kind");
  const auto value = q.get("value");
  if (!kind || !value) return json_error(400, "give kind= and value= (e.g. kind=true_client_ip&value=203.0.113.7)");
  const BackendInfo info = store_.backend(index);
  const std::int64_t now = options_.now_ms();
  if (*kind == "agent_cookie" || *kind == "cookie") {
    const auto facts = store_.decode_cookie(index, *value, now);
    if (!facts) return json_error(400, "backend '" + info.name + "' issues no agent cookie");
    Json j;
    j.begin_object()
        .field("backend", info.name)
        .field("kind", "agent_cookie")
        .field("found", facts->status == "ok" && !facts->server.empty())
        .field("cookie_status", facts->status)
        .field("server", facts->server)
        .field("reason", reason_of(policy::IdentityKind::AgentCookie))
        .field("created_ms", facts->issued_ms)
        .field("last_seen_ms", facts->last_seen_ms)
        .field("origin", "cookie")
        .end_object();
    return json_ok(j.take(), facts->status == "ok" ? 200 : 404);
  }
  KeyInput key;
  std::string error;
  if (!parse_identity_input(*kind, *value, *info.identity, key, error)) return json_error(400, error);
  const auto entry = store_.peek(index, key, now);
  Json j;
  j.begin_object()
      .field("backend", info.name)
      .field("kind", policy::identity_kind_name(key.kind))
      .field("key", describe_key(key.kind, key.key, *info.identity))
      .field("key_hex", hex_of(key.key))
      .field("found", entry.has_value());
  if (entry) {
    j.field("server", store_.server_name(entry->server_id))
        .field("reason", reason_of(key.kind))
        .field("created_ms", entry->created_ms)
        .field("last_seen_ms", entry->last_seen_ms)
        .field("expires_ms", entry->expires_ms)
        .field("version", entry->version);
  }
  if (store_.sharing()) {
    const RedisSyncResult s = store_.shared_record(index, key);
    j.key("shared").begin_object().field("ok", s.ok);
    if (!s.error.empty()) j.field("error", s.error);
    j.field("found", s.record.has_value());
    if (s.record) {
      j.field("server", s.record->server)
          .field("origin", s.record->origin)
          .field("version", s.record->version)
          .field("created_ms", s.record->created_ms)
          .field("expires_ms", s.record->expires_ms);
    }
    j.end_object();
    if (s.record) j.field("origin", s.record->origin);
  } else if (entry) {
    j.field("origin", "local");  // no sharing: every pin was made by this agent
  }
  j.end_object();
  return json_ok(j.take(), entry ? 200 : 404);
}

io::HttpResponse AdminApi::delete_entry(const Route& r, const Query& q, const Caller& c) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, true)) return *e;
  const auto kind = q.get("kind");
  const auto value = q.get("value");
  if (!kind || !value) return json_error(400, "give kind= and value= of the entry to delete");
  const BackendInfo info = store_.backend(index);
  KeyInput key;
  std::string error;
  if (!parse_identity_input(*kind, *value, *info.identity, key, error)) return json_error(400, error);
  const std::int64_t now = options_.now_ms();
  const auto before = store_.peek(index, key, now);
  const bool local = store_.erase(index, key);
  Json j;
  j.begin_object()
      .field("backend", info.name)
      .field("kind", policy::identity_kind_name(key.kind))
      .field("key", describe_key(key.kind, key.key, *info.identity))
      .field("deleted_local", local);
  if (before) j.field("server", store_.server_name(before->server_id));
  int status = local ? 200 : 404;
  std::string shared_note = "no sharing";
  if (store_.sharing()) {
    const RedisSyncResult s = store_.erase_shared(index, key, now);
    j.key("shared").begin_object().field("ok", s.ok).field("deleted", s.deleted).field("published_to", s.receivers);
    if (!s.error.empty()) j.field("error", s.error);
    j.end_object();
    if (!s.ok) status = 502;  // the local entry is gone; Redis and the other nodes may still have it
    else if (s.deleted > 0) status = 200;
    shared_note = s.ok ? "redis deleted " + std::to_string(s.deleted) + ", published to " +
                             std::to_string(s.receivers)
                       : "redis failed: " + s.error;
  }
  j.end_object();
  STICKY_LOG(Info, "admin: %s deleted %s entry %s of backend %s (%s): local %s, %s", c.who.c_str(),
             std::string(policy::identity_kind_name(key.kind)).c_str(),
             describe_key(key.kind, key.key, *info.identity).c_str(), info.name.c_str(),
             before ? std::string(store_.server_name(before->server_id)).c_str() : "no pin",
             local ? "removed" : "absent", shared_note.c_str());
  return json_ok(j.take(), status);
}

io::HttpResponse AdminApi::clear_backend(const Route& r, const Query& q, const Caller& c) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, true)) return *e;
  // scope=local (the default): this agent's table only; scope=shared: Redis and every agent too.
  const std::string_view scope = q.get("scope").value_or("local");
  if (scope != "local" && scope != "shared") return json_error(400, "scope: expected local or shared");
  if (scope == "shared" && !store_.sharing())
    return json_error(409, "scope=shared: this agent shares no pins (no redis section)");
  const BackendInfo info = store_.backend(index);
  const std::size_t removed = store_.clear(index);
  Json j;
  j.begin_object().field("backend", info.name).field("removed", removed).field("scope", scope);
  int status = 200;
  std::string shared_note;
  if (scope == "shared") {
    const RedisSyncResult s = store_.clear_shared(index, options_.now_ms());
    j.key("shared").begin_object().field("ok", s.ok).field("deleted", s.deleted).field("published_to", s.receivers);
    if (!s.error.empty()) j.field("error", s.error);
    j.end_object();
    if (!s.ok) status = 502;  // this table is empty; Redis and the other agents may still hold pins
    shared_note = s.ok ? "; redis deleted " + std::to_string(s.deleted) + ", published to " +
                             std::to_string(s.receivers)
                       : "; redis failed: " + s.error;
  }
  j.end_object();
  STICKY_LOG(Info, "admin: %s cleared backend %s: %zu entries removed from this agent's table%s", c.who.c_str(),
             info.name.c_str(), removed, shared_note.c_str());
  return json_ok(j.take(), status);
}

io::HttpResponse AdminApi::server_status(const Route& r, const Query& q, bool* below_out, std::uint64_t below) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, false)) return *e;
  std::int64_t active_ms = 0;
  if (auto e = active_window(q, active_ms)) return *e;
  const model::ServerSetPtr set = store_.servers(r.backend);
  const int si = set ? set->find(r.server) : -1;
  PinStats st;
  const std::int64_t now = options_.now_ms();
  if (index >= 0) {
    const auto stats = pin_stats(index, now, active_ms, nullptr);
    if (auto it = stats.find(r.server); it != stats.end()) st = it->second;
  }
  if (si < 0 && st.pins == 0)
    return json_error(404, "no server '" + r.server.substr(0, 128) + "' in backend '" + r.backend + "'");
  // The trend: active pins sampled at each status call over the last 10 minutes; a steady decline
  // extrapolates to zero. Without a decline there is no trend estimate, only the expiry bound.
  auto& samples = drain_samples_[r.backend + "/" + r.server];
  samples.emplace_back(now, st.active);
  while (!samples.empty() && samples.front().first < now - 10 * kMinuteMs) samples.pop_front();
  if (samples.size() > 600) samples.pop_front();
  std::optional<std::int64_t> trend_end;
  if (st.active == 0) {
    trend_end = now;
  } else if (samples.size() >= 2) {
    const auto& [t0, a0] = samples.front();
    if (a0 > st.active && now > t0) {
      const double rate = static_cast<double>(a0 - st.active) / static_cast<double>(now - t0);  // pins per ms
      trend_end = now + static_cast<std::int64_t>(static_cast<double>(st.active) / rate);
    }
  }
  Json j;
  j.begin_object().field("backend", r.backend).field("server", r.server).field("now_ms", now);
  if (si >= 0) {
    const model::Server& s = set->servers[static_cast<std::size_t>(si)];
    j.field("state", model::server_state_name(s.state)).field("weight", s.weight);
  } else {
    j.field("state", "gone").field("weight", 0);
  }
  j.field("persistence", index >= 0)
      .field("active_window_ms", active_ms)
      .field("pins", st.pins)
      .field("active_pins", st.active)
      .field("new_pins_last_minute", st.new_last_minute)
      .field("last_seen_ms", st.last_seen_ms)
      // If no client of this server comes back, its last pin ends here.
      .field("last_expiry_ms", st.last_expiry_ms)
      .field("active_last_expiry_ms", st.active_last_expiry_ms);
  j.key("estimated_end_ms");
  if (trend_end) j.num(*trend_end);
  else j.null();
  if (below_out) {
    *below_out = st.active < below;
    j.field("below", below).field("reached", *below_out);
  }
  j.end_object();
  return json_ok(j.take());
}

io::HttpResponse AdminApi::set_state(const Route& r, const Caller& c, std::string_view state) {
  int index = -1;
  if (auto e = check_backend(r.backend, index, false)) return *e;
  if (!valid_haproxy_name(r.backend) || !valid_haproxy_name(r.server))
    return json_error(400, "names may hold only letters, digits and - _ . :");
  const model::ServerSetPtr set = store_.servers(r.backend);
  if (!set || set->find(r.server) < 0)
    return json_error(404, "no server '" + r.server + "' in backend '" + r.backend + "'");
  if (!store_.has_runtime_api())
    return json_error(409, "no haproxy.runtime_api configured: the agent cannot change HAProxy's state");
  const std::string before(model::server_state_name(set->servers[static_cast<std::size_t>(set->find(r.server))].state));
  const std::string command = "set server " + r.backend + "/" + r.server + " state " + std::string(state);
  const health::RuntimeApiReply reply = store_.haproxy(command);
  std::string text = reply.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  // HAProxy answers an accepted `set server` with an empty line; anything else is its complaint.
  const bool ok = reply.ok && text.empty();
  STICKY_LOG(Info, "admin: %s asked HAProxy '%s' (was %s): %s", c.who.c_str(), command.c_str(), before.c_str(),
             ok ? "done" : (reply.ok ? text.c_str() : reply.error.c_str()));
  Json j;
  j.begin_object()
      .field("backend", r.backend)
      .field("server", r.server)
      .field("command", command)
      .field("ok", ok)
      .field("state_before", before);
  if (!reply.ok) j.field("error", reply.error);
  else if (!text.empty()) j.field("haproxy", text);
  j.end_object();
  return json_ok(j.take(), ok ? 200 : 502);
}

io::HttpReply AdminApi::wait(const Route& r, const Query& q) {
  io::HttpReply reply;
  std::uint64_t below = 1;
  if (auto b = q.get("below"); b && !parse_uint(*b, below)) {
    reply.now = json_error(400, "below: expected a whole number of active pins");
    return reply;
  }
  double wait_s = 30;
  if (auto t = q.get("timeout")) {
    const auto ms = parse_duration_text(*t);
    if (!ms || static_cast<double>(*ms) / 1000.0 > options_.max_wait_s) {
      reply.now = json_error(400, "timeout: expected a duration up to " +
                                      std::to_string(static_cast<int>(options_.max_wait_s)) + "s");
      return reply;
    }
    wait_s = static_cast<double>(*ms) / 1000.0;
  }
  bool reached = false;
  io::HttpResponse first = server_status(r, q, &reached, below);
  if (first.status != 200 || reached || wait_s <= 0) {
    reply.now = std::move(first);
    return reply;
  }
  reply.wait_s = wait_s;
  reply.later = [this, r, q, below](bool last) -> std::optional<io::HttpResponse> {
    store_.refresh();  // a reload may have come since the last step: backends are found again by name
    bool done = false;
    io::HttpResponse now = server_status(r, q, &done, below);
    if (done || last || now.status != 200) return now;
    return std::nullopt;
  };
  return reply;
}

io::HttpResponse AdminApi::dry_run(const Query& q) {
  const auto backend = q.get("backend");
  const auto server = q.get("server");
  const auto change_text = q.get("change");
  if (!backend || !server || !change_text)
    return json_error(400, "give backend=, server= and change= (maint, down, drain, weight, add, leave)");
  ServerChange change;
  if (!parse_change_kind(*change_text, change.kind))
    return json_error(400, "change: expected maint, down, drain, weight, add or leave");
  change.server = std::string(*server);
  if (change.kind == ServerChange::Kind::Weight || change.kind == ServerChange::Kind::Add) {
    std::uint64_t w = change.kind == ServerChange::Kind::Add ? 1 : 0;
    const auto wt = q.get("weight");
    if ((change.kind == ServerChange::Kind::Weight && !wt) || (wt && (!parse_uint(*wt, w) || w > 256)))
      return json_error(400, "weight: expected 0 to 256");
    change.weight = static_cast<std::uint32_t>(w);
  }
  if (!valid_haproxy_name(change.server)) return json_error(400, "server: names hold only letters, digits and - _ . :");
  int index = -1;
  const std::string b(*backend);
  if (auto e = check_backend(b, index, false)) return *e;
  const model::ServerSetPtr before = store_.servers(b);
  if (!before) return json_error(409, "no server list for backend '" + b + "' yet");
  model::ServerSet after;
  std::string error;
  if (!apply_change(*before, change, after, error))
    return json_error(error.starts_with("no server") ? 404 : 400, error);
  std::int64_t active_ms = 0;
  if (auto e = active_window(q, active_ms)) return *e;
  const std::int64_t now = options_.now_ms();

  Json j;
  j.begin_object().field("backend", b).field("now_ms", now).field("active_window_ms", active_ms);
  j.key("change")
      .begin_object()
      .field("kind", change_kind_name(change.kind))
      .field("server", change.server)
      .field("weight", change.weight)
      .end_object();
  j.key("persistence");
  if (index >= 0) {
    const BackendInfo info = store_.backend(index);
    std::vector<PinSample> pins;
    pins.reserve(info.entries);
    store_.visit(index, [&](policy::IdentityKind, std::string_view key, const store::StickyEntry& e,
                            std::string_view srv) {
      if (e.expires_ms <= now) return;
      // Hashing here holds a shard lock a little longer; it is one hash per entry.
      pins.push_back({store_.placement_hash(index, key), before->find(srv), e.last_seen_ms >= now - active_ms});
    });
    const PersistDryRun d = dry_run_persist(*before, after, pins, info.maglev_size);
    j.begin_object();
    if (!d.error.empty()) j.field("error", d.error);
    j.field("pins", d.pins)
        .field("active_pins", d.active_pins)
        .field("pins_moving", d.pins_moving)
        .field("active_pins_moving", d.active_pins_moving)
        .field("share_moving", d.share_moving)
        .field("moving_unplaced", d.moving_unplaced)
        .field("new_client_share_moved", d.new_client_share_moved)
        .field("pins_placed_elsewhere", d.pins_placed_elsewhere);
    j.key("moving_to").begin_object();
    for (const auto& dest : d.moving_to) j.field(dest.server, dest.pins);
    j.end_object().end_object();
  } else {
    j.null();
  }
  j.key("hsaf").begin_array();
  for (std::size_t i = 0; i < store_.hsaf_count(); ++i) {
    const HsafProfileInfo p = store_.hsaf(static_cast<int>(i));
    struct Use {
      const char* role;
      const hsaf::RegionConfig* region;
      hsaf::SerialRange range;
    };
    std::vector<Use> uses;
    const bool parent = p.config.tier == hsaf::Tier::Parent;
    if (p.config.region.backend == b) uses.push_back({"region", &p.config.region, p.config.serials});
    if (parent && p.config.other_region.backend == b)
      uses.push_back({"other_region", &p.config.other_region, p.config.serials2});
    if (!p.config.overflow.backend.empty() && p.config.overflow.backend == b) {
      uses.push_back({"overflow", &p.config.overflow, p.config.serials});
      if (parent) uses.push_back({"overflow", &p.config.overflow, p.config.serials2});
    }
    for (const Use& u : uses) {
      const HsafDryRun d = dry_run_hsaf(*before, after, u.range, p.config.assignment);
      j.begin_object()
          .field("profile", p.name)
          .field("role", u.role)
          .field("region", u.region->name)
          .field("serial_min", u.range.min)
          .field("serial_max", u.range.max);
      if (!d.error.empty()) j.field("error", d.error);
      j.field("serials", d.serials).field("moved", d.moved).field("share_moved", d.share_moved);
      j.key("loads").begin_array();
      for (const auto& l : d.loads)
        j.begin_object().field("peer", l.peer).field("before", l.before).field("after", l.after).end_object();
      j.end_array().end_object();
    }
  }
  j.end_array().end_object();
  return json_ok(j.take());
}

io::HttpResponse AdminApi::hsaf_map() {
  Json j;
  j.begin_object().key("profiles").begin_array();
  for (std::size_t i = 0; i < store_.hsaf_count(); ++i) {
    const HsafProfileInfo p = store_.hsaf(static_cast<int>(i));
    const bool parent = p.config.tier == hsaf::Tier::Parent;
    j.begin_object().field("name", p.name).field("tier", parent ? "parent" : "edge");
    j.key("tables").begin_array();
    auto table = [&](const hsaf::RegionConfig& region, const hsaf::SerialRange& range, const char* role) {
      const model::ServerSetPtr set = store_.servers(region.backend);
      j.begin_object()
          .field("role", role)
          .field("region", region.name)
          .field("backend", region.backend)
          .field("serial_min", range.min)
          .field("serial_max", range.max);
      if (!set) {
        j.field("error", "no server list for this backend yet").end_object();
        return;
      }
      // The same builder the router uses, over HAProxy's current view: the map the router holds.
      const hsaf::AssignmentBuild built = hsaf::build_assignment(*set, range, p.config.assignment);
      if (!built.ok()) {
        j.field("error", built.errors.front()).end_object();
        return;
      }
      j.key("peers").begin_array();
      for (std::size_t k = 0; k < set->servers.size(); ++k) {
        const model::Server& s = set->servers[k];
        j.begin_object()
            .field("name", s.name)
            .field("state", model::server_state_name(s.state))
            .field("weight", s.weight)
            .field("serials", k < built.table.loads().size() ? built.table.loads()[k] : 0)
            .end_object();
      }
      j.end_array();
      j.key("peer_of").begin_array();
      for (std::uint32_t s = range.min;; ++s) {
        j.num(static_cast<std::int64_t>(built.table.peer_of(s)));
        if (s == range.max) break;
      }
      j.end_array().end_object();
    };
    table(p.config.region, p.config.serials, "region");
    if (parent) table(p.config.other_region, p.config.serials2, "other_region");
    j.end_array().end_object();
  }
  j.end_array().end_object();
  return json_ok(j.take());
}

}  // namespace sticky::admin
