// Insert-cookie encoding, HMAC verification, token map and Set-Cookie formatting.
#include "policy/cookie_codec.h"

#include <nettle/memops.h>  // memeql_sec: constant-time comparison
#include <string.h>         // explicit_bzero

#include <algorithm>
#include <charconv>
#include <cstring>

namespace sticky::policy {
namespace {

constexpr std::uint8_t kFormatVersion = 1;
constexpr std::size_t kPayloadLen = 17;  // version/key, token, issued, last_seen
constexpr std::size_t kMacLen = 16;
constexpr std::size_t kRawLen = kPayloadLen + kMacLen;
static_assert((kRawLen * 8 + 5) / 6 == kCookieValueLen);
static_assert(kRawLen % 3 == 0, "33 bytes encode to base64 with no partial group");

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_b64_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64Alphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr std::array<std::int8_t, 256> kB64Table = make_b64_table();

// Encodes whole 3-byte groups only (the cookie is 33 bytes, a multiple of 3).
void b64url_encode(const std::uint8_t* in, std::size_t n, char* out) {
  for (std::size_t i = 0; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    *out++ = kB64Alphabet[(v >> 18) & 63];
    *out++ = kB64Alphabet[(v >> 12) & 63];
    *out++ = kB64Alphabet[(v >> 6) & 63];
    *out++ = kB64Alphabet[v & 63];
  }
}

// Decodes 4*k characters into 3*k bytes; false on any character outside the alphabet.
bool b64url_decode(std::string_view in, std::uint8_t* out) {
  for (std::size_t i = 0; i + 4 <= in.size(); i += 4) {
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const std::int8_t d = kB64Table[static_cast<unsigned char>(in[i + j])];
      if (d < 0) return false;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    *out++ = static_cast<std::uint8_t>(v >> 16);
    *out++ = static_cast<std::uint8_t>(v >> 8);
    *out++ = static_cast<std::uint8_t>(v);
  }
  return true;
}

void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint32_t clamp_time(std::int64_t now) {
  if (now < 0) return 0;
  if (now > std::int64_t{0xffffffff}) return 0xffffffffu;
  return static_cast<std::uint32_t>(now);
}

bool is_token_char(char c) {
  // RFC 7230 tchar, which RFC 6265 uses for cookie names.
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_attr_safe(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ';') return false;
  }
  return true;
}

}  // namespace

std::string_view cookie_status_name(CookieStatus s) {
  switch (s) {
    case CookieStatus::Ok: return "ok";
    case CookieStatus::Malformed: return "malformed";
    case CookieStatus::UnknownKey: return "unknown_key";
    case CookieStatus::BadMac: return "bad_mac";
    case CookieStatus::Expired: return "expired";
    case CookieStatus::IdleExpired: return "idle_expired";
    case CookieStatus::FromFuture: return "from_future";
  }
  return "unknown";
}

std::string_view CookieCodec::add_key(std::uint8_t id, std::string_view secret) {
  if (id > kMaxKeyId) return "key id must be between 0 and 15";
  if (keys_.size() >= kMaxKeys) return "more than 16 secrets";
  if (secret.size() < kMinSecretLen) return "secret must be at least 16 bytes";
  // Derive independent sub-keys so a server token can never double as a cookie MAC.
  const HmacSha256Key master({reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()});
  std::uint8_t mac_key[kHmacSha256Len];
  std::uint8_t token_key[kHmacSha256Len];
  master.mac("sticky-cookie-mac-v1", {}, mac_key);
  master.mac("sticky-server-token-v1", {}, token_key);
  Key k;
  k.id = id;
  k.mac = HmacSha256Key(mac_key);
  k.token = HmacSha256Key(token_key);
  explicit_bzero(mac_key, sizeof(mac_key));
  explicit_bzero(token_key, sizeof(token_key));
  keys_.push_back(k);
  return {};
}

