// Builds the persistence engines from the agent config and keeps their server views current.
#include "agent/persist_runtime.h"

#include <chrono>

#include "base/hash.h"
#include "base/read_file.h"
#include "base/log.h"
#include "policy/cidr.h"

namespace sticky::agent {

namespace {

policy::IdentityKind to_kind(config::IdentitySource s) {
  switch (s) {
    case config::IdentitySource::AgentCookie: return policy::IdentityKind::AgentCookie;
    case config::IdentitySource::AppCookie: return policy::IdentityKind::AppCookie;
    case config::IdentitySource::TrueClientIp: return policy::IdentityKind::TrueClientIp;
    case config::IdentitySource::ForwardedFor: return policy::IdentityKind::ForwardedFor;
    case config::IdentitySource::Source: return policy::IdentityKind::Source;
  }
  return policy::IdentityKind::Source;
}

policy::SameSite to_same_site(config::SameSite s) {
  switch (s) {
    case config::SameSite::Lax: return policy::SameSite::Lax;
    case config::SameSite::Strict: return policy::SameSite::Strict;
    case config::SameSite::None: return policy::SameSite::None;
  }
  return policy::SameSite::Lax;
}

bool read_secret(const std::string& path, std::string& out, std::string& error) {
  if (!read_whole_file(path, out)) {
    error = path + ": cannot read the cookie secret";
    return false;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return true;
}

void add_cidrs(policy::CidrSet& set, const std::vector<std::string>& list, const std::string& where,
               std::vector<std::string>& errors) {
  for (const auto& text : list) {
    const policy::CidrParse p = policy::parse_cidr(text);
    if (p.error != policy::CidrError::Ok) {
      errors.push_back(where + ": '" + text + "': " + std::string(policy::cidr_error_text(p.error)));
      continue;
    }
    set.add(p.cidr);
  }
}

// Key ids come from the secret itself, so every node and every rotation step agrees on them
// without numbering secrets by hand. Two live secrets may share an id (1 in 16): the codec tries
// each key of a cookie's id, and the MAC picks the one that sealed it.
std::uint8_t key_id_for(const std::string& secret) {
  return static_cast<std::uint8_t>(stable_hash64(secret, 0x6b65792d6964ULL) & 0x0F);
}

}  // namespace

std::shared_ptr<PersistBackends> PersistRuntime::make_backends(const config::Config& cfg,
                                                               std::vector<std::string>& errors) const {
  const std::size_t errors_before = errors.size();
  auto out = std::make_shared<PersistBackends>();
  std::vector<std::string> names;
  for (const auto& b : cfg.backends) names.push_back(b.name);
  out->unknown_backends_ = std::make_unique<UnknownBackendReport>(std::move(names));

  std::uint16_t next_id = next_id_;
  for (const config::Backend& b : cfg.backends) {
    const std::string where = cfg.source + ": backend '" + b.name + "'";
    policy::PersistOptions o;
    o.name = b.name;
    if (auto it = ids_.find(b.name); it != ids_.end()) {
      o.id = it->second;
    } else if (next_id >= store::kMaxStickyBackendIds) {
      errors.push_back(where + ": more than " + std::to_string(store::kMaxStickyBackendIds) +
                       " backends since start (ids are never reused): restart the agent to add it");
      continue;
    } else {
      o.id = next_id++;
    }
    o.ttl_ms = b.ttl.count();
    o.shared = shared_;

    // Identity order: as configured, else every configured source in the canonical order.
    std::vector<policy::IdentityKind> order;
    for (auto s : b.identity) order.push_back(to_kind(s));
    if (order.empty()) {
      if (b.agent_cookie) order.push_back(policy::IdentityKind::AgentCookie);
      if (b.app_cookie) order.push_back(policy::IdentityKind::AppCookie);
      if (b.true_client_ip) order.push_back(policy::IdentityKind::TrueClientIp);
      if (b.forwarded_for) order.push_back(policy::IdentityKind::ForwardedFor);
      order.push_back(policy::IdentityKind::Source);
    }
    o.identity.order_len = std::min<std::size_t>(order.size(), o.identity.order.size());
    for (std::size_t i = 0; i < o.identity.order_len; ++i) o.identity.order[i] = order[i];
    if (auto why = policy::identity_order_error(o.identity); !why.empty())
      errors.push_back(where + ": identity: " + std::string(why));

    if (b.true_client_ip) {
      policy::CidrSet ranges;
      if (!b.true_client_ip->trusted_file.empty()) {
        policy::CidrLoad l = policy::load_cidr_file(b.true_client_ip->trusted_file);
        for (auto& e : l.errors) errors.push_back(e);
        for (auto& w : l.warnings) STICKY_LOG(Warn, "%s", w.c_str());
        ranges = std::move(l.set);
      }
      add_cidrs(ranges, b.true_client_ip->trusted, where + ": true_client_ip.trusted", errors);
      o.identity.cdn_ranges = std::move(ranges);
      o.identity.tci_mask_v4 = static_cast<std::uint8_t>(b.true_client_ip->mask_v4);
      o.identity.tci_mask_v6 = static_cast<std::uint8_t>(b.true_client_ip->mask_v6);
    }
    if (b.forwarded_for) {
      add_cidrs(o.identity.trusted_proxies, b.forwarded_for->trusted_proxies,
                where + ": forwarded_for.trusted_proxies", errors);
      o.identity.xff_mask_v4 = static_cast<std::uint8_t>(b.forwarded_for->mask_v4);
      o.identity.xff_mask_v6 = static_cast<std::uint8_t>(b.forwarded_for->mask_v6);
    }
    if (b.source) {
      o.identity.source_mask_v4 = static_cast<std::uint8_t>(b.source->mask_v4);
      o.identity.source_mask_v6 = static_cast<std::uint8_t>(b.source->mask_v6);
    }

    std::unique_ptr<policy::CookieCodec> codec;
    if (b.agent_cookie) {
      const auto& ac = *b.agent_cookie;
      policy::CookieLimits limits;
      limits.max_idle = static_cast<std::uint32_t>(ac.max_idle.count() / 1000);
      limits.max_life = static_cast<std::uint32_t>(ac.max_life.count() / 1000);
      codec = std::make_unique<policy::CookieCodec>(limits);
      // secret_files are newest first; the codec issues with the key added last.
      for (auto it = ac.secret_files.rbegin(); it != ac.secret_files.rend(); ++it) {
        std::string secret, error;
        if (!read_secret(*it, secret, error)) {
          errors.push_back(where + ": " + error);
          continue;
        }
        const std::uint8_t id = key_id_for(secret);
        if (auto why = codec->add_key(id, secret); !why.empty())
          errors.push_back(where + ": agent_cookie secret " + *it + ": " + std::string(why));
      }
      policy::CookieAttributes attrs;
      attrs.name = ac.name;
      attrs.path = ac.path;
      attrs.domain = ac.domain;
      attrs.secure = ac.secure;
      attrs.http_only = ac.http_only;
      attrs.same_site = to_same_site(ac.same_site);
      if (auto why = policy::cookie_attributes_error(attrs); !why.empty())
        errors.push_back(where + ": agent_cookie: " + std::string(why));
      o.insert_cookie = attrs;
    }

    auto pb = std::make_unique<PersistBackend>();
    pb->capacity = static_cast<std::size_t>(b.capacity);
    pb->engine = std::make_unique<policy::PersistEngine>(std::move(o), std::move(codec), *registry_);
    out->names_.push_back(pb->engine->options().name);
    out->backends_.push_back(std::move(pb));
  }
  if (errors.size() != errors_before) return nullptr;
  out->haproxy_tables_ = table_targets(cfg);
  return out;
}

std::vector<HaproxyTableSync::Target> PersistRuntime::table_targets(const config::Config& cfg) {
  std::vector<HaproxyTableSync::Target> tables;
  for (const config::Backend& b : cfg.backends)
    if (!b.haproxy_table.empty()) tables.push_back({b.name, b.haproxy_table});
  return tables;
}

std::unique_ptr<PersistRuntime> PersistRuntime::build(const config::Config& cfg,
                                                      std::vector<std::string>& errors) {
  std::unique_ptr<PersistRuntime> rt(new PersistRuntime());
  rt->shared_ = cfg.redis.has_value();
  // Each backend's `capacity` bounds that backend's own entries (backend id = config order at
  // start; a reload adds partitions for the backends it adds); the shared partition only catches
  // ids no backend has, which the engines never produce.
  store::StickyTableOptions topt;
  topt.capacity = 1024;
  for (const auto& b : cfg.backends) topt.backend_capacity.push_back(static_cast<std::size_t>(b.capacity));
  rt->table_ = std::make_unique<store::StickyTable>(topt);
  rt->registry_ = std::make_unique<store::ServerRegistry>();
  std::shared_ptr<PersistBackends> first = rt->make_backends(cfg, errors);
  if (!first) return nullptr;
  for (const auto& b : first->backends_) rt->ids_.emplace(b->engine->options().name, b->engine->options().id);
  rt->next_id_ = static_cast<std::uint16_t>(first->backends_.size());
  rt->current_.publish(std::move(first));
  // Fast path: HAProxy caches pins in its own stick tables; servers leaving clear theirs.
  std::vector<HaproxyTableSync::Target> tables = table_targets(cfg);
  if (!tables.empty() && cfg.haproxy.runtime_api.empty()) {
    errors.push_back(cfg.source + ": haproxy_table needs haproxy.runtime_api (the agent clears pins through it)");
    return nullptr;
  }
  if (!cfg.haproxy.runtime_api.empty()) {
    const std::string endpoint = cfg.haproxy.runtime_api;
    const auto timeout = std::chrono::milliseconds(cfg.haproxy.api_timeout.count());
    rt->table_sync_ = std::make_unique<HaproxyTableSync>(
        std::move(tables), [endpoint, timeout](const std::string& command) {
          return health::runtime_api_query(endpoint, command, timeout);
        });
  }
  return rt;
}

std::shared_ptr<PersistBackends> PersistRuntime::prepare(const config::Config& cfg, std::vector<std::string>& errors,
                                                         PersistReloadPlan& plan) const {
  // Redis added or removed is reported by restart_needed() ("redis"): engines keep sharing as started.
  const std::vector<HaproxyTableSync::Target> tables = table_targets(cfg);
  if (!tables.empty() && !table_sync_)
    errors.push_back(cfg.source + ": haproxy_table needs haproxy.runtime_api, which this agent was started " +
                     "without (set it and restart)");
  std::shared_ptr<PersistBackends> next = make_backends(cfg, errors);
  if (!next || !errors.empty()) return nullptr;
  const PersistBackendsPtr now = current();
  for (const config::Backend& b : cfg.backends) {
    const int old = now->find(b.name);
    if (old < 0) {
      plan.changes.push_back("backend '" + b.name + "' added");
      continue;
    }
    const std::uint16_t id = now->backend(old).engine->options().id;
    if (table_->has_own_partition(id) && table_->capacity_for_backend(id) != b.capacity)
      plan.restart_needed.push_back("backends." + b.name + ".capacity (" +
                                    std::to_string(table_->capacity_for_backend(id)) + " until a restart)");
  }
  for (std::size_t i = 0; i < now->size(); ++i) {
    const std::string& name = now->backend(static_cast<int>(i)).engine->options().name;
    if (next->find(name) < 0) plan.changes.push_back("backend '" + name + "' removed (its pins are dropped)");
  }
  next->generation_ = now->generation() + 1;
  return next;
}

std::size_t PersistRuntime::apply(std::shared_ptr<PersistBackends> next, const health::ServerView* view) {
  PersistBackendsPtr old;
  {
    // Under the rebuild lock: a view the follower delivers from now on lands on `next`.
    std::lock_guard<std::mutex> lock(rebuild_mutex_);
    old = current_.get();
    for (const auto& b : next->backends_) {
      const std::uint16_t id = b->engine->options().id;
      if (!table_->has_own_partition(id)) table_->add_partition(id, b->capacity);
      if (view)
        if (const auto& set = view->find(b->engine->options().name)) publish_servers(*b, set);
    }
    ids_.clear();
    for (const auto& b : next->backends_) {
      ids_.emplace(b->engine->options().name, b->engine->options().id);
      next_id_ = std::max<std::uint16_t>(next_id_, static_cast<std::uint16_t>(b->engine->options().id + 1));
    }
    current_.publish(next);
  }
  if (table_sync_) table_sync_->set_targets(next->haproxy_tables_);
  // The pins of removed backends: a worker still finishing a message of the old generation may
  // write one more, which expires with its TTL (its id is never used again).
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < old->size(); ++i) {
    const policy::PersistOptions& o = old->backend(static_cast<int>(i)).engine->options();
    if (next->find(o.name) < 0) dropped += table_->erase_backend(o.id);
  }
  reload_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

// Every message names its backend: compared by length, then byte by byte (names are short, and
// a memcmp call per configured backend was a measurable share of a request).
int PersistBackends::find(std::string_view backend) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const std::string& n = names_[i];
    if (n.size() != backend.size()) continue;
    std::size_t k = 0;
    while (k < n.size() && n[k] == backend[k]) ++k;
    if (k == n.size()) return static_cast<int>(i);
  }
  return -1;
}

