// Option tables for `backends:` entries and their identity sections, with the per-backend checks.
#include "config/options.h"

#include <fstream>
#include <set>
#include <sstream>

#include "config/schema.h"
#include "config/validators.h"

namespace sticky::config {

std::string_view identity_source_name(IdentitySource s) {
  switch (s) {
    case IdentitySource::AgentCookie: return "agent_cookie";
    case IdentitySource::AppCookie: return "app_cookie";
    case IdentitySource::TrueClientIp: return "true_client_ip";
    case IdentitySource::ForwardedFor: return "forwarded_for";
    case IdentitySource::Source: return "source";
  }
  return "?";
}

namespace {

constexpr IdentitySource kAllSources[] = {IdentitySource::AgentCookie, IdentitySource::AppCookie,
                                          IdentitySource::TrueClientIp, IdentitySource::ForwardedFor,
                                          IdentitySource::Source};

constexpr EnumName<SameSite> kSameSite[] = {
    {"Lax", SameSite::Lax}, {"Strict", SameSite::Strict}, {"None", SameSite::None}};

constexpr std::size_t kMinSecretBytes = 32;

template <class T>
void parse_cookie_name(const YAML::Node& n, T& target, Diagnostics& d, const std::string& path) {
  std::string v;
  if (!read_string(n, FieldType::String, false, d, path, v)) return;
  char bad = 0;
  std::string_view why = check_cookie_name(v, bad);
  if (!why.empty()) {
    std::string msg = "'" + v + "': " + std::string(why);
    if (bad != 0) msg += bad == ' ' ? " (a space)" : std::string(" ('") + bad + "')";
    d.error(n.Mark(), path, msg);
    return;
  }
  target.name = std::move(v);
}

// Reads each secret now so a missing or short key stops startup instead of the first request.
void parse_secret_files(const YAML::Node& n, AgentCookieSection& c, Diagnostics& d, const std::string& path) {
  std::vector<std::string> files;
  if (!read_string_list(n, FieldType::StringList, false, d, path, files)) return;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const YAML::Node item = n.IsSequence() ? n[i] : n;
    std::string file = d.resolve_path(files[i]);
    std::string item_path = path + "[" + std::to_string(i) + "]";
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      d.error(item.Mark(), item_path, "cannot read secret file '" + file + "'");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string secret = ss.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.size() < kMinSecretBytes) {
      d.error(item.Mark(), item_path,
              "secret file '" + file + "' holds " + std::to_string(secret.size()) + " bytes, needs at least " +
                  std::to_string(kMinSecretBytes));
      continue;
    }
    files[i] = std::move(file);
  }
  c.secret_files = std::move(files);
}

constexpr Field<AgentCookieSection> kAgentCookieFields[] = {
    {.name = "name", .type = FieldType::Custom, .target = &parse_cookie_name<AgentCookieSection>,
     .help = "cookie name (RFC 6265 token), default STKY"},
    {.name = "secrets", .type = FieldType::Custom, .target = &parse_secret_files, .required = true,
     .help = "files holding the MAC keys, newest first (>= 32 bytes each); older keys still verify"},
    {.name = "max_idle", .type = FieldType::Interval, .target = &AgentCookieSection::max_idle, .min = 1000,
     .max = 365ULL * 24 * 3600 * 1000, .help = "cookie unused this long is ignored"},
    {.name = "max_life", .type = FieldType::Interval, .target = &AgentCookieSection::max_life, .min = 1000,
     .max = 365ULL * 24 * 3600 * 1000, .help = "cookie older than this is ignored"},
    {.name = "path", .type = FieldType::String, .target = &AgentCookieSection::path, .help = "Path attribute"},
    {.name = "domain", .type = FieldType::String, .target = &AgentCookieSection::domain,
     .help = "Domain attribute; empty = host-only"},
    {.name = "secure", .type = FieldType::Bool, .target = &AgentCookieSection::secure, .help = "Secure attribute"},
    {.name = "http_only", .type = FieldType::Bool, .target = &AgentCookieSection::http_only,
     .help = "HttpOnly attribute"},
    {.name = "same_site", .type = FieldType::Custom,
     .target = &parse_enum<AgentCookieSection, SameSite, &AgentCookieSection::same_site, kSameSite>,
     .help = "Lax | Strict | None (None needs secure)"},
};

