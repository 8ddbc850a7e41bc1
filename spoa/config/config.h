// The agent's configuration as one immutable plain value; other layers map it into their own options.
//
// Defaults live here, in the member initialisers, and nowhere else: the option tables in
// config/options.cc read them back when they describe an option. Relative file paths have already
// been resolved against the config file's directory by the loader.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::config {

using Duration = std::chrono::milliseconds;

enum class LogLevel : std::uint8_t { Error, Warn, Info, Debug };

struct AgentSection {
  // "host:port", "[v6]:port" or "unix:/path".
  std::vector<std::string> listen{"127.0.0.1:12345"};
  // Unix listeners only: octal mode ("0660") and owner/group (names or numbers); empty = as created.
  std::string socket_mode;
  std::string socket_owner;
  std::string socket_group;
  std::uint32_t threads = 0;  // 0 = one per core
  LogLevel log_level = LogLevel::Info;
  std::string metrics;  // Prometheus endpoint "host:port"; empty = disabled
  // Admin API and web page "host:port" (loopback by default); it serves only with a token file.
  std::string admin = "127.0.0.1:9125";
  std::string admin_token_file;  // bearer token for the admin API; empty = admin disabled
  std::uint32_t max_frame_size = 16380;
  std::uint32_t max_connections = 10000;
  // On SIGTERM: how long health-check HELLOs are refused (HAProxy marks the agent DOWN and stops
  // sending) while NOTIFYs on open connections are still answered, before the connections close.
  Duration drain_grace{3000};
};

struct HaproxySection {
  std::string runtime_api;  // "unix:/path", "/path" or "host:port"; empty = static servers only
  Duration poll_interval{1000};
  Duration api_timeout{1000};  // connect + full reply of one `show servers state`
};

struct RedisSection {
  std::string address;                 // "host:port"; exclusive with sentinels
  std::vector<std::string> sentinels;  // "host:port" each; needs master_name
  std::string master_name;
  std::string user;           // ACL user; empty = default user
  std::string password_file;  // content, trailing newline stripped, is the password
  std::string password;       // inline password (accepted with a warning)
  std::string cluster = "sticky";  // keys sticky:<cluster>:<backend>:<kind>:<key>, channel sticky:<cluster>
  std::string node_id;             // defaults to the host name
  Duration lookup_deadline{3};
  Duration connect_timeout{500};
  Duration command_timeout{200};
  std::uint64_t queue_max_entries = 100000;
  std::uint64_t queue_max_bytes = 64ULL << 20;
};

// Where a request's persistence identity is taken from, tried in the configured order.
enum class IdentitySource : std::uint8_t { AgentCookie, AppCookie, TrueClientIp, ForwardedFor, Source };

enum class SameSite : std::uint8_t { Lax, Strict, None };

struct StaticServer {
  std::string name;
  std::uint32_t weight = 1;  // HAProxy's range, 0..256
};

struct AgentCookieSection {
  std::string name = "STKY";
  std::vector<std::string> secret_files;  // newest first; each holds >= 32 bytes
  Duration max_idle{3600 * 1000};
  Duration max_life{24 * 3600 * 1000};
  std::string path = "/";
  std::string domain;
  bool secure = true;
  bool http_only = true;
  SameSite same_site = SameSite::Lax;
};

struct AppCookieSection {
  std::string name;
};

struct TrueClientIpSection {
  std::string header = "True-Client-IP";
  std::vector<std::string> trusted;  // CIDRs of the CDN edge allowed to set the header
  std::string trusted_file;          // one CIDR per line, '#' comments
  std::uint32_t mask_v4 = 32;
  std::uint32_t mask_v6 = 128;
};

struct ForwardedForSection {
  std::vector<std::string> trusted_proxies;  // CIDRs
  std::uint32_t mask_v4 = 32;
  std::uint32_t mask_v6 = 128;
};

struct SourceSection {
  std::uint32_t mask_v4 = 24;
  std::uint32_t mask_v6 = 64;
};

struct Backend {
  std::string name;  // HAProxy backend name, as sent in the SPOE `be` argument
  // Empty in the file = every configured source in the canonical order, then source.
  std::vector<IdentitySource> identity;
  Duration ttl{30 * 60 * 1000};
  std::uint64_t capacity = 1000000;
  std::vector<StaticServer> servers;  // fallback when the runtime API is absent or failing
  std::optional<AgentCookieSection> agent_cookie;
  std::optional<AppCookieSection> app_cookie;
  std::optional<TrueClientIpSection> true_client_ip;
  std::optional<ForwardedForSection> forwarded_for;
  std::optional<SourceSection> source;
  // The HAProxy stick table caching this backend's pins (the fast path in haproxy-conf/akamai/
  // haproxy-fast.cfg), or empty. The agent clears the pins of a server that goes DOWN or MAINT
  // there, through the runtime API, so HAProxy asks it where those clients go.
  std::string haproxy_table;
};

enum class HsafInputMode : std::uint8_t { Url, Custom };
enum class HsafQueryMode : std::uint8_t { Keep, Drop, Params };

struct HsafInput {
  HsafInputMode mode = HsafInputMode::Url;
  HsafQueryMode query = HsafQueryMode::Drop;
  std::vector<std::string> params;  // kept query parameters when query = params
  bool lowercase_path = false;
};

struct HsafTier {
  std::uint32_t min = 0;  // serial range, inclusive
  std::uint32_t max = 0;
};

struct HsafRegion {
  std::string name;
  std::string backend;
};

struct HsafProfile {
  std::string name;  // selected by the SPOE `hsaf` argument
  HsafInput input;
  std::vector<HsafTier> tiers;      // 1 = edge, 2 disjoint = parent
  std::vector<HsafRegion> regions;  // 1 or 2
  std::optional<HsafRegion> overflow;
  std::map<std::string, std::vector<StaticServer>> servers;  // backend -> static fallback
};

struct Config {
  std::string source;  // file the config came from, for messages
  AgentSection agent;
  HaproxySection haproxy;
  std::optional<RedisSection> redis;
  std::vector<Backend> backends;
  std::vector<HsafProfile> hsaf;

  const Backend* find_backend(std::string_view name) const {
    for (const Backend& b : backends)
      if (b.name == name) return &b;
    return nullptr;
  }
  const HsafProfile* find_hsaf(std::string_view name) const {
    for (const HsafProfile& h : hsaf)
      if (h.name == name) return &h;
    return nullptr;
  }
};

std::string_view log_level_name(LogLevel l);
std::string_view identity_source_name(IdentitySource s);

}  // namespace sticky::config
