// Option tables for the root, agent, haproxy and redis sections, and the cross-section checks.
#include "config/options.h"

#include <unistd.h>

#include <array>
#include <set>

#include "config/schema.h"
#include "config/validators.h"

namespace sticky::config {

std::string_view log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Error: return "error";
    case LogLevel::Warn: return "warn";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

namespace {

constexpr EnumName<LogLevel> kLogLevels[] = {
    {"error", LogLevel::Error}, {"warn", LogLevel::Warn}, {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};

constexpr Field<AgentSection> kAgentFields[] = {
    {.name = "listen", .type = FieldType::AddressList, .target = &AgentSection::listen, .unix_ok = true,
     .help = "addresses HAProxy's SPOE connects to: host:port, [v6]:port or unix:/path"},
    {.name = "socket_mode", .type = FieldType::String, .target = &AgentSection::socket_mode,
     .help = "permission bits of the unix sockets, octal (e.g. '0660'); absent = 0777 minus the umask"},
    {.name = "socket_owner", .type = FieldType::String, .target = &AgentSection::socket_owner,
     .help = "owner of the unix sockets: user name or uid (the agent must run as root to change it)"},
    {.name = "socket_group", .type = FieldType::String, .target = &AgentSection::socket_group,
     .help = "group of the unix sockets: group name or gid (e.g. haproxy)"},
    {.name = "threads", .type = FieldType::Uint, .target = &AgentSection::threads, .max = 1024,
     .help = "worker threads; 0 = one per core"},
    {.name = "log_level", .type = FieldType::Custom,
     .target = &parse_enum<AgentSection, LogLevel, &AgentSection::log_level, kLogLevels>,
     .help = "error | warn | info | debug (default info)"},
    {.name = "metrics", .type = FieldType::Address, .target = &AgentSection::metrics,
     .help = "host:port of the Prometheus text endpoint; absent = disabled"},
    {.name = "admin", .type = FieldType::Address, .target = &AgentSection::admin,
     .help = "host:port of the admin API and web page (default 127.0.0.1:9125); serves only with admin_token_file"},
    {.name = "admin_token_file", .type = FieldType::File, .target = &AgentSection::admin_token_file,
     .help = "file holding the admin API's bearer token (trailing newline ignored); absent = admin disabled"},
    {.name = "max_frame_size", .type = FieldType::Uint, .target = &AgentSection::max_frame_size, .min = 256,
     .max = 1U << 20, .help = "largest SPOP frame accepted and announced in AGENT-HELLO"},
    {.name = "max_connections", .type = FieldType::Uint, .target = &AgentSection::max_connections, .min = 1,
     .max = 1000000, .help = "connections beyond this are refused (and counted); a connection still silent (no HELLO) "
             "for 100 ms is closed first to make room"},
    {.name = "drain_grace", .type = FieldType::Interval, .target = &AgentSection::drain_grace, .min = 0,
     .max = 600 * 1000,
     .help = "on SIGTERM, health checks fail this long (HAProxy stops sending) before connections close; "
             "0 = close at once"},
};

constexpr Field<HaproxySection> kHaproxyFields[] = {
    {.name = "runtime_api", .type = FieldType::Address, .target = &HaproxySection::runtime_api, .unix_ok = true,
     .help = "HAProxy stats socket (unix:/path or host:port); absent = static servers only"},
    {.name = "poll_interval", .type = FieldType::Interval, .target = &HaproxySection::poll_interval, .min = 100,
     .max = 3600 * 1000, .help = "how often `show servers state` is read"},
    {.name = "api_timeout", .type = FieldType::Interval, .target = &HaproxySection::api_timeout, .min = 10,
     .max = 60 * 1000, .help = "deadline for connecting and reading one reply"},
};

constexpr Field<RedisSection> kRedisFields[] = {
    {.name = "address", .type = FieldType::Address, .target = &RedisSection::address,
     .help = "host:port of the Redis master (or use sentinels + master_name)"},
    {.name = "sentinels", .type = FieldType::AddressList, .target = &RedisSection::sentinels,
     .help = "host:port of each Sentinel"},
    {.name = "master_name", .type = FieldType::String, .target = &RedisSection::master_name,
     .help = "the master's name as known to the Sentinels"},
    {.name = "user", .type = FieldType::String, .target = &RedisSection::user, .help = "ACL user name"},
    {.name = "password_file", .type = FieldType::File, .target = &RedisSection::password_file,
     .help = "file holding the password (trailing newline ignored)"},
    {.name = "password", .type = FieldType::String, .target = &RedisSection::password,
     .help = "inline password; accepted but warned about: prefer password_file"},
    {.name = "cluster", .type = FieldType::String, .target = &RedisSection::cluster,
     .help = "key namespace shared by the agents of one cluster: keys sticky:<cluster>:<backend>:<kind>:<key>, "
             "channel sticky:<cluster> (one ACL ~sticky:* &sticky:* covers every cluster)"},
    {.name = "node_id", .type = FieldType::String, .target = &RedisSection::node_id,
     .help = "this agent's name in the cluster; default the host name"},
    {.name = "lookup_deadline", .type = FieldType::Interval, .target = &RedisSection::lookup_deadline, .min = 1,
     .max = 10 * 1000, .help = "a lookup slower than this falls back to the local table"},
    {.name = "connect_timeout", .type = FieldType::Interval, .target = &RedisSection::connect_timeout, .min = 10,
     .max = 60 * 1000, .help = "TCP connect deadline"},
    {.name = "command_timeout", .type = FieldType::Interval, .target = &RedisSection::command_timeout, .min = 1,
     .max = 60 * 1000, .help = "deadline of a write; late writes are counted as failed"},
    {.name = "queue_max_entries", .type = FieldType::Size, .target = &RedisSection::queue_max_entries, .min = 1,
     .max = 100000000, .help = "writes waiting for Redis beyond this are dropped (and counted)"},
    {.name = "queue_max_bytes", .type = FieldType::Size, .target = &RedisSection::queue_max_bytes, .min = 4096,
     .max = 16ULL << 30, .help = "byte budget of the write queue"},
};

void parse_agent(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path) {
  apply_fields(n, std::span<const Field<AgentSection>>(kAgentFields), cfg.agent, d, path);
}

void parse_haproxy(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path) {
  apply_fields(n, std::span<const Field<HaproxySection>>(kHaproxyFields), cfg.haproxy, d, path);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

void parse_redis(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path) {
  RedisSection r;
  apply_fields(n, std::span<const Field<RedisSection>>(kRedisFields), r, d, path);
  if (n.IsMap()) {
    if (r.address.empty() == r.sentinels.empty())
      d.error(n.Mark(), path, "give exactly one of 'address' or 'sentinels'");
    if (!r.sentinels.empty() && r.master_name.empty())
      d.error(n.Mark(), path, "'sentinels' needs 'master_name'");
    if (r.sentinels.empty() && !r.master_name.empty())
      d.warning(n["master_name"].Mark(), path, "'master_name' is ignored without 'sentinels'");
    if (!r.password.empty() && !r.password_file.empty())
      d.error(n.Mark(), path, "give either 'password' or 'password_file', not both");
    if (!r.password.empty())
      d.warning(n["password"].Mark(), join_path(path, "password"),
                "inline password: anyone who can read this file can use it; prefer password_file");
    if (r.cluster.empty() || r.cluster.find(':') != std::string::npos)
      d.error(n["cluster"] ? n["cluster"].Mark() : n.Mark(), join_path(path, "cluster"),
              "must be non-empty and without ':' (it prefixes every key)");
  }
  if (r.node_id.empty()) r.node_id = host_name();
  cfg.redis = std::move(r);
}

constexpr Field<Config> kRootFields[] = {
    {.name = "agent", .type = FieldType::Custom, .target = &parse_agent, .help = "listeners, threads, logging"},
    {.name = "haproxy", .type = FieldType::Custom, .target = &parse_haproxy,
     .help = "where HAProxy's view of server health comes from"},
    {.name = "redis", .type = FieldType::Custom, .target = &parse_redis,
     .help = "shared sticky table; absent = local table only"},
    {.name = "backends", .type = FieldType::Custom, .target = &parse_backends,
     .help = "persistence settings per HAProxy backend"},
    {.name = "hsaf", .type = FieldType::Custom, .target = &parse_hsaf_profiles,
     .help = "hash serial and forward profiles"},
};

// Checks that need more than one section. Nodes are looked up again only for their line numbers.
void cross_check(const YAML::Node& root, const Config& cfg, Diagnostics& d) {
  bool static_only = cfg.haproxy.runtime_api.empty();
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < cfg.backends.size(); ++i) {
    const Backend& b = cfg.backends[i];
    YAML::Node at = root["backends"][i];
    std::string path = "backends[" + std::to_string(i) + "]";
    if (!b.name.empty() && !seen.insert(b.name).second)
      d.error(at.Mark(), path, "backend '" + b.name + "' is configured twice");
    if (static_only && b.servers.empty())
      d.error(at.Mark(), path,
              "no 'servers' and no haproxy.runtime_api: backend '" + b.name + "' would have no servers");
  }
  seen.clear();
  for (std::size_t i = 0; i < cfg.hsaf.size(); ++i) {
    const HsafProfile& h = cfg.hsaf[i];
    YAML::Node at = root["hsaf"][i];
    std::string path = "hsaf[" + std::to_string(i) + "]";
    if (!h.name.empty() && !seen.insert(h.name).second)
      d.error(at.Mark(), path, "hsaf profile '" + h.name + "' is configured twice");
    if (!static_only) continue;
    std::vector<const HsafRegion*> regions;
    for (const HsafRegion& r : h.regions) regions.push_back(&r);
    if (h.overflow) regions.push_back(&*h.overflow);
    for (const HsafRegion* r : regions) {
      if (!r->backend.empty() && !h.servers.contains(r->backend))
        d.error(at.Mark(), path,
                "no servers for backend '" + r->backend + "' and no haproxy.runtime_api to learn them from");
    }
  }
  if (cfg.backends.empty() && cfg.hsaf.empty())
    d.warning(root.Mark(), "", "no backends and no hsaf profiles: the agent will route nothing");
}

}  // namespace

void apply_root(const YAML::Node& root, Config& cfg, Diagnostics& d) {
  apply_fields(root, std::span<const Field<Config>>(kRootFields), cfg, d, "");
  cross_check(root, cfg, d);
}

std::string describe_all_options() {
  std::string out;
  describe_fields(std::span<const Field<AgentSection>>(kAgentFields), AgentSection{}, "agent", out);
  describe_fields(std::span<const Field<HaproxySection>>(kHaproxyFields), HaproxySection{}, "haproxy", out);
  describe_fields(std::span<const Field<RedisSection>>(kRedisFields), RedisSection{}, "redis", out);
  out += describe_backend_options();
  out += describe_hsaf_options();
  return out;
}

}  // namespace sticky::config