constexpr Field<AppCookieSection> kAppCookieFields[] = {
    {.name = "name", .type = FieldType::Custom, .target = &parse_cookie_name<AppCookieSection>, .required = true,
     .help = "the application's session cookie to learn, e.g. JSESSIONID"},
};

constexpr Field<TrueClientIpSection> kTrueClientIpFields[] = {
    {.name = "header", .type = FieldType::String, .target = &TrueClientIpSection::header,
     .help = "header the CDN sets with the real client address"},
    {.name = "trusted", .type = FieldType::CidrList, .target = &TrueClientIpSection::trusted,
     .help = "CIDRs of CDN edges allowed to set the header"},
    {.name = "trusted_file", .type = FieldType::File, .target = &TrueClientIpSection::trusted_file,
     .help = "file with one CIDR per line ('#' comments), added to trusted"},
    {.name = "mask_v4", .type = FieldType::Uint, .target = &TrueClientIpSection::mask_v4, .min = 1, .max = 32,
     .help = "IPv4 prefix length kept from the client address"},
    {.name = "mask_v6", .type = FieldType::Uint, .target = &TrueClientIpSection::mask_v6, .min = 1, .max = 128,
     .help = "IPv6 prefix length kept from the client address"},
};

constexpr Field<ForwardedForSection> kForwardedForFields[] = {
    {.name = "trusted_proxies", .type = FieldType::CidrList, .target = &ForwardedForSection::trusted_proxies,
     .required = true, .help = "proxies whose X-Forwarded-For hop is believed"},
    {.name = "mask_v4", .type = FieldType::Uint, .target = &ForwardedForSection::mask_v4, .min = 1, .max = 32,
     .help = "IPv4 prefix length kept"},
    {.name = "mask_v6", .type = FieldType::Uint, .target = &ForwardedForSection::mask_v6, .min = 1, .max = 128,
     .help = "IPv6 prefix length kept"},
};

constexpr Field<SourceSection> kSourceFields[] = {
    {.name = "mask_v4", .type = FieldType::Uint, .target = &SourceSection::mask_v4, .min = 1, .max = 32,
     .help = "IPv4 prefix length of the subnet that shares a server"},
    {.name = "mask_v6", .type = FieldType::Uint, .target = &SourceSection::mask_v6, .min = 1, .max = 128,
     .help = "IPv6 prefix length of the subnet that shares a server"},
};

constexpr Field<StaticServer> kServerFields[] = {
    {.name = "name", .type = FieldType::Name, .target = &StaticServer::name, .required = true,
     .help = "HAProxy server name"},
    {.name = "weight", .type = FieldType::Uint, .target = &StaticServer::weight, .max = 256,
     .help = "HAProxy weight 0..256; 0 takes no new clients"},
};

void parse_identity(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  constexpr std::string_view kNames[] = {"agent_cookie", "app_cookie", "true_client_ip", "forwarded_for",
                                         "source"};
  if (!n.IsSequence()) {
    d.error(n.Mark(), path, "expected a list, e.g. [agent_cookie, source]");
    return;
  }
  std::vector<IdentitySource> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    std::size_t index = 0;
    if (!read_choice(n[i], kNames, d, item_path, index)) continue;
    IdentitySource s = kAllSources[index];
    bool dup = false;
    for (IdentitySource seen : out) dup = dup || seen == s;
    if (dup) {
      d.error(n[i].Mark(), item_path, "'" + std::string(kNames[index]) + "' is listed twice");
      continue;
    }
    out.push_back(s);
  }
  if (n.size() == 0) d.error(n.Mark(), path, "empty identity list: omit the key for the default order");
  b.identity = std::move(out);
}

