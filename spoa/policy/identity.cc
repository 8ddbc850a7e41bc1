// Client identity resolution over ClientFacts: trust checks, the XFF walk, masking.
#include "policy/identity.h"

#include <charconv>
#include <cstring>

namespace sticky::policy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_port(std::string_view p) {
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return !p.empty() && p.size() <= 5 && ec == std::errc{} && ptr == p.data() + p.size() && v <= 65535;
}

// Copies the address masked to the family's configured length; false if the buffer is short.
bool emit_address(IpAddress addr, std::uint8_t mask_v4, std::uint8_t mask_v6, std::span<std::uint8_t> buf,
                  Identity& out, IdentityCounters& n) {
  mask_ip(addr, addr.family == IpFamily::V4 ? mask_v4 : mask_v6);
  if (buf.size() < addr.size()) {
    ++n.key_buffer_too_small;
    return false;
  }
  std::memcpy(buf.data(), addr.bytes.data(), addr.size());
  out.key = Bytes(buf.data(), addr.size());
  return true;
}

}  // namespace

std::string_view identity_kind_name(IdentityKind k) {
  switch (k) {
    case IdentityKind::None: return "none";
    case IdentityKind::AgentCookie: return "agent_cookie";
    case IdentityKind::AppCookie: return "app_cookie";
    case IdentityKind::TrueClientIp: return "true_client_ip";
    case IdentityKind::ForwardedFor: return "forwarded_for";
    case IdentityKind::Source: return "source";
  }
  return "unknown";
}

std::string_view identity_order_error(const IdentityConfig& cfg) {
  if (cfg.order_len == 0) return "identity order is empty";
  if (cfg.order_len > cfg.order.size()) return "identity order lists more than 5 sources";
  bool seen[kIdentityKindCount] = {};
  for (std::size_t i = 0; i < cfg.order_len; ++i) {
    const auto k = static_cast<std::size_t>(cfg.order[i]);
    if (cfg.order[i] == IdentityKind::None || k >= kIdentityKindCount) return "identity order lists an invalid source";
    if (seen[k]) return "identity order lists a source twice";
    seen[k] = true;
  }
  return {};
}

bool parse_forwarded_element(std::string_view text, IpAddress& out) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !valid_port(after.substr(1)))) return false;
    return text.find(':') < close && parse_ip(text.substr(1, close - 1), out);
  }
  const std::size_t colon = text.find(':');
  // Exactly one colon after a dotted quad is "v4:port"; more colons make it a bare IPv6.
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos &&
      text.substr(0, colon).find('.') != std::string_view::npos) {
    return valid_port(text.substr(colon + 1)) && parse_ip(text.substr(0, colon), out) &&
           out.family == IpFamily::V4;
  }
  return parse_ip(text, out);
}

Identity IdentityResolver::resolve(const ClientFacts& facts, std::int64_t now, std::span<std::uint8_t> key_buf,
                                   IdentityCounters& counters) const {
  Identity id;
  IpAddress src;
  const bool have_src = ip_from_bytes(facts.source, src);
  const std::size_t n = cfg_.order_len <= cfg_.order.size() ? cfg_.order_len : cfg_.order.size();
  for (std::size_t i = 0; i < n; ++i) {
    const IdentityKind kind = cfg_.order[i];
    bool got = false;
    switch (kind) {
      case IdentityKind::None: break;
      case IdentityKind::AgentCookie: got = try_agent_cookie(facts, now, key_buf, id, counters); break;
      case IdentityKind::AppCookie: got = try_app_cookie(facts, key_buf, id, counters); break;
      case IdentityKind::TrueClientIp: got = try_true_client_ip(facts, have_src, src, key_buf, id, counters); break;
      case IdentityKind::ForwardedFor: got = try_forwarded_for(facts, have_src, src, key_buf, id, counters); break;
      case IdentityKind::Source:
        if (!have_src) {
          ++counters.bad_source;
        } else {
          got = emit_address(src, cfg_.source_mask_v4, cfg_.source_mask_v6, key_buf, id, counters);
        }
        break;
    }
    if (got) {
      id.kind = kind;
      ++counters.resolved[static_cast<std::size_t>(kind)];
      return id;
    }
  }
  ++counters.resolved[static_cast<std::size_t>(IdentityKind::None)];
  return Identity{};
}

