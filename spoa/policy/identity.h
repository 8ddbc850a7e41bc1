// Client identity resolution: which key identifies this client for persistence, in a
// configured order of sources (agent cookie, app cookie, True-Client-IP, X-Forwarded-For, source).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "base/counter_list.h"
#include "policy/cidr.h"
#include "policy/cookie_codec.h"

namespace sticky::policy {

enum class IdentityKind : std::uint8_t {
  None = 0,  // no source yielded a key
  AgentCookie = 1,
  AppCookie = 2,
  TrueClientIp = 3,
  ForwardedFor = 4,
  Source = 5,
};
inline constexpr std::size_t kIdentityKindCount = 6;
std::string_view identity_kind_name(IdentityKind k);

// What the request says about its client, as views into the caller's (SPOP frame) memory.
// An empty string_view means "absent".
struct ClientFacts {
  Bytes source;                 // TCP peer address, raw 4 or 16 bytes (SPOP ipv4/ipv6 value)
  std::string_view agent_cookie;     // value of the agent's own cookie
  std::string_view app_cookie;       // value of the learned application session cookie
  std::string_view true_client_ip;   // True-Client-IP header value
  std::string_view forwarded_for;    // X-Forwarded-For, all occurrences joined with ','
};

// Capacity callers should give the key buffer: an IPv6 address or a typical session id fits
// in far less; longer app cookie values are refused (counted) rather than truncated. Equal to
// the sticky table's longest key (kMaxStickyKeyBytes), so every accepted key can be pinned.
inline constexpr std::size_t kIdentityKeyCapacity = 255;
// X-Forwarded-For elements walked at most; a longer chain is refused (counted), which bounds the
// work a client can cause with a huge header.
inline constexpr std::size_t kMaxForwardedHops = 32;

struct IdentityConfig {
  // Sources to try, first first. Unlisted sources are never used. See identity_order_error().
  std::array<IdentityKind, 5> order = {IdentityKind::AgentCookie, IdentityKind::AppCookie,
                                       IdentityKind::TrueClientIp, IdentityKind::ForwardedFor,
                                       IdentityKind::Source};
  std::size_t order_len = 5;
  CidrSet cdn_ranges;       // peers whose True-Client-IP header is believed
  CidrSet trusted_proxies;  // peers (and XFF hops) whose X-Forwarded-For is believed
  std::uint8_t source_mask_v4 = 24;
  std::uint8_t source_mask_v6 = 64;
  std::uint8_t tci_mask_v4 = 32;
  std::uint8_t tci_mask_v6 = 128;
  std::uint8_t xff_mask_v4 = 32;
  std::uint8_t xff_mask_v6 = 128;
};

// Empty view if the order is usable; otherwise why not (empty, None listed, a source twice,
// length over 5). Masks wider than the family are clamped, so they need no check.
std::string_view identity_order_error(const IdentityConfig& cfg);

// Why sources were skipped. Plain counters owned by the caller (one per worker thread) and
// summed when metrics are scraped.
// X(field, metric, label, type, help): the identity outcomes the exporter lists (base/counter_list.h).
#define STICKY_IDENTITY_COUNTERS(X)                                                                      \
  X(app_cookie_too_long, "sticky_app_cookie_too_long_total", "", Counter,                               \
    "application cookies longer than a key (not used for persistence)")                                 \
  X(untrusted_tci, "sticky_tci_untrusted_total", "", Counter,                                          \
    "True-Client-IP headers ignored: peer outside the CDN ranges")                                      \
  X(bad_tci, "sticky_tci_invalid_total", "", Counter, "True-Client-IP headers from the CDN that were not an address") \
  X(untrusted_xff, "sticky_xff_untrusted_total", "", Counter, "X-Forwarded-For ignored: peer is not a trusted proxy") \
  X(bad_xff, "sticky_xff_invalid_total", "", Counter, "X-Forwarded-For elements that were not an address") \
  X(xff_too_long, "sticky_xff_too_long_total", "", Counter, "X-Forwarded-For chains over the hop limit")  \
  X(xff_all_trusted, "sticky_xff_all_trusted_total", "", Counter,                                      \
    "X-Forwarded-For chains whose every hop is a trusted proxy (leftmost used)")                         \
  X(bad_source, "sticky_source_invalid_total", "", Counter, "requests whose src argument was missing or not an address") \
  X(key_buffer_too_small, "sticky_identity_key_buffer_too_small_total", "", Counter,                    \
    "addresses that did not fit the caller's key buffer (a bug if ever non-zero)")

struct IdentityCounters {
  std::array<std::uint64_t, kIdentityKindCount> resolved{};  // by IdentityKind (None = no key)
  std::array<std::uint64_t, kCookieStatusCount> agent_cookie_rejected{};  // by CookieStatus
  STICKY_IDENTITY_COUNTERS(STICKY_COUNTER_FIELD)
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(IdentityCounters, f, __VA_ARGS__)
inline constexpr CounterField<IdentityCounters> kIdentityCounterFields[] = {STICKY_IDENTITY_COUNTERS(STICKY_X)};
#undef STICKY_X

struct Identity {
  IdentityKind kind = IdentityKind::None;
  Bytes key;           // view into the caller's key buffer; empty when kind == None
  AgentCookie cookie;  // the verified cookie when kind == AgentCookie
};

// Immutable after construction; share one per backend between threads.
class IdentityResolver {
 public:
  // `codec` may be null (then the AgentCookie source never yields); it must outlive the resolver.
  IdentityResolver(IdentityConfig cfg, const CookieCodec* codec) : cfg_(std::move(cfg)), codec_(codec) {}

  // Tries each configured source in order; the first that yields a key wins. Key bytes:
  //   AgentCookie  -> the 8-byte server token of a cookie that verified Ok at `now`
  //   AppCookie    -> the cookie value as given
  //   TrueClientIp, ForwardedFor, Source -> the masked address, 4 or 16 raw bytes
  // Pure and allocation-free; `now` is only used to check the agent cookie.
  Identity resolve(const ClientFacts& facts, std::int64_t now, std::span<std::uint8_t> key_buf,
                   IdentityCounters& counters) const;

  const IdentityConfig& config() const { return cfg_; }

 private:
  bool try_agent_cookie(const ClientFacts& f, std::int64_t now, std::span<std::uint8_t> buf, Identity& out,
                        IdentityCounters& n) const;
  bool try_app_cookie(const ClientFacts& f, std::span<std::uint8_t> buf, Identity& out,
                      IdentityCounters& n) const;
  bool try_true_client_ip(const ClientFacts& f, bool have_src, const IpAddress& src,
                          std::span<std::uint8_t> buf, Identity& out, IdentityCounters& n) const;
  bool try_forwarded_for(const ClientFacts& f, bool have_src, const IpAddress& src,
                         std::span<std::uint8_t> buf, Identity& out, IdentityCounters& n) const;

  IdentityConfig cfg_;
  const CookieCodec* codec_;
};

// Parses one X-Forwarded-For element: a bare address, "[v6]" or "[v6]:port", or "a.b.c.d:port"
// (some proxies append ports). Surrounding spaces are ignored. False on anything else.
bool parse_forwarded_element(std::string_view text, IpAddress& out);

}  // namespace sticky::policy
