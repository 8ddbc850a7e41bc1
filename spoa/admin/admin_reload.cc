// POST /api/v1/reload and GET /api/v1/config: the config reload through the admin API, with
// the same outcome SIGHUP logs (agent/config_reload.h).
#include "admin/admin_api.h"
#include "admin/json.h"
#include "agent/config_reload.h"
#include "base/log.h"

namespace sticky::admin {

namespace {

void string_list(Json& j, std::string_view name, const std::vector<std::string>& items) {
  j.key(name).begin_array();
  for (const auto& s : items) j.str(s);
  j.end_array();
}

void outcome_fields(Json& j, const agent::ReloadOutcome& r) {
  j.field("outcome", agent::reload_outcome_name(r.kind)).field("generation", r.generation).field("at", r.at_unix_s);
  string_list(j, "errors", r.errors);
  string_list(j, "warnings", r.warnings);
  string_list(j, "changes", r.changes);
  string_list(j, "restart_needed", r.restart_needed);
  j.field("dropped_pins", static_cast<std::uint64_t>(r.dropped_pins));
}

}  // namespace

io::HttpResponse AdminApi::reload(const Caller& c) {
  STICKY_LOG(Info, "admin: %s asked for a config reload", c.who.c_str());
  const std::optional<agent::ReloadOutcome> r = store_.reload();
  if (!r) return json_error(409, "this agent takes no reloads");
  if (r->kind == agent::ReloadOutcome::Kind::NoFile)
    return json_error(409, r->errors.empty() ? "no config file to reload" : r->errors.front());
  Json j;
  j.begin_object();
  outcome_fields(j, *r);
  j.end_object();
  // 422: the request was understood, the config it points at was not acceptable.
  return json_ok(j.take(), r->kind == agent::ReloadOutcome::Kind::Applied ? 200 : 422);
}

io::HttpResponse AdminApi::config_status() {
  const std::optional<agent::ReloadStatus> s = store_.reload_status();
  if (!s) return json_error(409, "this agent takes no reloads");
  Json j;
  j.begin_object()
      .field("generation", s->generation)
      .field("source", s->source)
      .field("reloads_applied", s->applied)
      .field("reloads_refused", s->refused)
      .field("last_reload_successful", s->last_successful());
  string_list(j, "restart_needed", s->restart_needed);
  if (const auto redis = store_.redis_status()) {
    j.key("redis")
        .begin_object()
        .field("servers", redis->servers)
        .field("cluster", redis->cluster)
        .field("node_id", redis->node_id)
        .field("workers", redis->workers)
        .field("workers_connected", redis->connected)
        .field("workers_on_previous_settings", redis->settings_pending)
        .field("queue_depth", redis->queue_depth)
        .end_object();
  }
  j.key("last_reload").begin_object();
  outcome_fields(j, s->last);
  j.end_object();
  j.end_object();
  return json_ok(j.take());
}

}  // namespace sticky::admin
