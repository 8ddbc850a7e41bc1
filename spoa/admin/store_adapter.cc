// StoreAdapter over PersistRuntime, SharedStore, HsafRuntime and HealthPoller (see store_adapter.h).
#include "admin/store_adapter.h"

#include "agent/config_reload.h"
#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "store/redis/shared_pins.h"
#include "health/health_poller.h"

namespace sticky::admin {

StoreAdapter::StoreAdapter(AdminSources sources) : sources_(std::move(sources)) {
  refresh();
}

StoreAdapter::~StoreAdapter() = default;

void StoreAdapter::refresh() {
  backends_ = sources_.persist ? sources_.persist->current() : nullptr;
  profiles_ = sources_.hsaf ? sources_.hsaf->current() : nullptr;
  // The admin's own Redis connection follows a reload's new settings as the workers' do.
  if (sources_.shared) {
    store::SharedStore::OptionsPtr latest = sources_.shared->options();
    if (latest != redis_options_) {
      redis_ = std::make_unique<RedisSync>(*latest);
      redis_options_ = std::move(latest);
    }
  }
}

// Indices come from find_backend() or backend_count() of the same generation (refresh()).
const agent::PersistBackend& StoreAdapter::persist_backend(int index) const { return backends_->backend(index); }

std::size_t StoreAdapter::backend_count() const { return backends_ ? backends_->size() : 0; }

int StoreAdapter::find_backend(std::string_view name) const { return backends_ ? backends_->find(name) : -1; }

BackendInfo StoreAdapter::backend(int index) const {
  auto& b = persist_backend(index);
  const auto& o = b.engine->options();
  BackendInfo info;
  info.name = o.name;
  info.id = o.id;
  info.ttl_ms = o.ttl_ms;
  info.entries = sources_.persist->table().size_for_backend(o.id);
  info.capacity = sources_.persist->table().capacity_for_backend(o.id);
  info.maglev_size = o.maglev_size;
  info.identity = &o.identity;
  info.issues_cookie = o.insert_cookie.has_value();
  return info;
}

model::ServerSetPtr StoreAdapter::servers(std::string_view backend) const {
  if (!sources_.poller) return nullptr;
  const health::ServerViewPtr view = sources_.poller->view();
  return view ? view->find(backend) : nullptr;
}

bool StoreAdapter::view_is_live() const {
  return sources_.poller && !sources_.poller->counters().on_static_fallback;
}

std::size_t StoreAdapter::visit(int backend, const PinVisitor& fn) const {
  auto& rt = *sources_.persist;
  const auto id = persist_backend(backend).engine->options().id;
  const store::ServerRegistry& reg = rt.registry();
  return rt.table().visit_backend(id, [&](const store::StickyKey& k, const store::StickyEntry& e) {
    fn(static_cast<policy::IdentityKind>(k.kind), k.bytes, e, reg.name_of(e.server_id));
  });
}

std::optional<store::StickyEntry> StoreAdapter::peek(int backend, const KeyInput& key, std::int64_t now_ms) const {
  auto& rt = *sources_.persist;
  const auto id = persist_backend(backend).engine->options().id;
  return rt.table().peek({id, static_cast<std::uint8_t>(key.kind), key.key}, now_ms);
}

std::string_view StoreAdapter::server_name(std::uint32_t id) const { return sources_.persist->registry().name_of(id); }

bool StoreAdapter::erase(int backend, const KeyInput& key) {
  auto& rt = *sources_.persist;
  const auto id = persist_backend(backend).engine->options().id;
  return rt.table().erase({id, static_cast<std::uint8_t>(key.kind), key.key});
}

std::size_t StoreAdapter::clear(int backend) {
  auto& rt = *sources_.persist;
  return rt.table().erase_backend(persist_backend(backend).engine->options().id);
}

std::uint64_t StoreAdapter::placement_hash(int backend, std::string_view key) const {
  return persist_backend(backend).engine->placement_hash(as_bytes(key));
}

std::optional<CookieFacts> StoreAdapter::decode_cookie(int backend, std::string_view value, std::int64_t now_ms) const {
  auto& b = persist_backend(backend);
  const policy::CookieCodec* codec = b.engine->codec();
  if (!codec || !b.engine->options().insert_cookie) return std::nullopt;
  CookieFacts f;
  const policy::CookieCheck check = codec->verify(value, now_ms / 1000);
  f.status = std::string(policy::cookie_status_name(check.status));
  if (check.status != policy::CookieStatus::Ok) return f;
  f.issued_ms = static_cast<std::int64_t>(check.cookie.issued) * 1000;
  f.last_seen_ms = static_cast<std::int64_t>(check.cookie.last_seen) * 1000;
  const policy::BackendViewPtr view = b.view.get();
  if (view && view->tokens) {
    const int idx = view->tokens->find(check.cookie.key, check.cookie.server);
    if (idx >= 0) f.server = view->servers->servers[static_cast<std::size_t>(idx)].name;
  }
  return f;
}

std::string StoreAdapter::node_id() const { return sources_.shared ? sources_.shared->options()->node_id : ""; }

RedisSyncResult StoreAdapter::erase_shared(int backend, const KeyInput& key, std::int64_t now_ms) {
  const auto& name = persist_backend(backend).engine->options().name;
  return redis_->erase(name, static_cast<std::uint8_t>(key.kind), key.key, now_ms);
}

RedisSyncResult StoreAdapter::clear_shared(int backend, std::int64_t now_ms) {
  return redis_->clear_backend(persist_backend(backend).engine->options().name, now_ms);
}

RedisSyncResult StoreAdapter::shared_record(int backend, const KeyInput& key) {
  const auto& name = persist_backend(backend).engine->options().name;
  return redis_->get(name, static_cast<std::uint8_t>(key.kind), key.key);
}

health::RuntimeApiReply StoreAdapter::haproxy(const std::string& command) const {
  return health::runtime_api_query(sources_.runtime_api, command, sources_.api_timeout);
}

std::optional<agent::ReloadOutcome> StoreAdapter::reload() {
  if (!sources_.reloader) return std::nullopt;
  agent::ReloadOutcome r = sources_.reloader->reload();
  refresh();  // this request goes on with the generation it made
  return r;
}

std::optional<StoreAdapter::RedisStatus> StoreAdapter::redis_status() const {
  if (!sources_.shared) return std::nullopt;
  const store::SharedStore::OptionsPtr o = sources_.shared->options();
  RedisStatus s;
  if (o->sentinels.empty()) {
    s.servers = store::endpoint_text(o->server);
  } else {
    s.servers = "sentinels ";
    for (std::size_t i = 0; i < o->sentinels.size(); ++i) s.servers += (i ? "," : "") + store::endpoint_text(o->sentinels[i]);
    s.servers += " master " + o->sentinel_master;
  }
  s.cluster = o->cluster;
  s.node_id = o->node_id;
  s.workers = sources_.shared->workers();
  const store::RedisCounters t = sources_.shared->totals();
  s.connected = t.connected;
  s.settings_pending = t.settings_pending;
  s.queue_depth = t.queue_depth;
  return s;
}

std::optional<agent::ReloadStatus> StoreAdapter::reload_status() const {
  if (!sources_.reloader) return std::nullopt;
  return sources_.reloader->status();
}

std::size_t StoreAdapter::hsaf_count() const { return profiles_ ? profiles_->size() : 0; }

HsafProfileInfo StoreAdapter::hsaf(int index) const {
  auto& p = profiles_->profile(index);
  return {p.name, p.config};
}

}  // namespace sticky::admin
