// HMAC-SHA256 (RFC 2104) for the insert cookie: a key is prepared once, at configuration time,
// and then MACs any number of messages from any number of threads without allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sticky::policy {

inline constexpr std::size_t kHmacSha256Len = 32;

class HmacSha256Key {
 public:
  // An unusable key until assigned from a real one (so it can sit in a default-built struct).
  HmacSha256Key() = default;
  // Any length: a key longer than the 64-byte block is hashed first, as RFC 2104 says.
  explicit HmacSha256Key(std::span<const std::uint8_t> key);
  HmacSha256Key(const HmacSha256Key&) = default;
  HmacSha256Key& operator=(const HmacSha256Key&) = default;
  ~HmacSha256Key();  // wipes the prepared pads

  // out = HMAC(key, prefix || data); the prefix saves the caller a concatenation buffer.
  // Const and free of shared mutable state: safe to call concurrently on one key.
  void mac(std::string_view prefix, std::span<const std::uint8_t> data, std::uint8_t out[kHmacSha256Len]) const;

 private:
  // Nettle's struct hmac_sha256_ctx, a plain struct holding the SHA-256 states after absorbing
  // key ^ ipad and key ^ opad; opaque here so only hmac_sha256.cc includes Nettle's headers.
  alignas(8) unsigned char state_[336] = {};
};

}  // namespace sticky::policy