void parse_agent_cookie(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  AgentCookieSection c;
  apply_fields(n, std::span<const Field<AgentCookieSection>>(kAgentCookieFields), c, d, path);
  if (n.IsMap()) {
    if (c.max_idle > c.max_life)
      d.error(n["max_idle"] ? n["max_idle"].Mark() : n.Mark(), join_path(path, "max_idle"),
              "max_idle is longer than max_life");
    if (c.same_site == SameSite::None && !c.secure)
      d.error(n.Mark(), path, "same_site None requires secure: true (browsers drop it otherwise)");
    if (c.path.empty() || c.path.front() != '/')
      d.error(n["path"] ? n["path"].Mark() : n.Mark(), join_path(path, "path"), "cookie path must start with '/'");
    for (char ch : c.domain + c.path) {
      if (ch == ';' || ch == ' ' || ch == ',' || static_cast<unsigned char>(ch) < 0x21) {
        d.error(n.Mark(), path, "domain and path may not contain ';', ',' or spaces");
        break;
      }
    }
  }
  b.agent_cookie = std::move(c);
}

void parse_app_cookie(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  AppCookieSection c;
  apply_fields(n, std::span<const Field<AppCookieSection>>(kAppCookieFields), c, d, path);
  b.app_cookie = std::move(c);
}

// Validates the CIDR file now, each bad line reported against that file's own line number.
void check_trusted_file(const std::string& file, Diagnostics& d, const std::string& path, std::size_t& count) {
  std::ifstream in(file);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    std::size_t e = line.find_last_not_of(" \t\r");
    std::string cidr = line.substr(b, e - b + 1);
    std::string_view why = check_cidr(cidr);
    if (!why.empty())
      d.error_in(file, number, path, "'" + cidr + "': " + std::string(why));
    else
      ++count;
  }
}

void parse_true_client_ip(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  TrueClientIpSection t;
  apply_fields(n, std::span<const Field<TrueClientIpSection>>(kTrueClientIpFields), t, d, path);
  std::string_view why = check_header_name(t.header);
  if (!why.empty()) d.error(n["header"] ? n["header"].Mark() : n.Mark(), join_path(path, "header"), why);
  std::size_t from_file = 0;
  if (!t.trusted_file.empty()) check_trusted_file(t.trusted_file, d, join_path(path, "trusted_file"), from_file);
  if (t.trusted.empty() && t.trusted_file.empty())
    d.error(n.Mark(), path,
            "needs 'trusted' or 'trusted_file': believing the header from anyone lets clients pick their server");
  b.true_client_ip = std::move(t);
}

void parse_forwarded_for(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  ForwardedForSection f;
  apply_fields(n, std::span<const Field<ForwardedForSection>>(kForwardedForFields), f, d, path);
  if (n.IsMap() && f.trusted_proxies.empty())
    d.error(n.Mark(), join_path(path, "trusted_proxies"), "must list at least one proxy");
  b.forwarded_for = std::move(f);
}

void parse_source(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  SourceSection s;
  apply_fields(n, std::span<const Field<SourceSection>>(kSourceFields), s, d, path);
  b.source = s;
}

void parse_backend_servers(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  parse_static_servers(n, b.servers, d, path);
}

constexpr Field<Backend> kBackendFields[] = {
    {.name = "name", .type = FieldType::Name, .target = &Backend::name, .required = true,
     .help = "HAProxy backend name, as sent in the SPOE `be` argument"},
    {.name = "identity", .type = FieldType::Custom, .target = &parse_identity,
     .help = "sources tried in order: agent_cookie app_cookie true_client_ip forwarded_for source; "
             "default = the configured ones in that order, then source"},
    {.name = "ttl", .type = FieldType::Interval, .target = &Backend::ttl, .min = 1000,
     .max = 30ULL * 24 * 3600 * 1000, .help = "how long an idle persistence entry is kept"},
    {.name = "capacity", .type = FieldType::Size, .target = &Backend::capacity, .min = 1, .max = 1ULL << 30,
     .help = "entries in the local table; the oldest are evicted (and counted) beyond it"},
    {.name = "servers", .type = FieldType::Custom, .target = &parse_backend_servers,
     .help = "[{name, weight}] used when the runtime API is absent or failing"},
    {.name = "agent_cookie", .type = FieldType::Custom, .target = &parse_agent_cookie,
     .help = "sealed cookie the agent inserts"},
    {.name = "app_cookie", .type = FieldType::Custom, .target = &parse_app_cookie,
     .help = "application session cookie learnt from responses"},
    {.name = "true_client_ip", .type = FieldType::Custom, .target = &parse_true_client_ip,
     .help = "client address from a CDN header, believed only from trusted CIDRs"},
    {.name = "forwarded_for", .type = FieldType::Custom, .target = &parse_forwarded_for,
     .help = "client address from X-Forwarded-For behind trusted proxies"},
    {.name = "source", .type = FieldType::Custom, .target = &parse_source,
     .help = "client subnet of the connection's source address"},
    {.name = "haproxy_table", .type = FieldType::Name, .target = &Backend::haproxy_table,
     .help = "HAProxy stick table that caches this backend's pins (fast path): the agent clears "
             "the pins of a server going DOWN or MAINT there through the runtime API"},
};

