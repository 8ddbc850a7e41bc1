// The persistence decision for one backend: which server a request goes to, and what the pins
// learn from the response. Pure and two-phase: start() says which pin a request needs, the caller
// asks the store (store/pin_store.h: this agent's table, then Redis when it must), and decide() is
// handed that answer and returns the decision and the writes for the store. The response phase is
// the same: learn_start() names the pins, learn() decides from them. Time is always passed in.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "policy/cookie_codec.h"
#include "policy/identity.h"
#include "policy/maglev.h"
#include "model/server_set.h"
#include "store/pin_store.h"
#include "store/server_registry.h"

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
  store::ServerIdMap ids;
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
  bool table_written = false;  // a new pin or a move: written locally and shared
  bool refresh_due = false;    // shared pin hit whose TTL in the store wants rewriting
  std::uint32_t version = 0;   // the pin's version (for a new pin or a move: what the table will number it)
};

// Phase one of a request: the identity, and either the final decision (the agent cookie named a
// usable server, or there is no identity) or the pin to ask the store for.
struct RequestStart {
  RequestDecision decision;  // final unless needs_pin
  bool needs_pin = false;
  bool cookie_server_down = false;  // a genuine cookie named a server that cannot take the client
  store::PinQuery query;            // needs_pin: the key (a view into the caller's key buffer)
};

// The writes one phase hands the store, in order (a request: adopt the shared pin, then re-pin it
// elsewhere; a response: the learned application cookie, then the followed redispatch).
// Storage is left uninitialised until a write is added: most requests write nothing, and the hot
// path does not zero two writes it never uses (PinWrite is trivially destructible).
class PinWrites {
 public:
  PinWrites() {}  // NOLINT: deliberately leaves storage_ uninitialised
  void add(const store::PinWrite& w) { std::construct_at(data() + count_++, w); }
  // A new default write at the end, filled in place (no copy of a temporary).
  store::PinWrite& add() { return *std::construct_at(data() + count_++); }
  std::size_t count() const { return count_; }
  const store::PinWrite& operator[](std::size_t i) const { return data()[i]; }
  std::span<const store::PinWrite> span() const { return {data(), count_}; }

 private:
  static_assert(std::is_trivially_destructible_v<store::PinWrite>);
  store::PinWrite* data() { return std::launder(reinterpret_cast<store::PinWrite*>(storage_)); }
  const store::PinWrite* data() const { return std::launder(reinterpret_cast<const store::PinWrite*>(storage_)); }
  alignas(store::PinWrite) unsigned char storage_[2 * sizeof(store::PinWrite)];
  std::size_t count_ = 0;
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

// Phase one of a response: the pins learn() needs to see (the learned application cookie's, the
// redispatched client's), in that order.
struct ResponseStart {
  int served = -1;  // index of the server that answered, or -1: nothing to learn
  std::array<store::StickyKey, 2> keys{};
  std::size_t count = 0;
  bool learn_app = false;  // keys[0] is the application cookie
  bool follow = false;     // the last key is the redispatched client's
};

struct ResponseOutcome {
  PinWrites writes;
  // Set-Cookie value to add (name=value; attributes), or empty.
  std::string_view set_cookie;
};

class PersistEngine {
 public:
  // `codec` is required when options.insert_cookie is set or the identity order lists the agent
  // cookie; the registry (server names <-> the ids pins hold) is shared with the other backends.
  PersistEngine(PersistOptions options, std::unique_ptr<CookieCodec> codec, store::ServerRegistry& registry);

  const PersistOptions& options() const { return options_; }
  const CookieCodec* codec() const { return codec_.get(); }

  // Builds the view for a new server set (Maglev table, ids, cookie tokens). Costs milliseconds:
  // call it when the set changes, never per request.
  BackendViewPtr make_view(model::ServerSetPtr servers) const;

  // Request phase one. `key_buf` (kIdentityKeyCapacity bytes) receives the identity key; the
  // result points into it. A final decision is counted here.
  RequestStart start(const ClientFacts& facts, const BackendView& view, std::int64_t now_ms,
                     std::span<std::uint8_t> key_buf, PersistCounters& counters) const;
  // Request phase two, with the store's answer for start.query: the pin (the local one, or the
  // shared store's when it wins or the local one lapsed), placement when there is none or its
  // server cannot take the client, and the writes for the store.
  RequestDecision decide(const RequestStart& start, const store::PinAnswer& answer, const BackendView& view,
                         std::int64_t now_ms, PersistCounters& counters, PinWrites& writes) const;

  // The table identity of a request the agent did not decide (HAProxy served it from its own
  // stick table, the fast path): what decide() keys such a client by, the agent cookie aside
  // (a cookie names a server, not a table entry). Pure; counts identity outcomes.
  Identity identify(const ClientFacts& facts, std::int64_t now_ms, std::span<std::uint8_t> key_buf,
                    PersistCounters& counters) const;

  // Response phase one: which pins learn() must see (keys are views into `facts`).
  ResponseStart learn_start(const ResponseFacts& facts, const BackendView& view) const;
  // Response phase two, with the local pins of start.keys (`before`, same order): learns the
  // application cookie, follows a redispatch, and issues or refreshes the insert cookie for the
  // server that served. `cookie_buf` receives the Set-Cookie value.
  ResponseOutcome learn(const ResponseFacts& facts, const ResponseStart& start,
                        std::span<const std::optional<store::StickyEntry>> before, const BackendView& view,
                        std::int64_t now_ms, std::span<char> cookie_buf, PersistCounters& counters) const;

  // The hash that places a new client: stable across nodes, so two agents meeting the same new
  // client pick the same server without talking.
  std::uint64_t placement_hash(Bytes key) const;

 private:
  PinReason reason_for(IdentityKind kind) const;
  int place(const BackendView& view, Bytes key) const;
  // Appends a New, Move or Refresh write of `key` to `server` to `writes`.
  store::PinWrite& add_write(PinWrites& writes, store::PinWrite::Type type, const store::StickyKey& key, int server,
                             const BackendView& view) const;

  PersistOptions options_;
  std::unique_ptr<CookieCodec> codec_;
  IdentityResolver resolver_;
  IdentityResolver fallback_resolver_;  // the same order without the agent cookie
  store::ServerRegistry& registry_;
  std::uint64_t seed_;
};

// The identity token handed to HAProxy in txn.<prefix>.key and sent back with the response:
// one kind digit then the key in lowercase hex ("3cb007102" = True-Client-IP 203.0.113.2).
std::size_t format_identity_token(IdentityKind kind, Bytes key, std::span<char> out);
bool parse_identity_token(std::string_view token, IdentityKind& kind, std::span<std::uint8_t> key_buf,
                          Bytes& key);

}  // namespace sticky::policy
