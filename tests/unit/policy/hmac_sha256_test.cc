// HMAC-SHA256 behind the insert cookie: RFC 4231's test cases (short, long and block-size-plus
// keys and data), the prefix split, and that a shared key gives the same MAC from many threads.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "policy/hmac_sha256.h"

using sticky::policy::HmacSha256Key;
using sticky::policy::kHmacSha256Len;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> repeat(std::uint8_t b, std::size_t n) { return std::vector<std::uint8_t>(n, b); }

std::string hex(const std::uint8_t* p, std::size_t n) {
  std::string out;
  char buf[3];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    out += buf;
  }
  return out;
}

std::string mac_hex(const std::vector<std::uint8_t>& key, const std::vector<std::uint8_t>& data,
                    std::string_view prefix = {}) {
  const HmacSha256Key k(key);
  std::array<std::uint8_t, kHmacSha256Len> out{};
  k.mac(prefix, data, out.data());
  return hex(out.data(), out.size());
}

struct Rfc4231Case {
  const char* name;
  std::vector<std::uint8_t> key;
  std::vector<std::uint8_t> data;
  const char* mac;
};

}  // namespace

TEST_CASE("HMAC-SHA256 gives RFC 4231's results", "[hmac]") {
  std::vector<std::uint8_t> key4;
  for (std::uint8_t b = 1; b <= 25; ++b) key4.push_back(b);
  const Rfc4231Case cases[] = {
      {"1: 20-byte key", repeat(0x0b, 20), bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2: key shorter than the output", bytes("Jefe"), bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3: 50 bytes of data", repeat(0xaa, 20), repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4: 25-byte key", key4, repeat(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"6: key longer than a block (hashed first)", repeat(0xaa, 131),
       bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7: key and data longer than a block", repeat(0xaa, 131),
       bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
             "to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) {
    INFO("RFC 4231 test case " << c.name);
    CHECK(mac_hex(c.key, c.data) == c.mac);
  }
}

TEST_CASE("A prefix is MACed as if concatenated with the data", "[hmac]") {
  const auto key = bytes("Jefe");
  CHECK(mac_hex(key, bytes(" ya want for nothing?"), "what do") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(mac_hex(key, {}, "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("One key shared by many threads gives the same MAC in each", "[hmac]") {
  const HmacSha256Key key(repeat(0x0b, 20));
  const auto data = bytes("Hi There");
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      std::array<std::uint8_t, kHmacSha256Len> out{};
      for (int i = 0; i < 2000; ++i) key.mac({}, data, out.data());
      results[t] = hex(out.data(), out.size());
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
