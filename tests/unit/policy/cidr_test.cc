// Tests for address parsing, CIDR parsing, CidrSet matching and list loading.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <algorithm>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "policy/cidr.h"

using namespace sticky::policy;

namespace {

IpAddress ip(std::string_view text) {
  IpAddress a;
  REQUIRE(parse_ip(text, a));
  return a;
}

Cidr cidr(std::string_view text) {
  const CidrParse p = parse_cidr(text);
  REQUIRE(p.error == CidrError::Ok);
  return p.cidr;
}

CidrSet set_of(std::initializer_list<std::string_view> entries) {
  CidrSet s;
  for (auto e : entries) s.add(cidr(e));
  return s;
}

}  // namespace

TEST_CASE("IPv4 and IPv6 addresses parse into network-order bytes", "[cidr]") {
  const IpAddress v4 = ip("192.0.2.7");
  CHECK(v4.family == IpFamily::V4);
  CHECK(v4.size() == 4);
  CHECK(v4.bytes[0] == 192);
  CHECK(v4.bytes[3] == 7);
  CHECK(v4.bytes[4] == 0);

  const IpAddress v6 = ip("2001:db8::1");
  CHECK(v6.family == IpFamily::V6);
  CHECK(v6.bytes[0] == 0x20);
  CHECK(v6.bytes[1] == 0x01);
  CHECK(v6.bytes[15] == 1);
}

TEST_CASE("Malformed addresses are refused", "[cidr]") {
  IpAddress a;
  for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d",
                               "2001:db8::1::2", "fe80::1%eth0", "[::1]", "1.2.3.4/8", "::g"}) {
    INFO(bad);
    CHECK_FALSE(parse_ip(bad, a));
  }
  // Longer than any valid address: must be refused without overflowing the parse buffer.
  CHECK_FALSE(parse_ip(std::string(200, '1'), a));
}

