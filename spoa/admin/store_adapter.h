// The admin API's only door into the agent's state: the persistence backends and their sticky
// table, the Redis-shared store, HAProxy's server view and runtime API, and the HSAF profiles.
// Everything else in spoa/admin/ sees plain values through this class, so a change in how the
// store is organised touches this file alone. Thread-safe where the runtimes are: called from the
// admin thread, never from a worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/identity_input.h"
#include "admin/redis_sync.h"
#include "health/runtime_api.h"
#include "hsaf/hsaf_config.h"
#include "policy/identity.h"
#include "model/server_set.h"
#include "store/sticky_table.h"

namespace sticky::agent {
class PersistRuntime;
class PersistBackends;
struct PersistBackend;
class HsafRuntime;
class HsafProfiles;
class ConfigReloader;
struct ReloadOutcome;
struct ReloadStatus;
}  // namespace sticky::agent
namespace sticky::store {
class SharedStore;
}  // namespace sticky::store
namespace sticky::health {
class HealthPoller;
}

namespace sticky::admin {

struct AdminSources {
  agent::PersistRuntime* persist = nullptr;
  agent::ConfigReloader* reloader = nullptr;  // null: no reloads through the API
  agent::HsafRuntime* hsaf = nullptr;
  store::SharedStore* shared = nullptr;  // null: pins stay in this agent
  health::HealthPoller* poller = nullptr;
  std::string runtime_api;  // HAProxy's stats socket; empty = none
  std::chrono::milliseconds api_timeout{1000};
};

struct BackendInfo {
  std::string name;
  std::uint16_t id = 0;
  std::int64_t ttl_ms = 0;
  std::size_t entries = 0;
  std::size_t capacity = 0;
  std::uint32_t maglev_size = 0;
  const policy::IdentityConfig* identity = nullptr;  // lives until the adapter's next refresh()
  bool issues_cookie = false;
};

struct CookieFacts {
  std::string status;  // "ok" or why the cookie was refused
  std::string server;  // the server it names in the current set ("" if none)
  std::int64_t issued_ms = 0;
  std::int64_t last_seen_ms = 0;
};

struct HsafProfileInfo {
  std::string name;
  hsaf::HsafConfig config;
};

class StoreAdapter {
 public:
  explicit StoreAdapter(AdminSources sources);
  ~StoreAdapter();

  // Takes the current config generation: backend and profile indices given out after this call
  // stay valid until the next one, whatever a reload does meanwhile. Call at the start of every
  // admin request (and of every later step of a waiting one).
  void refresh();

  std::size_t backend_count() const;
  int find_backend(std::string_view name) const;  // -1 if not a persistence backend
  BackendInfo backend(int index) const;

  // HAProxy's current view of any backend (persistence or HSAF), or null.
  model::ServerSetPtr servers(std::string_view backend) const;
  bool view_is_live() const;  // from HAProxy's runtime API, not the config's static lists

  // Every entry of the backend; `server` is the pinned server's name.
  using PinVisitor = std::function<void(policy::IdentityKind kind, std::string_view key,
                                        const store::StickyEntry& entry, std::string_view server)>;
  std::size_t visit(int backend, const PinVisitor& fn) const;
  std::optional<store::StickyEntry> peek(int backend, const KeyInput& key, std::int64_t now_ms) const;
  std::string_view server_name(std::uint32_t id) const;
  bool erase(int backend, const KeyInput& key);
  std::size_t clear(int backend);
  // The engine's placement hash of a key (what weighted Maglev places by).
  std::uint64_t placement_hash(int backend, std::string_view key) const;
  // nullopt when the backend issues no agent cookie.
  std::optional<CookieFacts> decode_cookie(int backend, std::string_view value, std::int64_t now_ms) const;

  bool sharing() const { return redis_ != nullptr; }
  // Where the pins are shared and how the workers' links are (as last published, about once a
  // second): what an operator checks after a reload changed the Redis settings.
  struct RedisStatus {
    std::string servers;  // "host:port", or "sentinels h:p,... master NAME"
    std::string cluster, node_id;
    int workers = 0;
    std::uint64_t connected = 0;         // workers whose link is up
    std::uint64_t settings_pending = 0;  // workers still on the previous settings
    std::uint64_t queue_depth = 0;       // writes waiting for Redis
  };
  std::optional<RedisStatus> redis_status() const;
  std::string node_id() const;
  RedisSyncResult erase_shared(int backend, const KeyInput& key, std::int64_t now_ms);
  RedisSyncResult shared_record(int backend, const KeyInput& key);
  // Every pin of the backend in Redis, and (by the published tombstone) in every agent's table.
  RedisSyncResult clear_shared(int backend, std::int64_t now_ms);

  bool has_runtime_api() const { return !sources_.runtime_api.empty(); }
  health::RuntimeApiReply haproxy(const std::string& command) const;

  // A config reload (as SIGHUP does); nullopt when the agent has no reloader.
  std::optional<agent::ReloadOutcome> reload();
  std::optional<agent::ReloadStatus> reload_status() const;
  std::size_t hsaf_count() const;
  HsafProfileInfo hsaf(int index) const;

 private:
  const agent::PersistBackend& persist_backend(int index) const;

  AdminSources sources_;
  std::shared_ptr<const agent::PersistBackends> backends_;  // refresh()'s generation
  std::shared_ptr<const agent::HsafProfiles> profiles_;
  std::unique_ptr<RedisSync> redis_;
  std::shared_ptr<const store::RedisOptions> redis_options_;  // what redis_ was built with
};

}  // namespace sticky::admin
