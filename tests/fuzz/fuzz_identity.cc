// Fuzz entry point: client identity from outside bytes -- IP addresses, CIDR prefixes and lists,
// X-Forwarded-For elements and chains, True-Client-IP.
// The whole input is parsed as an address, a prefix, a list and a forwarded element (each parse
// that succeeds must format and parse back to the same value); then it is split on '\n' into the
// TCP source (4 or 16 raw bytes, else text), True-Client-IP and X-Forwarded-For of a request,
// resolved by two resolvers (trusting edges and proxies, or nobody). The key must match its kind
// and the configured masks, and exactly one resolution is counted.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "policy/cidr.h"
#include "policy/identity.h"

using namespace sticky;
using namespace sticky::policy;

namespace {

Cidr cidr(std::string_view text) {
  const CidrParse p = parse_cidr(text);
  FUZZ_CHECK(p.error == CidrError::Ok, "a fixed prefix does not parse");
  return p.cidr;
}

struct Resolvers {
  IdentityResolver trusting;
  IdentityResolver strict;
  static IdentityConfig trusting_config() {
    IdentityConfig c;
    c.order = {IdentityKind::TrueClientIp, IdentityKind::ForwardedFor, IdentityKind::Source, IdentityKind::None,
               IdentityKind::None};
    c.order_len = 3;
    c.cdn_ranges.add(cidr("10.0.0.0/8"));
    c.cdn_ranges.add(cidr("2001:db8::/32"));
    c.trusted_proxies.add(cidr("192.168.0.0/16"));
    c.trusted_proxies.add(cidr("127.0.0.1"));
    c.trusted_proxies.add(cidr("fd00::/8"));
    c.trusted_proxies.add(cidr("10.1.0.0/16"));
    c.tci_mask_v4 = 30;
    c.xff_mask_v6 = 56;
    FUZZ_CHECK(identity_order_error(c).empty(), "fixed order refused");
    return c;
  }
  static IdentityConfig strict_config() {
    IdentityConfig c;
    c.order = {IdentityKind::ForwardedFor, IdentityKind::TrueClientIp, IdentityKind::Source, IdentityKind::None,
               IdentityKind::None};
    c.order_len = 3;
    return c;
  }
  Resolvers() : trusting(trusting_config(), nullptr), strict(strict_config(), nullptr) {}
};

bool host_bits_zero(const IpAddress& a, unsigned prefix) {
  IpAddress m = a;
  mask_ip(m, prefix);
  return m == a;
}

void check_ip_text(std::string_view text) {
  IpAddress a;
  if (parse_ip(text, a)) {
    FUZZ_CHECK(a.family == IpFamily::V4 || a.family == IpFamily::V6, "parsed address has no family");
    if (a.family == IpFamily::V4)
      for (std::size_t i = 4; i < 16; ++i) FUZZ_CHECK(a.bytes[i] == 0, "IPv4 address with bytes past 4");
    char buf[64];
    const std::string_view shown = format_ip(a, buf);
    IpAddress back;
    FUZZ_CHECK(parse_ip(shown, back) && back == a, "an address does not survive format and parse");
    IpAddress raw;
    FUZZ_CHECK(ip_from_bytes(a.view(), raw) && raw == a, "an address does not survive its raw bytes");
  }
  IpAddress e;
  if (parse_forwarded_element(text, e)) {
    IpAddress bare;
    if (parse_ip(text, bare)) FUZZ_CHECK(bare == e, "a bare address parses two ways");
    char buf[64];
    IpAddress back;
    FUZZ_CHECK(parse_ip(format_ip(e, buf), back) && back == e, "a forwarded element does not format back");
  }
}

void check_cidr_text(std::string_view text) {
  const CidrParse p = parse_cidr(text);
  const CidrParse strict = parse_cidr(text, HostBits::Reject);
  if (p.error != CidrError::Ok) {
    FUZZ_CHECK(strict.error == p.error, "Reject fails otherwise than Normalise");
    return;
  }
  FUZZ_CHECK(p.cidr.prefix_len <= p.cidr.network.max_prefix(), "prefix longer than its family");
  FUZZ_CHECK(host_bits_zero(p.cidr.network, p.cidr.prefix_len), "prefix kept host bits");
  if (p.host_bits_cleared) FUZZ_CHECK(strict.error == CidrError::HostBitsSet, "Reject accepted host bits");
  else FUZZ_CHECK(strict.error == CidrError::Ok && strict.cidr == p.cidr, "Reject and Normalise disagree");
  const std::string shown = format_cidr(p.cidr);
  const CidrParse back = parse_cidr(shown, HostBits::Reject);
  FUZZ_CHECK(back.error == CidrError::Ok && back.cidr == p.cidr, "a prefix does not survive format and parse");
  CidrSet set;
  set.add(p.cidr);
  FUZZ_CHECK(set.contains(p.cidr.network), "a set does not contain its own network");
  IpAddress last = p.cidr.network;  // the prefix's last address
  for (unsigned bit = p.cidr.prefix_len; bit < last.max_prefix(); ++bit)
    last.bytes[bit / 8] = static_cast<std::uint8_t>(last.bytes[bit / 8] | (0x80u >> (bit % 8)));
  FUZZ_CHECK(set.contains(last), "a set does not contain its prefix's last address");
}

void check_list(std::string_view text) {
  const CidrLoad l = load_cidr_text(text, "fuzz");
  // A v6 prefix over the mapped block also covers IPv4: at most two ranges per prefix.
  FUZZ_CHECK(l.set.ranges() <= 2 * l.set.prefixes_added(), "more ranges than prefixes can make");
  // Every line that parses alone is in the set.
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const CidrParse p = parse_cidr(line);
    if (p.error == CidrError::Ok) FUZZ_CHECK(l.set.contains(p.cidr.network), "a listed prefix is not in the set");
    start = end + 1;
  }
}