bool IdentityResolver::try_agent_cookie(const ClientFacts& f, std::int64_t now, std::span<std::uint8_t> buf,
                                        Identity& out, IdentityCounters& n) const {
  if (codec_ == nullptr || f.agent_cookie.empty()) return false;
  const CookieCheck check = codec_->verify(f.agent_cookie, now);
  if (check.status != CookieStatus::Ok) {
    ++n.agent_cookie_rejected[static_cast<std::size_t>(check.status)];
    return false;
  }
  const auto& token = check.cookie.server.bytes;
  if (buf.size() < token.size()) {
    ++n.key_buffer_too_small;
    return false;
  }
  std::memcpy(buf.data(), token.data(), token.size());
  out.key = Bytes(buf.data(), token.size());
  out.cookie = check.cookie;
  return true;
}

bool IdentityResolver::try_app_cookie(const ClientFacts& f, std::span<std::uint8_t> buf, Identity& out,
                                      IdentityCounters& n) const {
  if (f.app_cookie.empty()) return false;
  if (f.app_cookie.size() > buf.size()) {
    ++n.app_cookie_too_long;
    return false;
  }
  std::memcpy(buf.data(), f.app_cookie.data(), f.app_cookie.size());
  out.key = Bytes(buf.data(), f.app_cookie.size());
  return true;
}

bool IdentityResolver::try_true_client_ip(const ClientFacts& f, bool have_src, const IpAddress& src,
                                          std::span<std::uint8_t> buf, Identity& out, IdentityCounters& n) const {
  if (f.true_client_ip.empty()) return false;
  // Anyone can send the header; only a CDN edge's word counts. Checked per request because one
  // edge connection carries many clients.
  if (!have_src || !cfg_.cdn_ranges.contains(src)) {
    ++n.untrusted_tci;
    return false;
  }
  IpAddress client;
  if (!parse_ip(trim(f.true_client_ip), client)) {
    ++n.bad_tci;
    return false;
  }
  return emit_address(client, cfg_.tci_mask_v4, cfg_.tci_mask_v6, buf, out, n);
}

bool IdentityResolver::try_forwarded_for(const ClientFacts& f, bool have_src, const IpAddress& src,
                                         std::span<std::uint8_t> buf, Identity& out, IdentityCounters& n) const {
  if (f.forwarded_for.empty()) return false;
  if (!have_src || !cfg_.trusted_proxies.contains(src)) {
    ++n.untrusted_xff;
    return false;
  }
  // Walk right to left: each hop appended the address it received from. The first address that
  // is not one of our proxies is the client; anything left of it is client-controlled.
  std::string_view rest = f.forwarded_for;
  IpAddress hop;
  for (std::size_t hops = 0; hops < kMaxForwardedHops; ++hops) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view elem = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    if (!parse_forwarded_element(elem, hop)) {
      ++n.bad_xff;
      return false;
    }
    if (!cfg_.trusted_proxies.contains(hop)) {
      return emit_address(hop, cfg_.xff_mask_v4, cfg_.xff_mask_v6, buf, out, n);
    }
    if (comma == std::string_view::npos) {
      // Every hop is one of ours: the leftmost is the best knowledge of the client there is.
      ++n.xff_all_trusted;
      return emit_address(hop, cfg_.xff_mask_v4, cfg_.xff_mask_v6, buf, out, n);
    }
    rest = rest.substr(0, comma);
  }
  ++n.xff_too_long;
  return false;
}

}  // namespace sticky::policy
