// The agent's insert cookie: an opaque, HMAC-authenticated value naming a server by keyed token.
//
// Value layout (33 bytes, then base64url without padding = 44 characters):
//   [0]      format version (high nibble, = 1) | key id (low nibble, 0..15): a hint, not a name.
//            Ids come from a hash of each secret so every node agrees on them without talking;
//            two live secrets may share one, and the MAC tells which of them sealed the cookie.
//   [1..8]   server token: first 8 bytes of HMAC-SHA256(token_key, "srv:" + server name)
//   [9..12]  issue time, seconds since the epoch, big endian
//   [13..16] last-seen time, same encoding
//   [17..32] first 16 bytes of HMAC-SHA256(mac_key, bytes 0..16)
// token_key and mac_key are derived from each configured secret, so the two uses never share a
// key. No server name or address appears; a token is resolved through ServerTokenMap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/server_set.h"
#include "policy/hmac_sha256.h"

namespace sticky::policy {

inline constexpr std::size_t kCookieValueLen = 44;  // characters of an encoded value
inline constexpr std::size_t kMinSecretLen = 16;    // bytes; shorter secrets are refused
inline constexpr std::uint8_t kMaxKeyId = 15;
inline constexpr std::size_t kMaxKeys = 16;  // live secrets per codec (a rotation needs two)

struct ServerToken {
  std::array<std::uint8_t, 8> bytes{};
  bool operator==(const ServerToken&) const = default;
  auto operator<=>(const ServerToken&) const = default;
};

// The authenticated content of a cookie.
struct AgentCookie {
  std::uint8_t key = 0;  // which of the codec's keys seals it: its index, oldest first
  ServerToken server;
  std::uint32_t issued = 0;     // seconds since the epoch
  std::uint32_t last_seen = 0;  // seconds since the epoch, >= issued
};

enum class CookieStatus : std::uint8_t {
  Ok = 0,
  Malformed,    // wrong length, not base64url, unknown format version, last_seen < issued
  UnknownKey,   // no key has this id (rotated out, or another cluster's cookie)
  BadMac,       // authentication failed: tampered or forged
  Expired,      // older than max_life since issue
  IdleExpired,  // not seen for more than max_idle
  FromFuture,   // issue or last-seen time beyond now + future_skew
};
inline constexpr std::size_t kCookieStatusCount = 7;
std::string_view cookie_status_name(CookieStatus s);

struct CookieLimits {
  std::uint32_t max_idle = 0;      // seconds; 0 = no idle limit
  std::uint32_t max_life = 0;      // seconds since issue; 0 = no absolute limit
  std::uint32_t future_skew = 60;  // seconds of clock difference tolerated between nodes
};

struct CookieCheck {
  CookieStatus status = CookieStatus::Malformed;
  AgentCookie cookie;  // meaningful only when status == Ok
};

// Immutable after configuration, so one instance is shared by all worker threads. Every call is
// allocation-free: each key keeps its HMAC pads absorbed (policy/hmac_sha256.h), and a MAC copies
// that state onto the stack.
class CookieCodec {
 public:
  explicit CookieCodec(CookieLimits limits = {}) : limits_(limits) {}

  // Adds a key; the key added last is the one that issues (the newest). Keys may share an id.
  // Returns an empty view on success, or why the key was refused (id > 15, more than kMaxKeys
  // keys, secret < 16 bytes).
  std::string_view add_key(std::uint8_t id, std::string_view secret);

  bool has_keys() const { return !keys_.empty(); }
  std::size_t key_count() const { return keys_.size(); }
  // The index of the key new cookies are sealed with (the last added).
  std::uint8_t issuing_key() const { return keys_.empty() ? 0 : static_cast<std::uint8_t>(keys_.size() - 1); }
  const CookieLimits& limits() const { return limits_; }

  // The token of `server_name` under key number `key` (false if there is no such key).
  // Costs one HMAC: build a ServerTokenMap per server set instead of calling this per request.
  bool server_token(std::uint8_t key, std::string_view server_name, ServerToken& out) const;

