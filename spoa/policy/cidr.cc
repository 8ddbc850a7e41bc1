// Address parsing, masking, CIDR parsing and the merged-range CidrSet.
#include "policy/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace sticky::policy {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped_v4(const std::uint8_t* b16) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), b16);
}

void set_v4(IpAddress& out, const std::uint8_t* b4) {
  out = IpAddress{};
  out.family = IpFamily::V4;
  std::copy(b4, b4 + 4, out.bytes.begin());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint64_t load_be64(const std::uint8_t* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

}  // namespace

// Dotted quad exactly as inet_pton(AF_INET) accepts it: four decimal parts 0..255, no leading
// zeros (so "010.1.1.1" is refused rather than read as octal), nothing else. It runs on every
// True-Client-IP header, so it avoids the copy and the libc call.
static bool parse_dotted_quad(std::string_view t, std::uint8_t out[4]) {
  if (t.size() < 7 || t.size() > 15) return false;
  const char* p = t.data();
  const char* const end = p + t.size();
  auto digit = [&](unsigned& d) {
    if (p == end) return false;
    d = static_cast<unsigned>(static_cast<unsigned char>(*p) - '0');
    if (d > 9) return false;
    ++p;
    return true;
  };
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
    unsigned v, d;
    if (!digit(v)) return false;
    if (digit(d)) {
      if (v == 0) return false;  // leading zero
      v = v * 10 + d;
      if (digit(d)) {
        v = v * 10 + d;
        if (v > 255) return false;
      }
    }
    out[part] = static_cast<std::uint8_t>(v);
  }
  return p == end;
}

bool parse_ip(std::string_view text, IpAddress& out) {
  std::uint8_t b4[4];
  if (parse_dotted_quad(text, b4)) {  // the common case first: no scan for ':'
    set_v4(out, b4);
    return true;
  }
  if (text.find(':') == std::string_view::npos) return false;
  // inet_pton wants a NUL-terminated string; the longest valid form is 45 characters.
  char buf[64];
  if (text.size() >= sizeof(buf)) return false;
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  std::uint8_t b16[16];
  if (inet_pton(AF_INET6, buf, b16) != 1) return false;
  return ip_from_bytes(Bytes(b16, 16), out);
}

bool ip_from_bytes(Bytes raw, IpAddress& out) {
  if (raw.size() == 4) {
    set_v4(out, raw.data());
    return true;
  }
  if (raw.size() != 16) return false;
  if (is_mapped_v4(raw.data())) {
    set_v4(out, raw.data() + 12);
    return true;
  }
  out.family = IpFamily::V6;
  std::copy(raw.begin(), raw.end(), out.bytes.begin());
  return true;
}

void mask_ip(IpAddress& addr, unsigned prefix_len) {
  const unsigned width = addr.max_prefix();
  if (prefix_len >= width) return;
  const std::size_t full = prefix_len / 8;
  const unsigned rem = prefix_len % 8;
  std::size_t i = full;
  if (rem != 0) {
    addr.bytes[i] = static_cast<std::uint8_t>(addr.bytes[i] & (0xffu << (8 - rem)));
    ++i;
  }
  for (; i < addr.size(); ++i) addr.bytes[i] = 0;
}

std::string_view format_ip(const IpAddress& addr, std::span<char> out) {
  if (out.size() < INET6_ADDRSTRLEN) return {};
  const int af = addr.family == IpFamily::V4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, addr.bytes.data(), out.data(), static_cast<socklen_t>(out.size())) == nullptr)
    return {};
  return std::string_view(out.data());
}

std::string_view cidr_error_text(CidrError e) {
  switch (e) {
    case CidrError::Ok: return "ok";
    case CidrError::Empty: return "empty entry";
    case CidrError::BadAddress: return "not an IPv4 or IPv6 address";
    case CidrError::BadPrefix: return "prefix length is not a decimal number";
    case CidrError::PrefixTooLong: return "prefix length exceeds 32 (IPv4) or 128 (IPv6)";
    case CidrError::HostBitsSet: return "host bits set after the prefix length";
  }
  return "unknown error";
}

CidrParse parse_cidr(std::string_view text, HostBits host_bits) {
  CidrParse r;
  text = trim(text);
  if (text.empty()) {
    r.error = CidrError::Empty;
    return r;
  }
  const std::size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  IpAddress addr;
  if (!parse_ip(addr_text, addr)) {
    r.error = CidrError::BadAddress;
    return r;
  }
  // The textual family decides the width of the prefix: "::ffff:10.0.0.0/104" is a v6 prefix
  // that we then translate into the v4 prefix /8.
  const bool written_as_v6 = addr_text.find(':') != std::string_view::npos;
  unsigned len = written_as_v6 ? 128 : 32;
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    const char* end = len_text.data() + len_text.size();
    auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
    if (len_text.empty() || len_text.size() > 3 || ec != std::errc{} || ptr != end) {
      r.error = CidrError::BadPrefix;
      return r;
    }
    if (len > (written_as_v6 ? 128u : 32u)) {
      r.error = CidrError::PrefixTooLong;
      return r;
    }
  }
  if (written_as_v6 && addr.family == IpFamily::V4) {
    if (len < 96) {
      // A mapped address with a prefix shorter than the mapping: keep it as plain IPv6 bytes.
      addr.family = IpFamily::V6;
      std::copy(addr.bytes.begin(), addr.bytes.begin() + 4, addr.bytes.begin() + 12);
      std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), addr.bytes.begin());
    } else {
      len -= 96;
    }
  }
  IpAddress masked = addr;
  mask_ip(masked, len);
  if (!(masked == addr)) {
    if (host_bits == HostBits::Reject) {
      r.error = CidrError::HostBitsSet;
      return r;
    }
    r.host_bits_cleared = true;
  }
  r.cidr.network = masked;
  r.cidr.prefix_len = static_cast<std::uint8_t>(len);
  return r;
}