bool configured(const Backend& b, IdentitySource s) {
  switch (s) {
    case IdentitySource::AgentCookie: return b.agent_cookie.has_value();
    case IdentitySource::AppCookie: return b.app_cookie.has_value();
    case IdentitySource::TrueClientIp: return b.true_client_ip.has_value();
    case IdentitySource::ForwardedFor: return b.forwarded_for.has_value();
    case IdentitySource::Source: return true;  // needs no settings
  }
  return false;
}

void parse_backend(const YAML::Node& n, Backend& b, Diagnostics& d, const std::string& path) {
  apply_fields(n, std::span<const Field<Backend>>(kBackendFields), b, d, path);
  if (!n.IsMap()) return;
  if (n["identity"]) {
    for (IdentitySource s : b.identity) {
      if (!configured(b, s))
        d.error(n["identity"].Mark(), join_path(path, "identity"),
                "'" + std::string(identity_source_name(s)) + "' is listed but the backend has no '" +
                    std::string(identity_source_name(s)) + "' section");
    }
  } else {
    for (IdentitySource s : kAllSources)
      if (configured(b, s)) b.identity.push_back(s);
  }
  if (b.agent_cookie && b.app_cookie && b.agent_cookie->name == b.app_cookie->name)
    d.error(n.Mark(), path, "agent_cookie and app_cookie use the same name '" + b.app_cookie->name + "'");
  if (!b.source) b.source = SourceSection{};
}

}  // namespace

void parse_static_servers(const YAML::Node& n, std::vector<StaticServer>& out, Diagnostics& d,
                          const std::string& path) {
  parse_section_list<StaticServer, kServerFields>(n, out, d, path);
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!out[i].name.empty() && !names.insert(out[i].name).second)
      d.error(n[i].Mark(), path + "[" + std::to_string(i) + "]", "server '" + out[i].name + "' is listed twice");
  }
}

void parse_backends(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    d.error(n.Mark(), path, "expected a list of backends");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    Backend b;
    parse_backend(n[i], b, d, path + "[" + std::to_string(i) + "]");
    cfg.backends.push_back(std::move(b));
  }
}

std::string describe_backend_options() {
  std::string out;
  describe_fields(std::span<const Field<Backend>>(kBackendFields), Backend{}, "backends[]", out);
  describe_fields(std::span<const Field<StaticServer>>(kServerFields), StaticServer{}, "backends[].servers[]", out);
  describe_fields(std::span<const Field<AgentCookieSection>>(kAgentCookieFields), AgentCookieSection{},
                  "backends[].agent_cookie", out);
  describe_fields(std::span<const Field<AppCookieSection>>(kAppCookieFields), AppCookieSection{},
                  "backends[].app_cookie", out);
  describe_fields(std::span<const Field<TrueClientIpSection>>(kTrueClientIpFields), TrueClientIpSection{},
                  "backends[].true_client_ip", out);
  describe_fields(std::span<const Field<ForwardedForSection>>(kForwardedForFields), ForwardedForSection{},
                  "backends[].forwarded_for", out);
  describe_fields(std::span<const Field<SourceSection>>(kSourceFields), SourceSection{}, "backends[].source", out);
  return out;
}

}  // namespace sticky::config