std::vector<store::PinBackend> PersistRuntime::pin_backends() const {
  std::vector<store::PinBackend> out;
  const PersistBackendsPtr now = current();
  for (std::size_t i = 0; i < now->size(); ++i) {
    const policy::PersistOptions& o = now->backend(static_cast<int>(i)).engine->options();
    if (out.size() <= o.id) out.resize(o.id + 1u);
    out[o.id] = {o.name, o.ttl_ms};
  }
  return out;
}

void PersistRuntime::publish_servers(PersistBackend& b, model::ServerSetPtr servers) {
  // The poller hands back the same set object while a backend is unchanged.
  if (!servers || servers == b.servers) return;
  b.servers = servers;
  b.view.publish(b.engine->make_view(std::move(servers)));
}

void PersistRuntime::follow(const health::ServerView& view) {
  {
    std::lock_guard<std::mutex> lock(rebuild_mutex_);  // one rebuild at a time, never on a retired generation
    const PersistBackendsPtr now = current_.get();
    for (const auto& b : now->backends_)
      if (const auto& set = view.find(b->engine->options().name)) publish_servers(*b, set);
  }
  if (table_sync_) table_sync_->follow(view);
}

void add_counters(policy::PersistCounters& into, const policy::PersistCounters& from) {
  for (std::size_t i = 0; i < into.decisions.size(); ++i) into.decisions[i] += from.decisions[i];
  auto& a = into.identity;
  const auto& b = from.identity;
  for (std::size_t i = 0; i < a.resolved.size(); ++i) a.resolved[i] += b.resolved[i];
  for (std::size_t i = 0; i < a.agent_cookie_rejected.size(); ++i)
    a.agent_cookie_rejected[i] += b.agent_cookie_rejected[i];
  add_fields(a, b, policy::kIdentityCounterFields);
  add_fields(into, from, policy::kPersistCounterFields);
}

void PersistRuntime::merge_counters(policy::PersistCounters& from, HandlerCounters& handler) {
  std::lock_guard<std::mutex> lock(totals_mutex_);
  add_counters(totals_.counters, from);
  add_fields(totals_.handler, handler, kHandlerCounterFields);
  from = policy::PersistCounters{};
  handler = HandlerCounters{};
}

PersistTotals PersistRuntime::totals() const {
  std::lock_guard<std::mutex> lock(totals_mutex_);
  return totals_;
}

}  // namespace sticky::agent