std::string format_cidr(const Cidr& c) {
  char buf[INET6_ADDRSTRLEN];
  std::string s(format_ip(c.network, buf));
  s += '/';
  s += std::to_string(c.prefix_len);
  return s;
}

void CidrSet::add(const Cidr& c) {
  ++prefixes_added_;
  if (c.network.family == IpFamily::V4) {
    const std::uint32_t first = load_be32(c.network.bytes.data());
    // Shift in 64 bits: shifting a 32-bit value by 32 (the /32 case) is undefined.
    const auto host = static_cast<std::uint32_t>(std::uint64_t{0xffffffffu} >> c.prefix_len);
    add_v4(first, first | host);
    return;
  }
  U128 first{load_be64(c.network.bytes.data()), load_be64(c.network.bytes.data() + 8)};
  U128 last = first;
  const unsigned len = c.prefix_len;
  if (len < 64) {
    last.hi |= len == 0 ? ~std::uint64_t{0} : (~std::uint64_t{0} >> len);
    last.lo = ~std::uint64_t{0};
  } else if (len < 128) {
    last.lo |= ~std::uint64_t{0} >> (len - 64);
  }
  add_v6(first, last);
  // Clients in ::ffff:0:0/96 are looked up as IPv4 (see IpAddress), so a v6 prefix that covers
  // the whole mapped block (e.g. ::/0 or ::/80) must also cover all of IPv4.
  const U128 mapped{0, 0x0000ffff00000000ull};
  if (len < 96 && first <= mapped && mapped <= last) add_v4(0, 0xffffffffu);
}

void CidrSet::add_v4(std::uint32_t first, std::uint32_t last) {
  v4_.push_back({first, last});
  std::sort(v4_.begin(), v4_.end(), [](const V4Range& a, const V4Range& b) { return a.first < b.first; });
  std::vector<V4Range> merged;
  for (const V4Range& r : v4_) {
    // Merge overlapping and adjacent ranges (guard last + 1 against wrap at 255.255.255.255).
    if (!merged.empty() && (merged.back().last == 0xffffffffu || r.first <= merged.back().last + 1)) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  v4_ = std::move(merged);
}

void CidrSet::add_v6(U128 first, U128 last) {
  v6_.push_back({first, last});
  std::sort(v6_.begin(), v6_.end(), [](const V6Range& a, const V6Range& b) { return a.first < b.first; });
  std::vector<V6Range> merged;
  for (const V6Range& r : v6_) {
    if (!merged.empty() && r.first <= merged.back().last) {  // overlapping; adjacency not merged
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  v6_ = std::move(merged);
}

bool CidrSet::contains(const IpAddress& addr) const {
  if (addr.family == IpFamily::V4) {
    const std::uint32_t a = load_be32(addr.bytes.data());
    // First range starting after `a`; the one before it is the only candidate.
    auto it = std::upper_bound(v4_.begin(), v4_.end(), a,
                               [](std::uint32_t v, const V4Range& r) { return v < r.first; });
    return it != v4_.begin() && a <= std::prev(it)->last;
  }
  const U128 a{load_be64(addr.bytes.data()), load_be64(addr.bytes.data() + 8)};
  auto it = std::upper_bound(v6_.begin(), v6_.end(), a,
                             [](const U128& v, const V6Range& r) { return v < r.first; });
  return it != v6_.begin() && a <= std::prev(it)->last;
}

CidrLoad load_cidr_text(std::string_view text, std::string_view source, HostBits host_bits) {
  CidrLoad out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const CidrParse p = parse_cidr(line, host_bits);
    auto where = [&] {
      return std::string(source) + ":" + std::to_string(line_no) + ": ";
    };
    if (p.error != CidrError::Ok) {
      out.errors.push_back(where() + std::string(cidr_error_text(p.error)) + ": '" + std::string(line) + "'");
      continue;
    }
    if (p.host_bits_cleared) {
      out.warnings.push_back(where() + "host bits set, normalised to " + format_cidr(p.cidr) + ": '" +
                             std::string(line) + "'");
    }
    out.set.add(p.cidr);
  }
  return out;
}

CidrLoad load_cidr_file(const std::string& path, HostBits host_bits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    CidrLoad out;
    out.errors.push_back(path + ": cannot open file");
    return out;
  }
  std::ostringstream content;
  content << in.rdbuf();
  return load_cidr_text(content.str(), path, host_bits);
}

}  // namespace sticky::policy
