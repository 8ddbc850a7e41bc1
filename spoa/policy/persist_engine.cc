// Persistence decisions (request phase) and learning (response phase).
#include "policy/persist_engine.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/hash.h"

namespace sticky::policy {

static_assert(store::kMinPinKind == static_cast<std::uint8_t>(IdentityKind::AgentCookie) &&
                  store::kMaxPinKind == static_cast<std::uint8_t>(IdentityKind::Source),
              "the store accepts exactly the identity kinds the engine pins");
static_assert(kIdentityKeyCapacity <= store::kMaxStickyKeyBytes, "an identity the resolver accepts must fit the table");

std::string_view pin_reason_name(PinReason r) {
  switch (r) {
    case PinReason::Cookie: return "cookie";
    case PinReason::Learned: return "learned";
    case PinReason::ClientIp: return "client-ip";
    case PinReason::ForwardedFor: return "xff";
    case PinReason::Subnet: return "subnet";
    case PinReason::New: return "new";
    case PinReason::Moved: return "moved";
    case PinReason::NoServer: return "no-server";
  }
  return "?";
}

static IdentityConfig without_agent_cookie(IdentityConfig cfg) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < cfg.order_len; ++i)
    if (cfg.order[i] != IdentityKind::AgentCookie) cfg.order[n++] = cfg.order[i];
  cfg.order_len = n;
  return cfg;
}

PersistEngine::PersistEngine(PersistOptions options, std::unique_ptr<CookieCodec> codec,
                             store::ServerRegistry& registry)
    : options_(std::move(options)),
      codec_(std::move(codec)),
      resolver_(options_.identity, codec_.get()),
      fallback_resolver_(without_agent_cookie(options_.identity), codec_.get()),
      registry_(registry),
      seed_(stable_hash64(options_.name, 0x7374696b792d6265ULL /* "stiky-be" */)) {}

BackendViewPtr PersistEngine::make_view(model::ServerSetPtr servers) const {
  auto view = std::make_shared<BackendView>();
  view->servers = servers;
  MaglevBuild built = build_maglev(*servers, options_.maglev_size);
  view->maglev = std::move(built.table);  // on error it stays empty: every client goes to LB
  view->ids = registry_.map_for(*servers);
  if (codec_ && codec_->has_keys()) view->tokens.emplace(*codec_, *servers);
  return view;
}

std::uint64_t PersistEngine::placement_hash(Bytes key) const {
  return stable_hash64(as_chars(key), seed_);
}

int PersistEngine::place(const BackendView& view, Bytes key) const {
  return view.maglev.pick(placement_hash(key));
}

PinReason PersistEngine::reason_for(IdentityKind kind) const {
  switch (kind) {
    case IdentityKind::AgentCookie: return PinReason::Cookie;
    case IdentityKind::AppCookie: return PinReason::Learned;
    case IdentityKind::TrueClientIp: return PinReason::ClientIp;
    case IdentityKind::ForwardedFor: return PinReason::ForwardedFor;
    case IdentityKind::Source: return PinReason::Subnet;
    case IdentityKind::None: break;
  }
  return PinReason::NoServer;
}

store::PinWrite& PersistEngine::add_write(PinWrites& writes, store::PinWrite::Type type, const store::StickyKey& key,
                                          int server, const BackendView& view) const {
  store::PinWrite& w = writes.add();
  w.type = type;
  w.key = key;
  w.backend = options_.name;
  w.server = view.servers->servers[static_cast<std::size_t>(server)].name;
  w.server_id = view.ids.id(server);
  w.ttl_ms = options_.ttl_ms;
  return w;
}

Identity PersistEngine::identify(const ClientFacts& facts, std::int64_t now_ms, std::span<std::uint8_t> key_buf,
                                 PersistCounters& counters) const {
  return fallback_resolver_.resolve(facts, now_ms / 1000, key_buf, counters.identity);
}