void check_identity(const Identity& id, const IdentityCounters& c, const IdentityConfig& cfg,
                    std::span<const std::uint8_t> key_buf) {
  std::uint64_t total = 0;
  for (auto n : c.resolved) total += n;
  FUZZ_CHECK(total == 1, "not exactly one resolution counted");
  FUZZ_CHECK(c.resolved[static_cast<std::size_t>(id.kind)] == 1, "resolution counted under another kind");
  if (id.kind == IdentityKind::None) {
    FUZZ_CHECK(id.key.empty(), "no identity but a key");
    return;
  }
  FUZZ_CHECK(id.key.data() == key_buf.data() && id.key.size() <= key_buf.size(), "key outside the key buffer");
  FUZZ_CHECK(id.key.size() == 4 || id.key.size() == 16, "an address key of another size than 4 or 16");
  IpAddress a;
  FUZZ_CHECK(ip_from_bytes(id.key, a) && a.size() == id.key.size(), "an address key that is not canonical");
  unsigned mask = 0;
  switch (id.kind) {
    case IdentityKind::TrueClientIp: mask = a.family == IpFamily::V4 ? cfg.tci_mask_v4 : cfg.tci_mask_v6; break;
    case IdentityKind::ForwardedFor: mask = a.family == IpFamily::V4 ? cfg.xff_mask_v4 : cfg.xff_mask_v6; break;
    case IdentityKind::Source: mask = a.family == IpFamily::V4 ? cfg.source_mask_v4 : cfg.source_mask_v6; break;
    default: FUZZ_CHECK(false, "a kind that is not configured");
  }
  FUZZ_CHECK(host_bits_zero(a, mask), "an address key keeps bits past its mask");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Resolvers resolvers;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_ip_text(text);
  check_cidr_text(text);
  check_list(text);

  std::array<std::string_view, 3> part{};
  std::string_view rest = text;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) break;
    part[i] = rest.substr(0, nl);
    rest = rest.substr(nl + 1);
  }
  part[2] = rest;
  ClientFacts facts;
  IpAddress src;
  std::array<std::uint8_t, 16> src_raw{};
  if (part[0].size() == 4 || part[0].size() == 16) {
    facts.source = as_bytes(part[0]);
  } else if (parse_ip(part[0], src)) {
    for (std::size_t i = 0; i < src.size(); ++i) src_raw[i] = src.bytes[i];
    facts.source = Bytes(src_raw.data(), src.size());
  }
  facts.true_client_ip = part[1];
  facts.forwarded_for = part[2];
  for (const IdentityResolver* r : {&resolvers.trusting, &resolvers.strict}) {
    std::array<std::uint8_t, kIdentityKeyCapacity> key_buf{};
    IdentityCounters c;
    const Identity id = r->resolve(facts, 1'750'000'000, key_buf, c);
    check_identity(id, c, r->config(), key_buf);
    // A short key buffer (an IPv4 fits, an IPv6 does not) must be refused, never overrun.
    std::array<std::uint8_t, 4> small{};
    IdentityCounters c2;
    const Identity id2 = r->resolve(facts, 1'750'000'000, small, c2);
    if (id2.kind != IdentityKind::None) FUZZ_CHECK(id2.key.size() <= small.size(), "key longer than its buffer");
  }
  // No source at all: only the headers can speak, and the trusting resolver must not believe them.
  ClientFacts anonymous = facts;
  anonymous.source = {};
  std::array<std::uint8_t, kIdentityKeyCapacity> key_buf{};
  IdentityCounters c;
  const Identity id = resolvers.trusting.resolve(anonymous, 1'750'000'000, key_buf, c);
  FUZZ_CHECK(id.kind == IdentityKind::None, "headers believed without a TCP source");
  return 0;
}
