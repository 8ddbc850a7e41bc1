// Operator text -> table key, using the backend's own masks (see identity_input.h).
#include "admin/identity_input.h"

#include <array>
#include <charconv>

#include "policy/cidr.h"
#include "policy/persist_engine.h"

namespace sticky::admin {

namespace {

std::uint8_t mask_for(policy::IdentityKind kind, policy::IpFamily f, const policy::IdentityConfig& cfg) {
  const bool v4 = f == policy::IpFamily::V4;
  switch (kind) {
    case policy::IdentityKind::TrueClientIp: return v4 ? cfg.tci_mask_v4 : cfg.tci_mask_v6;
    case policy::IdentityKind::ForwardedFor: return v4 ? cfg.xff_mask_v4 : cfg.xff_mask_v6;
    default: return v4 ? cfg.source_mask_v4 : cfg.source_mask_v6;
  }
}

bool kind_from_name(std::string_view name, policy::IdentityKind& out) {
  using K = policy::IdentityKind;
  if (name == "agent_cookie" || name == "cookie") out = K::AgentCookie;
  else if (name == "app_cookie") out = K::AppCookie;
  else if (name == "true_client_ip" || name == "client_ip") out = K::TrueClientIp;
  else if (name == "forwarded_for" || name == "xff") out = K::ForwardedFor;
  else if (name == "source" || name == "subnet") out = K::Source;
  else return false;
  return true;
}

bool configured(const policy::IdentityConfig& cfg, policy::IdentityKind k) {
  for (std::size_t i = 0; i < cfg.order_len && i < cfg.order.size(); ++i)
    if (cfg.order[i] == k) return true;
  return false;
}

}  // namespace

std::string hex_of(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

bool parse_identity_input(std::string_view kind_name, std::string_view value, const policy::IdentityConfig& cfg,
                          KeyInput& out, std::string& error) {
  using K = policy::IdentityKind;
  if (kind_name == "token") {
    std::array<std::uint8_t, policy::kIdentityKeyCapacity> buf{};
    K kind = K::None;
    Bytes key;
    if (!policy::parse_identity_token(value, kind, buf, key)) {
      error = "token: expected a kind digit (1-5) and the key in lowercase hex, e.g. 3cb007102";
      return false;
    }
    out.kind = kind;
    out.key.assign(reinterpret_cast<const char*>(key.data()), key.size());
    return true;
  }
  K kind = K::None;
  if (!kind_from_name(kind_name, kind)) {
    error = "kind: expected true_client_ip, source, forwarded_for, app_cookie, agent_cookie or token, got '" +
            std::string(kind_name.substr(0, 40)) + "'";
    return false;
  }
  if (value.empty()) {
    error = "value: empty";
    return false;
  }
  if (!configured(cfg, kind)) {
    error = "kind: this backend does not use " + std::string(policy::identity_kind_name(kind));
    return false;
  }
  out.kind = kind;
  if (kind == K::AppCookie) {
    if (value.size() > policy::kIdentityKeyCapacity) {
      error = "value: longer than " + std::to_string(policy::kIdentityKeyCapacity) + " bytes";
      return false;
    }
    out.key.assign(value);
    return true;
  }
  if (kind == K::AgentCookie) {
    error = "kind: an agent cookie names its server itself and has no table entry";
    return false;
  }
  std::string_view addr_text = value;
  int given_len = -1;
  if (const std::size_t slash = value.find('/'); slash != std::string_view::npos) {
    addr_text = value.substr(0, slash);
    const std::string_view len_text = value.substr(slash + 1);
    auto [p, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), given_len);
    if (ec != std::errc() || p != len_text.data() + len_text.size() || len_text.empty()) {
      error = "value: bad prefix length in '" + std::string(value.substr(0, 60)) + "'";
      return false;
    }
  }
  policy::IpAddress ip;
  if (!policy::parse_ip(addr_text, ip)) {
    error = "value: not an IP address: '" + std::string(value.substr(0, 60)) + "'";
    return false;
  }
  const std::uint8_t mask = mask_for(kind, ip.family, cfg);
  const unsigned effective = mask > ip.max_prefix() ? ip.max_prefix() : mask;
  if (given_len >= 0 && static_cast<unsigned>(given_len) != effective) {
    error = "value: this backend keys " + std::string(policy::identity_kind_name(kind)) + " by /" +
            std::to_string(effective) + ", not /" + std::to_string(given_len);
    return false;
  }
  policy::mask_ip(ip, mask);
  out.key.assign(reinterpret_cast<const char*>(ip.bytes.data()), ip.size());
  return true;
}

std::string describe_key(policy::IdentityKind kind, std::string_view key, const policy::IdentityConfig& cfg) {
  using K = policy::IdentityKind;
  if (kind == K::TrueClientIp || kind == K::ForwardedFor || kind == K::Source) {
    policy::IpAddress ip;
    if (policy::ip_from_bytes(as_bytes(key), ip)) {
      char buf[64];
      std::string out(policy::format_ip(ip, buf));
      const std::uint8_t mask = mask_for(kind, ip.family, cfg);
      if (mask < ip.max_prefix()) out += "/" + std::to_string(mask);
      return out;
    }
  }
  if (kind == K::AppCookie) return std::string(key);
  return hex_of(key);
}

}  // namespace sticky::admin
