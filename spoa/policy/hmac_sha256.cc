// HMAC-SHA256 on Nettle (libnettle8, on every Debian system through GnuTLS). Its hmac_sha256_ctx
// is a plain struct, so the two pads are absorbed once per key and each MAC runs on stack copies
// of its two SHA-256 states: no allocation, no shared mutable state, and Nettle's SHA-NI code
// where the CPU has it. OpenSSL 3 allocates in every EVP_MAC or EVP_MD_CTX init and copy, and its copyable
// SHA256_CTX interface is deprecated; libsodium's SHA-256 is portable C, 3x slower here
// (tests/bench/policy/mac_bench measures each).
#include "policy/hmac_sha256.h"

#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <string.h>  // explicit_bzero

#include <cstring>

namespace sticky::policy {
namespace {

hmac_sha256_ctx* as_ctx(unsigned char* p) { return reinterpret_cast<hmac_sha256_ctx*>(p); }
const hmac_sha256_ctx* as_ctx(const unsigned char* p) { return reinterpret_cast<const hmac_sha256_ctx*>(p); }

}  // namespace

HmacSha256Key::HmacSha256Key(std::span<const std::uint8_t> key) {
  static_assert(sizeof(hmac_sha256_ctx) <= sizeof(state_) && alignof(hmac_sha256_ctx) <= 8);
  static_assert(SHA256_DIGEST_SIZE == kHmacSha256Len);
  // Nettle hashes a key longer than the block first (RFC 2104).
  hmac_sha256_set_key(as_ctx(state_), key.size(), key.data());
}

HmacSha256Key::~HmacSha256Key() { explicit_bzero(state_, sizeof state_); }

// What hmac_sha256_digest does, on stack copies of the two pad states only (the shared key is
// never written). The copies are not wiped: they hold what the key itself holds for the life of
// the process, and wiping would cost as much as a third of a MAC.
void HmacSha256Key::mac(std::string_view prefix, std::span<const std::uint8_t> data,
                        std::uint8_t out[kHmacSha256Len]) const {
  const hmac_sha256_ctx* k = as_ctx(state_);
  sha256_ctx c;
  std::memcpy(&c, &k->inner, sizeof c);
  sha256_update(&c, prefix.size(), reinterpret_cast<const std::uint8_t*>(prefix.data()));
  sha256_update(&c, data.size(), data.data());
  std::uint8_t inner[SHA256_DIGEST_SIZE];
  sha256_digest(&c, sizeof inner, inner);
  std::memcpy(&c, &k->outer, sizeof c);
  sha256_update(&c, sizeof inner, inner);
  sha256_digest(&c, kHmacSha256Len, out);
}

}  // namespace sticky::policy