bool CookieCodec::server_token(std::uint8_t key, std::string_view server_name, ServerToken& out) const {
  if (key >= keys_.size()) return false;
  std::uint8_t full[kHmacSha256Len];
  keys_[key].token.mac("srv:", {reinterpret_cast<const std::uint8_t*>(server_name.data()), server_name.size()}, full);
  std::memcpy(out.bytes.data(), full, out.bytes.size());
  return true;
}

AgentCookie CookieCodec::make(const ServerToken& server, std::int64_t now) const {
  AgentCookie c;
  c.key = issuing_key();
  c.server = server;
  c.issued = clamp_time(now);
  c.last_seen = c.issued;
  return c;
}

std::size_t CookieCodec::encode(const AgentCookie& c, std::span<char> out) const {
  if (c.key >= keys_.size() || out.size() < kCookieValueLen) return 0;
  const Key* k = &keys_[c.key];
  std::uint8_t raw[kRawLen];
  raw[0] = static_cast<std::uint8_t>((kFormatVersion << 4) | k->id);
  std::memcpy(raw + 1, c.server.bytes.data(), 8);
  put_be32(raw + 9, c.issued);
  put_be32(raw + 13, c.last_seen);
  std::uint8_t full[kHmacSha256Len];
  k->mac.mac({}, {raw, kPayloadLen}, full);
  std::memcpy(raw + kPayloadLen, full, kMacLen);
  b64url_encode(raw, kRawLen, out.data());
  return kCookieValueLen;
}

CookieCheck CookieCodec::verify(std::string_view value, std::int64_t now_in) const {
  CookieCheck r;
  // Cookie times are 32-bit; clamping keeps the arithmetic below free of overflow for any input.
  const std::int64_t now = std::clamp<std::int64_t>(now_in, -(std::int64_t{1} << 40), std::int64_t{1} << 40);
  std::uint8_t raw[kRawLen];
  if (value.size() != kCookieValueLen || !b64url_decode(value, raw)) {
    r.status = CookieStatus::Malformed;
    return r;
  }
  if ((raw[0] >> 4) != kFormatVersion) {
    r.status = CookieStatus::Malformed;
    return r;
  }
  const std::uint8_t key_id = raw[0] & 0x0f;
  // Newest first: during a rotation most cookies are already sealed with the issuing key.
  bool id_known = false;
  int sealed_by = -1;
  for (std::size_t i = keys_.size(); i-- > 0;) {
    if (keys_[i].id != key_id) continue;
    id_known = true;
    std::uint8_t full[kHmacSha256Len];
    keys_[i].mac.mac({}, {raw, kPayloadLen}, full);
    if (memeql_sec(full, raw + kPayloadLen, kMacLen)) {  // constant time
      sealed_by = static_cast<int>(i);
      break;
    }
  }
  if (sealed_by < 0) {
    r.status = id_known ? CookieStatus::BadMac : CookieStatus::UnknownKey;
    return r;
  }
  AgentCookie& c = r.cookie;
  c.key = static_cast<std::uint8_t>(sealed_by);
  std::memcpy(c.server.bytes.data(), raw + 1, 8);
  c.issued = get_be32(raw + 9);
  c.last_seen = get_be32(raw + 13);
  if (c.last_seen < c.issued) {  // authentic yet impossible: our encoder never writes this
    r.status = CookieStatus::Malformed;
    return r;
  }
  const std::int64_t horizon = now + limits_.future_skew;
  if (std::int64_t{c.issued} > horizon || std::int64_t{c.last_seen} > horizon) {
    r.status = CookieStatus::FromFuture;
    return r;
  }
  if (limits_.max_life != 0 && now - std::int64_t{c.issued} > std::int64_t{limits_.max_life}) {
    r.status = CookieStatus::Expired;
    return r;
  }
  if (limits_.max_idle != 0 && now - std::int64_t{c.last_seen} > std::int64_t{limits_.max_idle}) {
    r.status = CookieStatus::IdleExpired;
    return r;
  }
  r.status = CookieStatus::Ok;
  return r;
}

