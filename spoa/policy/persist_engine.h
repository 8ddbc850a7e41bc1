// The persistence decision for one backend: which server a request goes to, and what the table
// learns from the response. Pure: the caller passes time, the server view and the table.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "policy/cookie_codec.h"
#include "policy/identity.h"
#include "policy/maglev.h"
#include "policy/server_registry.h"
#include "model/server_set.h"
#include "policy/sticky_table.h"

namespace sticky::policy {

enum class PinReason : std::uint8_t {
  Cookie = 0,     // the agent's insert cookie named a usable server
  Learned,        // the application's session cookie was learned from a response
  ClientIp,       // True-Client-IP (from a trusted CDN) found a pin
  ForwardedFor,   // X-Forwarded-For (through trusted proxies) found a pin
  Subnet,         // the masked source address found a pin
  New,            // no pin: placed by weighted consistent hashing, and pinned
  Moved,          // pinned to a server that is down or in maintenance: re-placed and re-pinned
  NoServer,       // no server accepts clients: HAProxy balances by itself
};
inline constexpr std::size_t kPinReasonCount = 8;
std::string_view pin_reason_name(PinReason r);

// Derived from one ServerSet version; immutable and shared by every worker thread.
struct BackendView {
  model::ServerSetPtr servers;
  MaglevTable maglev;
  ServerIdMap ids;
  std::optional<ServerTokenMap> tokens;  // present when the backend issues cookies
};
using BackendViewPtr = std::shared_ptr<const BackendView>;

struct PersistOptions {
  std::string name;            // the HAProxy backend name
  std::uint16_t id = 0;        // the table's backend id
  std::int64_t ttl_ms = 30 * 60 * 1000;
  IdentityConfig identity;
  std::optional<CookieAttributes> insert_cookie;  // set: the agent issues its own cookie
  std::uint32_t maglev_size = kMaglevDefaultSize;
  // Pins are shared with other agents (Redis): track when each entry's TTL was last written
  // out, so steady traffic refreshes it about twice per TTL instead of on every request.
  bool shared = false;
};

// What decide() does when the table has no pin for the client.
enum class OnMiss : std::uint8_t {
  Place,  // place by consistent hashing and pin (the final answer)
  Defer,  // return deferred = true: the caller asks the shared store first, then decides again
};

// X(field, metric, label, type, help): the engine's own outcomes (base/counter_list.h); decisions
// and identity are exported beside them (by reason, and by kind / cookie status).
#define STICKY_PERSIST_COUNTERS(X)                                                                       \
  X(cookie_unknown_server, "sticky_cookie_unknown_server_total", "", Counter,                           \
    "valid cookies naming a server no longer in the backend")                                           \
  X(cookies_issued, "sticky_cookies_issued_total", "", Counter, "Set-Cookie values issued")             \
  X(learned_app_cookies, "sticky_app_cookies_learned_total", "", Counter,                              \
    "application session cookies learned from responses")                                               \
  X(followed_redispatch, "sticky_redispatch_followed_total", "", Counter,                              \
    "pins corrected to the server HAProxy really used")                                                 \
  X(table_full, "sticky_table_refused_total", "", Counter, "pins the table refused (full or invalid)")  \
  X(bad_response_key, "sticky_bad_response_key_total", "", Counter, "responses whose identity token did not parse")

struct PersistCounters {
  std::array<std::uint64_t, kPinReasonCount> decisions{};  // by PinReason
  IdentityCounters identity;
  STICKY_PERSIST_COUNTERS(STICKY_COUNTER_FIELD)
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(PersistCounters, f, __VA_ARGS__)
inline constexpr CounterField<PersistCounters> kPersistCounterFields[] = {STICKY_PERSIST_COUNTERS(STICKY_X)};
#undef STICKY_X

struct RequestDecision {
  int server = -1;  // index into view.servers->servers, or -1 (NoServer)
  PinReason reason = PinReason::NoServer;
  Identity identity;        // the key the table uses (view into the caller's key buffer)
  bool cookie_ok = false;   // the client's cookie already names `server` and needs no refresh
  bool table_written = false;  // a new pin or a move: other nodes want to hear about it
  bool refresh_due = false;    // shared pin hit whose TTL in the store wants rewriting
  bool deferred = false;       // OnMiss::Defer and the table had no pin: nothing decided yet
  // Deferred although the table had a pin: it was not written to the store for a whole TTL, so
  // the store's copy has expired and another agent may have pinned the client since. The
  // store's answer, if any, replaces ours.
  bool lapsed = false;
  std::uint32_t version = 0;
};

// A pin learned from another agent (pub/sub, warm-up, or a store lookup).
struct RemotePin {
  IdentityKind kind = IdentityKind::None;
  Bytes key;
  std::string_view server;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t expires_ms = 0;
  std::uint32_t version = 0;
};

struct ResponseFacts {
  std::string_view served;         // srv_name: the server that really answered ("" if none)
  std::string_view picked;         // the server the request phase chose ("" if none)
  IdentityKind kind = IdentityKind::None;  // the request's table identity
  Bytes key;
  bool cookie_ok = false;          // request-phase verdict on the client's cookie
  std::string_view app_cookie;     // application session cookie set by this response
  // Issue time (seconds) of the agent cookie the request was routed by, when it wanted re-issuing
  // (the `ckiss` variable): the fresh cookie keeps it, so max_life counts from the first issue.
  std::uint32_t cookie_issued = 0;
};

// One table write that other nodes want to hear about (the Redis layer publishes it).
struct TableWrite {
  IdentityKind kind = IdentityKind::None;
  Bytes key;  // view into the facts or the caller's buffer
  int server = -1;
  std::uint32_t version = 0;
  bool is_new = false;  // a first pin (SET NX semantics) rather than a move
};

struct ResponseOutcome {
  std::array<TableWrite, 2> writes{};  // learned app cookie, followed redispatch
  std::size_t write_count = 0;
  // Set-Cookie value to add (name=value; attributes), or empty.
  std::string_view set_cookie;
};

class PersistEngine {
 public:
  // `codec` is required when options.insert_cookie is set or the identity order lists the agent
  // cookie; table and registry are shared with the other backends.
  PersistEngine(PersistOptions options, std::unique_ptr<CookieCodec> codec, StickyTable& table,
                ServerRegistry& registry);

