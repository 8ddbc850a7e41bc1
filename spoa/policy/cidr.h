// IPv4/IPv6 addresses, CIDR prefixes and an immutable set of prefixes with a fast contains().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace sticky::policy {

enum class IpFamily : std::uint8_t { V4 = 4, V6 = 6 };

// An address in network byte order. IPv4 uses bytes[0..3]; the rest stays zero so two equal
// addresses compare equal byte for byte. IPv4-mapped IPv6 (::ffff:a.b.c.d) is always stored as
// IPv4: a dual-stack listener reports v4 clients that way, and they must match v4 ranges.
struct IpAddress {
  IpFamily family = IpFamily::V4;
  std::array<std::uint8_t, 16> bytes{};

  std::size_t size() const { return family == IpFamily::V4 ? 4 : 16; }
  unsigned max_prefix() const { return family == IpFamily::V4 ? 32 : 128; }
  Bytes view() const { return Bytes(bytes.data(), size()); }
  bool operator==(const IpAddress&) const = default;
};

// Parses a bare textual address (dotted quad, or any RFC 4291 IPv6 form). No brackets, ports,
// zone ids or surrounding spaces. Returns false on anything else; `out` is then unspecified.
bool parse_ip(std::string_view text, IpAddress& out);

// Builds an address from raw bytes (4 or 16, e.g. from the SPOP ipv4/ipv6 types).
// Returns false for any other length. 16 bytes in ::ffff:0:0/96 become IPv4.
bool ip_from_bytes(Bytes raw, IpAddress& out);

// Clears every bit after the first `prefix_len` (clamped to the family's width).
void mask_ip(IpAddress& addr, unsigned prefix_len);

// Writes the textual form into `out` (>= 46 chars) and returns the view; for messages only.
std::string_view format_ip(const IpAddress& addr, std::span<char> out);

struct Cidr {
  IpAddress network;        // host bits are always zero
  std::uint8_t prefix_len = 0;
  bool operator==(const Cidr&) const = default;
};

enum class CidrError : std::uint8_t {
  Ok = 0,
  Empty,          // nothing but spaces
  BadAddress,     // the part before '/' is not an address
  BadPrefix,      // the part after '/' is not a decimal number
  PrefixTooLong,  // more than 32 (IPv4) or 128 (IPv6)
  HostBitsSet,    // e.g. 10.0.0.1/8; an error only under HostBits::Reject
};
std::string_view cidr_error_text(CidrError e);

// What to do with "10.0.0.1/8": normalise to 10.0.0.0/8 (and report a warning), or refuse.
enum class HostBits : std::uint8_t { Normalise, Reject };

struct CidrParse {
  CidrError error = CidrError::Ok;
  Cidr cidr;
  bool host_bits_cleared = false;  // warning: the input had host bits set and they were cleared
};

// Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). Leading and trailing
// spaces are ignored. A mapped prefix ::ffff:a.b.c.d/n with n >= 96 becomes the IPv4 prefix /n-96.
CidrParse parse_cidr(std::string_view text, HostBits host_bits = HostBits::Normalise);

// Writes "network/len"; for messages and tests.
std::string format_cidr(const Cidr& c);

// A set of prefixes, built at config time and then read-only (safe to share between threads).
// Stored as sorted, merged, disjoint [first, last] ranges per family, so contains() is one
// binary search: about 9 steps for a few hundred Akamai ranges.
class CidrSet {
 public:
  // Adds a prefix. Config-time only: cost is O(n log n) per call.
  void add(const Cidr& c);

  bool contains(const IpAddress& addr) const;
  bool empty() const { return prefixes_added_ == 0; }
  // Prefixes added (before merging) and disjoint ranges kept (after merging).
  std::size_t prefixes_added() const { return prefixes_added_; }
  std::size_t ranges() const { return v4_.size() + v6_.size(); }

 private:
  struct U128 {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    auto operator<=>(const U128&) const = default;
  };
  struct V4Range {
    std::uint32_t first;
    std::uint32_t last;
  };
  struct V6Range {
    U128 first;
    U128 last;
  };
  void add_v4(std::uint32_t first, std::uint32_t last);
  void add_v6(U128 first, U128 last);

  std::vector<V4Range> v4_;
  std::vector<V6Range> v6_;
  std::size_t prefixes_added_ = 0;
};

// Result of loading a list: the set plus every problem found, so an operator fixes them all at
// once. Each message reads "<source>:<line>: <what is wrong>: '<text>'".
struct CidrLoad {
  CidrSet set;
  std::vector<std::string> errors;    // entries rejected (the set lacks them)
  std::vector<std::string> warnings;  // entries accepted after normalising
  bool ok() const { return errors.empty(); }
};

// One entry per line; '#' starts a comment (whole line or trailing); blank lines are skipped.
// `source` names the origin in messages (a file path, or a config key).
CidrLoad load_cidr_text(std::string_view text, std::string_view source,
                        HostBits host_bits = HostBits::Normalise);

// Reads the file and parses it as above. An unreadable file is one error naming the path.
CidrLoad load_cidr_file(const std::string& path, HostBits host_bits = HostBits::Normalise);

}  // namespace sticky::policy