  // Encodes `c` (its key must exist) into `out`, which needs kCookieValueLen chars.
  // Returns the characters written, or 0 if the key is unknown or `out` is too small.
  std::size_t encode(const AgentCookie& c, std::span<char> out) const;

  // Builds a fresh cookie under the issuing key: issued = last_seen = now (clamped to the
  // 32-bit range of the format, which lasts until 2106).
  AgentCookie make(const ServerToken& server, std::int64_t now) const;

  // Decodes and checks a received value. Reads only within `value`, never throws, compares the
  // MAC in constant time. Check order: Malformed, UnknownKey, BadMac, FromFuture, Expired,
  // IdleExpired. A value whose id several keys share is tried against each of them (one HMAC
  // each), so a forged cookie costs at most that many.
  CookieCheck verify(std::string_view value, std::int64_t now) const;

 private:
  struct Key {
    std::uint8_t id = 0;
    HmacSha256Key mac;    // MACs cookie values
    HmacSha256Key token;  // derives server tokens
  };
  CookieLimits limits_;
  std::vector<Key> keys_;  // oldest first; at most kMaxKeys
};

// Refresh policy: re-issue when the client's cookie would otherwise go stale or is wrong.
// True when the cookie names another server than `chosen` (a token under the issuing key), when
// it was sealed with an older key (so rotation completes), or when last_seen is older than
// max_idle / kReissueDivisor (so most responses carry no Set-Cookie). max_idle == 0 never
// triggers the time rule. A re-issued cookie keeps `issued` unless the server changed.
inline constexpr std::uint32_t kReissueDivisor = 4;
bool needs_reissue(const AgentCookie& cookie, std::int64_t now, std::uint32_t max_idle,
                   const ServerToken& chosen, std::uint8_t issuing_key);

// token -> server index for one ServerSet, under every configured key (old cookies still
// resolve during a rotation). Built when the set changes; lookups are a binary search.
class ServerTokenMap {
 public:
  ServerTokenMap(const CookieCodec& codec, const model::ServerSet& servers);

  // Index into the ServerSet's servers, or -1 when no server has this token.
  int find(std::uint8_t key, const ServerToken& token) const;
  // Token of server `index` under the issuing key (for new cookies); index must be valid.
  const ServerToken& issuing_token(std::size_t index) const { return issuing_[index]; }
  std::uint64_t set_version() const { return set_version_; }
  // Pairs of servers whose tokens collided under some key (64-bit tokens: expected 0). Such
  // tokens are left out of the map, so those cookies fall back to other persistence.
  std::size_t collisions() const { return collisions_; }

 private:
  struct Entry {
    std::uint8_t key;  // the codec's key index
    ServerToken token;
    int index;
  };
  std::vector<Entry> entries_;  // sorted by (key, token)
  std::vector<ServerToken> issuing_;
  std::uint64_t set_version_ = 0;
  std::size_t collisions_ = 0;
};

enum class SameSite : std::uint8_t { Unset, Lax, Strict, None };

// Attributes of the Set-Cookie the agent emits. Validated once at config time.
struct CookieAttributes {
  std::string name = "STICKY";
  std::string path = "/";    // empty = omitted
  std::string domain;        // empty = omitted (host-only cookie)
  bool secure = false;
  bool http_only = true;
  SameSite same_site = SameSite::Lax;
  std::uint32_t max_age = 0;  // seconds; 0 = omitted (a browser-session cookie)
};

// Empty view if usable; otherwise why not (name not an RFC 6265 token, ';' or control
// characters in path/domain, SameSite=None without Secure, which browsers reject).
std::string_view cookie_attributes_error(const CookieAttributes& a);

// Writes "<name>=<value>; Path=..; Domain=..; Max-Age=..; Secure; HttpOnly; SameSite=.." into
// `out`. Returns the length written, or 0 if it does not fit (nothing partial is meaningful).
std::size_t format_set_cookie(const CookieAttributes& a, std::string_view value, std::span<char> out);

}  // namespace sticky::policy