  const PersistOptions& options() const { return options_; }
  const CookieCodec* codec() const { return codec_.get(); }

  // Builds the view for a new server set (Maglev table, ids, cookie tokens). Costs milliseconds:
  // call it when the set changes, never per request.
  BackendViewPtr make_view(model::ServerSetPtr servers) const;

  // Request phase. `key_buf` (kIdentityKeyCapacity bytes) receives the identity key.
  RequestDecision decide(const ClientFacts& facts, const BackendView& view, std::int64_t now_ms,
                         std::span<std::uint8_t> key_buf, PersistCounters& counters,
                         OnMiss on_miss = OnMiss::Place);

  // The table identity of a request the agent did not decide (HAProxy served it from its own
  // stick table, the fast path): what decide() keys such a client by, the agent cookie aside
  // (a cookie names a server, not a table entry). Pure; counts identity outcomes.
  Identity identify(const ClientFacts& facts, std::int64_t now_ms, std::span<std::uint8_t> key_buf,
                    PersistCounters& counters) const;

  // Merges a pin from another agent into the local table (the higher version wins; see
  // StickyTable::apply_remote), or replaces the local pin outright when `authoritative` (the
  // store says another agent pinned this client first). Thread-safe.
  RemoteOutcome adopt(const RemotePin& pin, std::int64_t now_ms, bool authoritative = false);

  // Response phase: learns the application cookie, follows a redispatch, and issues or refreshes
  // the insert cookie for the server that served. `cookie_buf` receives the Set-Cookie value.
  ResponseOutcome learn(const ResponseFacts& facts, const BackendView& view, std::int64_t now_ms,
                        std::span<char> cookie_buf, PersistCounters& counters);

  // The hash that places a new client: stable across nodes, so two agents meeting the same new
  // client pick the same server without talking.
  std::uint64_t placement_hash(Bytes key) const;

 private:
  PinReason reason_for(IdentityKind kind) const;
  int place(const BackendView& view, Bytes key) const;
  bool pin(const StickyKey& key, int server, const BackendView& view, std::int64_t now_ms,
           PersistCounters& counters, std::uint32_t& version);

  PersistOptions options_;
  std::unique_ptr<CookieCodec> codec_;
  IdentityResolver resolver_;
  IdentityResolver fallback_resolver_;  // the same order without the agent cookie
  StickyTable& table_;
  ServerRegistry& registry_;
  std::uint64_t seed_;
};

// The identity token handed to HAProxy in txn.<prefix>.key and sent back with the response:
// one kind digit then the key in lowercase hex ("3cb007102" = True-Client-IP 203.0.113.2).
std::size_t format_identity_token(IdentityKind kind, Bytes key, std::span<char> out);
bool parse_identity_token(std::string_view token, IdentityKind& kind, std::span<std::uint8_t> key_buf,
                          Bytes& key);

}  // namespace sticky::policy