TEST_CASE("IPv4-mapped IPv6 addresses are treated as IPv4", "[cidr]") {
  CHECK(ip("::ffff:10.1.2.3") == ip("10.1.2.3"));
  CHECK(ip("::ffff:a01:203") == ip("10.1.2.3"));

  const std::uint8_t raw[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  IpAddress a;
  REQUIRE(ip_from_bytes(sticky::Bytes(raw, 16), a));
  CHECK(a == ip("10.1.2.3"));

  // ::10.1.2.3 (the deprecated "compatible" form) is NOT mapped and stays IPv6.
  CHECK(ip("::10.1.2.3").family == IpFamily::V6);
}

TEST_CASE("ip_from_bytes accepts only 4 or 16 bytes", "[cidr]") {
  const std::uint8_t raw[16] = {};
  IpAddress a;
  CHECK(ip_from_bytes(sticky::Bytes(raw, 4), a));
  CHECK(ip_from_bytes(sticky::Bytes(raw, 16), a));
  CHECK_FALSE(ip_from_bytes(sticky::Bytes(raw, 0), a));
  CHECK_FALSE(ip_from_bytes(sticky::Bytes(raw, 5), a));
  CHECK_FALSE(ip_from_bytes(sticky::Bytes(raw, 15), a));
}

TEST_CASE("mask_ip clears host bits at any prefix length", "[cidr]") {
  IpAddress a = ip("192.168.255.255");
  mask_ip(a, 20);
  CHECK(a == ip("192.168.240.0"));
  IpAddress b = ip("2001:db8:ffff:ffff:ffff::1");
  mask_ip(b, 64);
  CHECK(b == ip("2001:db8:ffff:ffff::"));
  IpAddress c = ip("1.2.3.4");
  mask_ip(c, 0);
  CHECK(c == ip("0.0.0.0"));
  IpAddress d = ip("1.2.3.4");
  mask_ip(d, 200);  // wider than the family: unchanged
  CHECK(d == ip("1.2.3.4"));
}

TEST_CASE("CIDR prefixes parse, with bare addresses as host prefixes", "[cidr]") {
  CHECK(format_cidr(cidr("10.0.0.0/8")) == "10.0.0.0/8");
  CHECK(format_cidr(cidr("2001:db8::/32")) == "2001:db8::/32");
  CHECK(format_cidr(cidr("  192.0.2.1  ")) == "192.0.2.1/32");
  CHECK(format_cidr(cidr("::1")) == "::1/128");
  CHECK(format_cidr(cidr("0.0.0.0/0")) == "0.0.0.0/0");
  CHECK(format_cidr(cidr("::/0")) == "::/0");
  CHECK(format_cidr(cidr("::ffff:10.0.0.0/104")) == "10.0.0.0/8");
  CHECK(format_cidr(cidr("::ffff:10.0.0.1")) == "10.0.0.1/32");
}

TEST_CASE("Bad CIDR input yields the specific error", "[cidr]") {
  CHECK(parse_cidr("").error == CidrError::Empty);
  CHECK(parse_cidr("   ").error == CidrError::Empty);
  CHECK(parse_cidr("10.0.0/8").error == CidrError::BadAddress);
  CHECK(parse_cidr("/8").error == CidrError::BadAddress);
  CHECK(parse_cidr("10.0.0.0/").error == CidrError::BadPrefix);
  CHECK(parse_cidr("10.0.0.0/x").error == CidrError::BadPrefix);
  CHECK(parse_cidr("10.0.0.0/-1").error == CidrError::BadPrefix);
  CHECK(parse_cidr("10.0.0.0/8/9").error == CidrError::BadPrefix);
  CHECK(parse_cidr("10.0.0.0/33").error == CidrError::PrefixTooLong);
  CHECK(parse_cidr("::/129").error == CidrError::PrefixTooLong);
  CHECK(parse_cidr("10.0.0.0/0008").error == CidrError::BadPrefix);
  CHECK(cidr_error_text(CidrError::PrefixTooLong) == "prefix length exceeds 32 (IPv4) or 128 (IPv6)");
}

TEST_CASE("Host bits are normalised with a warning, or rejected on request", "[cidr]") {
  const CidrParse norm = parse_cidr("10.1.2.3/8");
  CHECK(norm.error == CidrError::Ok);
  CHECK(norm.host_bits_cleared);
  CHECK(format_cidr(norm.cidr) == "10.0.0.0/8");
  CHECK_FALSE(parse_cidr("10.0.0.0/8").host_bits_cleared);
  CHECK(parse_cidr("10.1.2.3/8", HostBits::Reject).error == CidrError::HostBitsSet);
  CHECK(parse_cidr("2001:db8::1/32", HostBits::Reject).error == CidrError::HostBitsSet);
}

TEST_CASE("CidrSet matches at the edge prefixes /0, /32 and /128", "[cidr]") {
  const CidrSet all4 = set_of({"0.0.0.0/0"});
  CHECK(all4.contains(ip("0.0.0.0")));
  CHECK(all4.contains(ip("255.255.255.255")));
  CHECK_FALSE(all4.contains(ip("::1")));

  const CidrSet host4 = set_of({"192.0.2.1/32"});
  CHECK(host4.contains(ip("192.0.2.1")));
  CHECK_FALSE(host4.contains(ip("192.0.2.0")));
  CHECK_FALSE(host4.contains(ip("192.0.2.2")));

  const CidrSet host6 = set_of({"2001:db8::1/128"});
  CHECK(host6.contains(ip("2001:db8::1")));
  CHECK_FALSE(host6.contains(ip("2001:db8::")));
  CHECK_FALSE(host6.contains(ip("2001:db8::2")));

  const CidrSet all6 = set_of({"::/0"});
  CHECK(all6.contains(ip("::")));
  CHECK(all6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
}

TEST_CASE("CidrSet bounds are inclusive and exact around a prefix", "[cidr]") {
  const CidrSet s = set_of({"10.0.0.0/8", "2001:db8::/32", "2001:db8:1:2::/64"});
  CHECK(s.contains(ip("10.0.0.0")));
  CHECK(s.contains(ip("10.255.255.255")));
  CHECK_FALSE(s.contains(ip("9.255.255.255")));
  CHECK_FALSE(s.contains(ip("11.0.0.0")));
  CHECK(s.contains(ip("2001:db8::")));
  CHECK(s.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  CHECK_FALSE(s.contains(ip("2001:db9::")));
  CHECK_FALSE(s.contains(ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
  CHECK(s.prefixes_added() == 3);
  CHECK(s.ranges() == 2);  // the /64 lies inside the /32
}

TEST_CASE("CidrSet merges overlapping and adjacent IPv4 ranges", "[cidr]") {
  const CidrSet s = set_of({"10.0.1.0/24", "10.0.0.0/24", "10.0.0.128/25", "255.255.255.255", "255.255.255.254"});
  CHECK(s.ranges() == 2);
  CHECK(s.contains(ip("10.0.0.0")));
  CHECK(s.contains(ip("10.0.1.255")));
  CHECK_FALSE(s.contains(ip("10.0.2.0")));
  CHECK(s.contains(ip("255.255.255.255")));
  CHECK(s.contains(ip("255.255.255.254")));
  CHECK_FALSE(s.contains(ip("255.255.255.253")));
}

TEST_CASE("An empty CidrSet contains nothing", "[cidr]") {
  const CidrSet s;
  CHECK(s.empty());
  CHECK_FALSE(s.contains(ip("0.0.0.0")));
  CHECK_FALSE(s.contains(ip("::")));
}

TEST_CASE("Mapped prefixes and mapped clients meet as IPv4", "[cidr]") {
  const CidrSet s = set_of({"::ffff:198.51.100.0/120"});
  CHECK(s.contains(ip("198.51.100.9")));
  CHECK(s.contains(ip("::ffff:198.51.100.9")));
  CHECK_FALSE(s.contains(ip("198.51.101.9")));
  // A v6 prefix covering the whole mapped block also covers every IPv4 client.
  const CidrSet wide = set_of({"::/80"});
  CHECK(wide.contains(ip("203.0.113.1")));
  const CidrSet narrow = set_of({"2001:db8::/32"});
  CHECK_FALSE(narrow.contains(ip("203.0.113.1")));
}

TEST_CASE("CidrSet agrees with a brute-force oracle on many addresses", "[cidr]") {
  // Pseudo-random prefixes and probes (fixed LCG: deterministic), checked against a linear scan.
  std::uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(x >> 32);
  };
  std::vector<Cidr> prefixes;
  CidrSet s;
  for (int i = 0; i < 300; ++i) {
    Cidr c;
    const std::uint32_t a = next();
    c.network.bytes = {static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                       static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
    c.prefix_len = static_cast<std::uint8_t>(8 + next() % 25);
    mask_ip(c.network, c.prefix_len);
    prefixes.push_back(c);
    s.add(c);
  }
  for (int i = 0; i < 20000; ++i) {
    IpAddress probe;
    std::uint32_t a = next();
    if (i % 2 == 0) {  // half the probes near a prefix so matches actually happen
      const Cidr& c = prefixes[next() % prefixes.size()];
      a = (std::uint32_t{c.network.bytes[0]} << 24 | std::uint32_t{c.network.bytes[1]} << 16 |
           std::uint32_t{c.network.bytes[2]} << 8 | c.network.bytes[3]) + (next() % 512) - 256;
    }
    probe.bytes = {static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                   static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
    bool expected = false;
    for (const Cidr& c : prefixes) {
      IpAddress m = probe;
      mask_ip(m, c.prefix_len);
      expected = expected || m == c.network;
    }
    REQUIRE(s.contains(probe) == expected);
  }
}

TEST_CASE("A CIDR list reports every bad line with source and line number", "[cidr]") {
  const std::string text =
      "# Akamai edge ranges\n"
      "\n"
      "23.32.0.0/11\n"
      "   2600:1400::/24   # trailing comment\n"
      "10.0.0.0/33\n"
      "not-an-ip\n"
      "10.1.2.3/8\r\n"
      "\t\n";
  const CidrLoad r = load_cidr_text(text, "cdn.txt");
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0] == "cdn.txt:5: prefix length exceeds 32 (IPv4) or 128 (IPv6): '10.0.0.0/33'");
  CHECK(r.errors[1] == "cdn.txt:6: not an IPv4 or IPv6 address: 'not-an-ip'");
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] == "cdn.txt:7: host bits set, normalised to 10.0.0.0/8: '10.1.2.3/8'");
  CHECK_FALSE(r.ok());
  CHECK(r.set.prefixes_added() == 3);
  CHECK(r.set.contains(ip("23.40.1.1")));
  CHECK(r.set.contains(ip("2600:1400::5")));
  CHECK(r.set.contains(ip("10.200.0.1")));
}

TEST_CASE("A CIDR file loads from disk; a missing file is one error", "[cidr]") {
  const std::string path = "cidr_test_ranges.txt";
  {
    std::ofstream f(path);
    f << "192.0.2.0/24\n# comment\n198.51.100.0/33\n";
  }
  const CidrLoad r = load_cidr_file(path);
  std::remove(path.c_str());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == path + ":3: prefix length exceeds 32 (IPv4) or 128 (IPv6): '198.51.100.0/33'");
  CHECK(r.set.contains(ip("192.0.2.200")));

  const CidrLoad missing = load_cidr_file("/nonexistent/ranges.txt");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0] == "/nonexistent/ranges.txt: cannot open file");
}