bool needs_reissue(const AgentCookie& cookie, std::int64_t now, std::uint32_t max_idle,
                   const ServerToken& chosen, std::uint8_t issuing_key) {
  if (cookie.key != issuing_key) return true;
  if (!(cookie.server == chosen)) return true;
  if (max_idle == 0) return false;
  const std::int64_t t = std::clamp<std::int64_t>(now, -(std::int64_t{1} << 40), std::int64_t{1} << 40);
  return t - std::int64_t{cookie.last_seen} > std::int64_t{max_idle / kReissueDivisor};
}

ServerTokenMap::ServerTokenMap(const CookieCodec& codec, const model::ServerSet& servers)
    : set_version_(servers.version) {
  issuing_.resize(servers.servers.size());
  for (std::size_t key = 0; key < codec.key_count(); ++key) {
    const auto k = static_cast<std::uint8_t>(key);
    for (std::size_t i = 0; i < servers.servers.size(); ++i) {
      Entry e{k, {}, static_cast<int>(i)};
      codec.server_token(k, servers.servers[i].name, e.token);
      if (k == codec.issuing_key()) issuing_[i] = e.token;
      entries_.push_back(e);
    }
  }
  auto key_less = [](const Entry& a, const Entry& b) {
    return a.key != b.key ? a.key < b.key : a.token < b.token;
  };
  std::sort(entries_.begin(), entries_.end(), key_less);
  // Drop every entry of a colliding token: resolving it to either server would be a guess.
  std::vector<Entry> unique;
  for (std::size_t i = 0; i < entries_.size();) {
    std::size_t j = i + 1;
    while (j < entries_.size() && entries_[j].key == entries_[i].key && entries_[j].token == entries_[i].token) ++j;
    if (j - i == 1) {
      unique.push_back(entries_[i]);
    } else {
      collisions_ += j - i - 1;
    }
    i = j;
  }
  entries_ = std::move(unique);
}

int ServerTokenMap::find(std::uint8_t key, const ServerToken& token) const {
  const Entry probe{key, token, -1};
  auto it = std::lower_bound(entries_.begin(), entries_.end(), probe, [](const Entry& a, const Entry& b) {
    return a.key != b.key ? a.key < b.key : a.token < b.token;
  });
  if (it == entries_.end() || it->key != key || !(it->token == token)) return -1;
  return it->index;
}

std::string_view cookie_attributes_error(const CookieAttributes& a) {
  if (a.name.empty()) return "cookie name is empty";
  for (char c : a.name)
    if (!is_token_char(c)) return "cookie name has a character not allowed in a token";
  if (!is_attr_safe(a.path)) return "cookie path contains ';' or a control character";
  if (!is_attr_safe(a.domain)) return "cookie domain contains ';' or a control character";
  if (a.same_site == SameSite::None && !a.secure) return "SameSite=None requires Secure (browsers reject it)";
  return {};
}

std::size_t format_set_cookie(const CookieAttributes& a, std::string_view value, std::span<char> out) {
  std::size_t pos = 0;
  bool fits = true;
  auto put = [&](std::string_view s) {
    if (!fits || s.size() > out.size() - pos) {
      fits = false;
      return;
    }
    std::memcpy(out.data() + pos, s.data(), s.size());
    pos += s.size();
  };
  put(a.name);
  put("=");
  put(value);
  if (!a.path.empty()) {
    put("; Path=");
    put(a.path);
  }
  if (!a.domain.empty()) {
    put("; Domain=");
    put(a.domain);
  }
  if (a.max_age != 0) {
    char digits[12];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), a.max_age);
    (void)ec;  // 12 chars always hold a uint32
    put("; Max-Age=");
    put(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  if (a.secure) put("; Secure");
  if (a.http_only) put("; HttpOnly");
  switch (a.same_site) {
    case SameSite::Unset: break;
    case SameSite::Lax: put("; SameSite=Lax"); break;
    case SameSite::Strict: put("; SameSite=Strict"); break;
    case SameSite::None: put("; SameSite=None"); break;
  }
  return fits ? pos : 0;
}

}  // namespace sticky::policy
