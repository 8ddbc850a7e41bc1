// Fuzz entry point: the sealed insert cookie. The first input byte picks a mode:
//   even: the rest is a cookie value as a client would send it, verified under rotating keys and
//         limits; whatever verifies Ok must re-encode to exactly the same value.
//   odd:  the next bytes build a valid cookie (key, server token, times), which must verify Ok
//         and round-trip; the remaining bytes are mutations (position, xor) applied to its text,
//         and a mutated value must never verify Ok unless it is the original text again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "fuzz_check.h"
#include "policy/cookie_codec.h"

using namespace sticky;
using namespace sticky::policy;

namespace {

constexpr std::int64_t kNow = 1'750'000'000;

struct Codecs {
  CookieCodec plain;    // no limits: any valid cookie verifies Ok
  CookieCodec limited;  // idle 30 min, life 12 h, default skew
  Codecs() : limited(CookieLimits{1800, 43200, 60}) {
    for (CookieCodec* c : {&plain, &limited}) {
      FUZZ_CHECK(c->add_key(3, "fuzz-old-secret-0123456789abcdef").empty(), "key 3 refused");
      FUZZ_CHECK(c->add_key(9, "fuzz-new-secret-fedcba9876543210").empty(), "key 9 refused");
      // Shares id 3 with the first key (ids are hashes of secrets): the MAC must tell them apart.
      FUZZ_CHECK(c->add_key(3, "fuzz-twin-secret-00112233445566778").empty(), "second key 3 refused");
    }
  }
};

bool same(const AgentCookie& a, const AgentCookie& b) {
  return a.key == b.key && a.server == b.server && a.issued == b.issued && a.last_seen == b.last_seen;
}

std::uint32_t take_u32(ByteReader& r) { return r.remaining() >= 4 ? r.take_u32_be() : 0; }

void verify_raw(const Codecs& c, std::string_view value, std::int64_t now) {
  for (const CookieCodec* codec : {&c.plain, &c.limited}) {
    const CookieCheck k = codec->verify(value, now);
    if (k.status != CookieStatus::Ok) continue;
    FUZZ_CHECK(k.cookie.last_seen >= k.cookie.issued, "verified cookie seen before it was issued");
    char again[kCookieValueLen];
    FUZZ_CHECK(codec->encode(k.cookie, again) == kCookieValueLen, "verified cookie does not re-encode");
    FUZZ_CHECK(std::string_view(again, kCookieValueLen) == value, "verified cookie re-encodes differently");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Codecs codecs;
  if (size == 0) return 0;
  ByteReader r(Bytes(data + 1, size - 1));
  if ((data[0] & 1) == 0) {
    const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
    verify_raw(codecs, value, kNow);
    verify_raw(codecs, value, static_cast<std::int64_t>(data[0]) << 24);  // another clock
    return 0;
  }

  AgentCookie c;
  c.key = static_cast<std::uint8_t>((data[0] >> 1) % 3);
  for (auto& b : c.server.bytes) b = r.remaining() ? r.take_u8() : 0;
  c.issued = take_u32(r);
  const std::uint32_t age = take_u32(r);
  c.last_seen = c.issued + std::min<std::uint32_t>(age, UINT32_MAX - c.issued);
  char text[kCookieValueLen];
  FUZZ_CHECK(codecs.plain.encode(c, text) == kCookieValueLen, "a valid cookie does not encode");
  const std::string original(text, kCookieValueLen);
  // Verified at its own last-seen time it is fresh: Ok and the same fields.
  const CookieCheck k = codecs.plain.verify(original, c.last_seen);
  FUZZ_CHECK(k.status == CookieStatus::Ok, "a freshly encoded cookie does not verify");
  FUZZ_CHECK(same(k.cookie, c), "a freshly encoded cookie verifies to other fields");
  const CookieCheck lim = codecs.limited.verify(original, c.last_seen);
  FUZZ_CHECK(lim.status == CookieStatus::Ok || lim.status == CookieStatus::Expired,
             "a cookie checked at its last-seen time fails for another reason than its age");

  // Mutations: (position, xor) pairs, or a truncation / extension when the position is past the end.
  std::string mutated = original;
  while (r.remaining() >= 2) {
    const std::uint8_t pos = r.take_u8();
    const std::uint8_t x = r.take_u8();
    if (pos < mutated.size()) mutated[pos] = static_cast<char>(mutated[pos] ^ x);
    else if (pos & 1) mutated.resize(x % (kCookieValueLen + 8), 'A');
    else mutated.push_back(static_cast<char>(x));
  }
  const CookieCheck m = codecs.plain.verify(mutated, c.last_seen);
  if (mutated == original) FUZZ_CHECK(m.status == CookieStatus::Ok, "the original text stopped verifying");
  else FUZZ_CHECK(m.status != CookieStatus::Ok, "a mutated cookie verified Ok");
  verify_raw(codecs, mutated, kNow);
  return 0;
}