TEST_CASE("Strict host-bit mode turns normalisation into a file error", "[cidr]") {
  const CidrLoad r = load_cidr_text("10.1.2.3/8\n", "strict.txt", HostBits::Reject);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "strict.txt:1: host bits set after the prefix length: '10.1.2.3/8'");
  CHECK(r.set.empty());
}

TEST_CASE("IPv4 parsing agrees with inet_pton on tricky inputs", "[cidr]") {
  // The fast dotted-quad parser must accept and refuse exactly what inet_pton(AF_INET) does.
  const char* inputs[] = {"0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1",
                          "1.2.3", "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4",
                          "1.2.3.1000", "1.2.3.-1", "a.b.c.d", "1.2.3.4x", "0.0.0.00", "192.168.001.1",
                          "9.9.9.9", "100.64.0.1", "1234", ""};
  for (const char* in : inputs) {
    sticky::policy::IpAddress a;
    std::uint8_t ref[4];
    const bool expected = inet_pton(AF_INET, in, ref) == 1;
    INFO(in);
    REQUIRE(sticky::policy::parse_ip(in, a) == expected);
    if (expected) CHECK(std::equal(ref, ref + 4, a.bytes.begin()));
  }
}

TEST_CASE("IPv4 parsing agrees with inet_pton on 300,000 random near-addresses", "[cidr]") {
  // Digits and dots in every arrangement up to 17 characters, plus mutations of real addresses:
  // the hand-written parser must never accept or refuse differently from libc.
  std::mt19937 rng(20261122);
  const char alphabet[] = "0123456789.....x";
  std::size_t accepted = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string s;
    if (i % 2 == 0) {
      const std::size_t len = rng() % 18;
      for (std::size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
    } else {
      s = std::to_string(rng() % 300) + "." + std::to_string(rng() % 300) + "." + std::to_string(rng() % 300) + "." +
          std::to_string(rng() % 300);
      if (rng() % 3 == 0) s.insert(rng() % (s.size() + 1), 1, "0.9"[rng() % 3]);
    }
    sticky::policy::IpAddress a;
    std::uint8_t ref[4];
    const bool expected = inet_pton(AF_INET, s.c_str(), ref) == 1;
    INFO(s);
    REQUIRE(sticky::policy::parse_ip(s, a) == expected);
    if (expected) {
      ++accepted;
      REQUIRE(std::equal(ref, ref + 4, a.bytes.begin()));
    }
  }
  CHECK(accepted > 50000);  // the generator really produced valid addresses too
}