RequestStart PersistEngine::start(const ClientFacts& facts, const BackendView& view, std::int64_t now_ms,
                                  std::span<std::uint8_t> key_buf, PersistCounters& counters) const {
  RequestStart s;
  RequestDecision& d = s.decision;
  const std::vector<model::Server>& servers = view.servers->servers;
  const std::int64_t now_s = now_ms / 1000;

  d.identity = resolver_.resolve(facts, now_s, key_buf, counters.identity);
  if (d.identity.kind == IdentityKind::AgentCookie) {
    const int idx = view.tokens ? view.tokens->find(d.identity.cookie.key, d.identity.cookie.server) : -1;
    if (idx >= 0 && servers[static_cast<std::size_t>(idx)].accepts_existing()) {
      d.server = idx;
      d.reason = PinReason::Cookie;
      d.cookie_ok = !needs_reissue(d.identity.cookie, now_s, codec_->limits().max_idle,
                                   view.tokens->issuing_token(static_cast<std::size_t>(idx)),
                                   codec_->issuing_key());
      ++counters.decisions[static_cast<std::size_t>(d.reason)];
      return s;
    }
    // The cookie is genuine but its server is gone or unusable: place the client again from
    // its next identity, so the new choice is as stable as that identity is.
    if (idx < 0) ++counters.cookie_unknown_server;
    s.cookie_server_down = idx >= 0;
    d.identity = fallback_resolver_.resolve(facts, now_s, key_buf, counters.identity);
  }
  if (d.identity.kind == IdentityKind::None) {
    ++counters.decisions[static_cast<std::size_t>(PinReason::NoServer)];
    return s;
  }
  s.needs_pin = true;
  s.query.key = {options_.id, static_cast<std::uint8_t>(d.identity.kind), as_chars(d.identity.key)};
  s.query.ttl_ms = options_.ttl_ms;
  return s;
}

RequestDecision PersistEngine::decide(const RequestStart& start, const store::PinAnswer& answer,
                                      const BackendView& view, std::int64_t now_ms, PersistCounters& counters,
                                      PinWrites& writes) const {
  RequestDecision d = start.decision;
  if (!start.needs_pin) return d;
  const std::vector<model::Server>& servers = view.servers->servers;
  const store::StickyKey& key = start.query.key;
  bool server_down = start.cookie_server_down;

  const store::StickyEntry* pin = answer.local ? &*answer.local : nullptr;
  std::optional<store::StickyEntry> adopted;  // the shared pin, when it won the merge
  if (answer.shared && store::remote_usable(*answer.shared, now_ms)) {
    // Another agent's pin: it goes into the table (which keeps the winner of the merge), and the
    // winner routes this request. A lapsed local pin never reached the store: the store's wins.
    store::PinWrite adopt;
    adopt.type = store::PinWrite::Type::Adopt;
    adopt.key = key;
    adopt.backend = options_.name;
    adopt.entry = *answer.shared;
    adopt.authoritative = answer.lapsed;
    adopt.ttl_ms = options_.ttl_ms;
    if (store::remote_wins(answer.local, *answer.shared, answer.lapsed)) {
      adopted = *answer.shared;
      adopted->last_synced_ms = now_ms;  // it came from the store: no need to write it back
      pin = &*adopted;
    }
    writes.add(adopt);
  }
  if (pin) {
    const int idx = view.ids.index(pin->server_id);
    if (idx >= 0 && servers[static_cast<std::size_t>(idx)].accepts_existing()) {
      d.server = idx;
      d.reason = server_down ? PinReason::Moved : reason_for(d.identity.kind);
      d.version = pin->version;
      // Hits slide the local pin; the store's copy is rewritten about twice per TTL.
      if (options_.shared && now_ms - pin->last_synced_ms >= options_.ttl_ms / 2) {
        d.refresh_due = true;
        add_write(writes, store::PinWrite::Type::Refresh, key, idx, view).version = pin->version;
      }
      ++counters.decisions[static_cast<std::size_t>(d.reason)];
      return d;
    }
    server_down = true;  // pinned to a server that cannot take it any more
  }
  const int idx = place(view, d.identity.key);
  if (idx < 0) {
    ++counters.decisions[static_cast<std::size_t>(PinReason::NoServer)];
    return d;
  }
  d.server = idx;
  d.reason = server_down ? PinReason::Moved : PinReason::New;
  // The table numbers versions: 1 for a first pin, +1 on every change of server.
  d.version = pin ? pin->version + 1 : 1;
  d.table_written = true;
  add_write(writes, d.reason == PinReason::New ? store::PinWrite::Type::New : store::PinWrite::Type::Move, key, idx,
            view);
  ++counters.decisions[static_cast<std::size_t>(d.reason)];
  return d;
}

ResponseStart PersistEngine::learn_start(const ResponseFacts& facts, const BackendView& view) const {
  ResponseStart s;
  if (facts.served.empty()) return s;  // HAProxy answered by itself: nothing to learn
  s.served = view.servers->find(facts.served);
  if (s.served < 0) return s;  // a server our view does not know yet; the next poll will
  if (!facts.app_cookie.empty() && facts.app_cookie.size() <= store::kMaxStickyKeyBytes) {
    s.keys[s.count++] = {options_.id, static_cast<std::uint8_t>(IdentityKind::AppCookie), facts.app_cookie};
    s.learn_app = true;
  }
  if (facts.kind != IdentityKind::None && facts.kind != IdentityKind::AgentCookie && !facts.key.empty() &&
      facts.served != facts.picked) {
    s.keys[s.count++] = {options_.id, static_cast<std::uint8_t>(facts.kind), as_chars(facts.key)};
    s.follow = true;
  }
  return s;
}

ResponseOutcome PersistEngine::learn(const ResponseFacts& facts, const ResponseStart& start,
                                     std::span<const std::optional<store::StickyEntry>> before,
                                     const BackendView& view, std::int64_t now_ms, std::span<char> cookie_buf,
                                     PersistCounters& counters) const {
  ResponseOutcome out;
  const int served = start.served;
  if (served < 0) return out;
  using Type = store::PinWrite::Type;
  if (start.learn_app) {
    const std::optional<store::StickyEntry>& b = before[0];
    if (!b || view.ids.index(b->server_id) != served) {
      ++counters.learned_app_cookies;
      add_write(out.writes, b ? Type::Move : Type::New, start.keys[0], served, view);
    }
  }
  if (start.follow) {
    // HAProxy served elsewhere (redispatch after a failed connect, or we had no answer):
    // the table follows what really happened.
    const std::size_t i = start.count - 1;
    ++counters.followed_redispatch;
    add_write(out.writes, before[i] ? Type::Move : Type::New, start.keys[i], served, view);
  }

  if (options_.insert_cookie && view.tokens && !(facts.cookie_ok && facts.served == facts.picked)) {
    AgentCookie c = codec_->make(view.tokens->issuing_token(static_cast<std::size_t>(served)), now_ms / 1000);
    // A refresh for the same server keeps the first issue time: without it every re-issue would
    // restart the clock and max_life would never end an active client's cookie.
    if (facts.cookie_issued != 0 && facts.served == facts.picked && facts.cookie_issued <= c.issued)
      c.issued = facts.cookie_issued;
    char value[kCookieValueLen];
    const std::size_t n = codec_->encode(c, value);
    const std::size_t len = n ? format_set_cookie(*options_.insert_cookie, std::string_view(value, n), cookie_buf) : 0;
    if (len > 0) {
      out.set_cookie = std::string_view(cookie_buf.data(), len);
      ++counters.cookies_issued;
    }
  }
  return out;
}

// Two hex digits per byte from one table load: the token is written on every persist-req answer.
static constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (std::size_t b = 0; b < 256; ++b) {
    t[2 * b] = digits[b >> 4];
    t[2 * b + 1] = digits[b & 0xF];
  }
  return t;
}();

std::size_t format_identity_token(IdentityKind kind, Bytes key, std::span<char> out) {
  const std::size_t need = 1 + 2 * key.size();
  if (kind == IdentityKind::None || out.size() < need) return 0;
  out[0] = static_cast<char>('0' + static_cast<int>(kind));
  char* p = out.data() + 1;
  for (const std::uint8_t b : key) {
    std::memcpy(p, &kHexPairs[2 * std::size_t{b}], 2);
    p += 2;
  }
  return need;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool parse_identity_token(std::string_view token, IdentityKind& kind, std::span<std::uint8_t> key_buf,
                          Bytes& key) {
  if (token.size() < 3 || token.size() % 2 == 0) return false;
  const int k = token[0] - '0';
  if (k < static_cast<int>(IdentityKind::AgentCookie) || k > static_cast<int>(IdentityKind::Source)) return false;
  const std::size_t n = (token.size() - 1) / 2;
  if (n > key_buf.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = hex_value(token[1 + 2 * i]), lo = hex_value(token[2 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    key_buf[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  kind = static_cast<IdentityKind>(k);
  key = Bytes(key_buf.data(), n);
  return true;
}

}  // namespace sticky::policy
