// Persistence decisions (request phase) and learning (response phase).
#include "policy/persist_engine.h"

#include <algorithm>

#include "base/hash.h"

namespace sticky::policy {

static_assert(kIdentityKeyCapacity <= kMaxStickyKeyBytes, "an identity the resolver accepts must fit the table");

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
                             StickyTable& table, ServerRegistry& registry)
    : options_(std::move(options)),
      codec_(std::move(codec)),
      resolver_(options_.identity, codec_.get()),
      fallback_resolver_(without_agent_cookie(options_.identity), codec_.get()),
      table_(table),
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

// The table numbers versions itself: 1 for a first pin, +1 on every change of server.
bool PersistEngine::pin(const StickyKey& key, int server, const BackendView& view,
                        std::int64_t now_ms, PersistCounters& counters, std::uint32_t& version) {
  const UpsertResult r = table_.upsert(key, view.ids.id(server), now_ms, options_.ttl_ms);
  if (r.status != StickyStatus::Ok) {
    ++counters.table_full;
    return false;
  }
  version = r.version;
  if (options_.shared) table_.mark_synced(key, now_ms);  // the caller publishes it now
  return true;
}

RemoteOutcome PersistEngine::adopt(const RemotePin& pin, std::int64_t now_ms, bool authoritative) {
  StickyEntry e;
  e.server_id = registry_.intern(options_.name, pin.server);
  e.created_ms = pin.created_ms;
  // The table slides a pin by expires - last_seen on each hit. A pin kept alive elsewhere by TTL
  // refreshes has an old last_seen and a near expiry: count it as seen one TTL before it expires,
  // so it slides by the configured TTL and not by its age.
  e.last_seen_ms = std::max(pin.last_seen_ms, pin.expires_ms - options_.ttl_ms);
  e.expires_ms = pin.expires_ms;
  e.last_synced_ms = now_ms;  // it came from the store: no need to write it back
  e.version = pin.version;
  const StickyKey key{options_.id, static_cast<std::uint8_t>(pin.kind), as_chars(pin.key)};
  return table_.apply_remote(key, e, now_ms, authoritative);
}

Identity PersistEngine::identify(const ClientFacts& facts, std::int64_t now_ms, std::span<std::uint8_t> key_buf,
                                 PersistCounters& counters) const {
  return fallback_resolver_.resolve(facts, now_ms / 1000, key_buf, counters.identity);
}

RequestDecision PersistEngine::decide(const ClientFacts& facts, const BackendView& view,
                                      std::int64_t now_ms, std::span<std::uint8_t> key_buf,
                                      PersistCounters& counters, OnMiss on_miss) {
  RequestDecision d;
  const std::vector<model::Server>& servers = view.servers->servers;
  const std::int64_t now_s = now_ms / 1000;
  bool cookie_server_down = false;

  d.identity = resolver_.resolve(facts, now_s, key_buf, counters.identity);
  if (d.identity.kind == IdentityKind::AgentCookie) {
    const int idx = view.tokens ? view.tokens->find(d.identity.cookie.key_id, d.identity.cookie.server) : -1;
    if (idx >= 0 && servers[static_cast<std::size_t>(idx)].accepts_existing()) {
      d.server = idx;
      d.reason = PinReason::Cookie;
      d.cookie_ok = !needs_reissue(d.identity.cookie, now_s, codec_->limits().max_idle,
                                   view.tokens->issuing_token(static_cast<std::size_t>(idx)),
                                   codec_->issuing_key_id());
      ++counters.decisions[static_cast<std::size_t>(d.reason)];
      return d;
    }
    // The cookie is genuine but its server is gone or unusable: place the client again from
    // its next identity, so the new choice is as stable as that identity is.
    if (idx < 0) ++counters.cookie_unknown_server;
    cookie_server_down = idx >= 0;
    d.identity = fallback_resolver_.resolve(facts, now_s, key_buf, counters.identity);
  }
  if (d.identity.kind == IdentityKind::None) {
    ++counters.decisions[static_cast<std::size_t>(PinReason::NoServer)];
    return d;
  }

  const StickyKey key{options_.id, static_cast<std::uint8_t>(d.identity.kind), as_chars(d.identity.key)};
  if (const std::optional<StickyEntry> e = table_.lookup(key, now_ms)) {
    const int idx = view.ids.index(e->server_id);
    if (options_.shared && on_miss == OnMiss::Defer && e->last_synced_ms > 0 &&
        now_ms - e->last_synced_ms >= options_.ttl_ms) {
      // Hits slide the local pin, store writes are throttled to one per TTL/2: a client seen just
      // before a refresh was due and then idle outlives its Redis copy. Ask the store again.
      d.deferred = true;
      d.lapsed = true;
      return d;
    }
    if (idx >= 0 && servers[static_cast<std::size_t>(idx)].accepts_existing()) {
      d.server = idx;
      d.reason = cookie_server_down ? PinReason::Moved : reason_for(d.identity.kind);
      d.version = e->version;
      if (options_.shared && now_ms - e->last_synced_ms >= options_.ttl_ms / 2) {
        d.refresh_due = true;
        table_.mark_synced(key, now_ms);
      }
      ++counters.decisions[static_cast<std::size_t>(d.reason)];
      return d;
    }
    cookie_server_down = true;  // pinned to a server that cannot take it any more
  } else if (on_miss == OnMiss::Defer) {
    d.deferred = true;
    return d;
  }
  const int idx = place(view, d.identity.key);
  if (idx < 0) {
    ++counters.decisions[static_cast<std::size_t>(PinReason::NoServer)];
    return d;
  }
  d.server = idx;
  d.reason = cookie_server_down ? PinReason::Moved : PinReason::New;
  d.table_written = pin(key, idx, view, now_ms, counters, d.version);
  ++counters.decisions[static_cast<std::size_t>(d.reason)];
  return d;
}

ResponseOutcome PersistEngine::learn(const ResponseFacts& facts, const BackendView& view,
                                     std::int64_t now_ms, std::span<char> cookie_buf,
                                     PersistCounters& counters) {
  ResponseOutcome out;
  if (facts.served.empty()) return out;  // HAProxy answered by itself: nothing to learn
  const int served = view.servers->find(facts.served);
  if (served < 0) return out;  // a server our view does not know yet; the next poll will

  if (!facts.app_cookie.empty() && facts.app_cookie.size() <= kMaxStickyKeyBytes) {
    const StickyKey key{options_.id, static_cast<std::uint8_t>(IdentityKind::AppCookie), facts.app_cookie};
    std::uint32_t version = 0;
    const std::optional<StickyEntry> before = table_.peek(key, now_ms);
    if (!before || view.ids.index(before->server_id) != served) {
      if (pin(key, served, view, now_ms, counters, version)) {
        ++counters.learned_app_cookies;
        out.writes[out.write_count++] = {IdentityKind::AppCookie, as_bytes(facts.app_cookie), served,
                                         version, !before.has_value()};
      }
    }
  }

  if (facts.kind != IdentityKind::None && facts.kind != IdentityKind::AgentCookie && !facts.key.empty() &&
      facts.served != facts.picked) {
    // HAProxy served elsewhere (redispatch after a failed connect, or we had no answer):
    // the table follows what really happened.
    const StickyKey key{options_.id, static_cast<std::uint8_t>(facts.kind), as_chars(facts.key)};
    const std::optional<StickyEntry> before = table_.peek(key, now_ms);
    std::uint32_t version = 0;
    if (pin(key, served, view, now_ms, counters, version)) {
      ++counters.followed_redispatch;
      out.writes[out.write_count++] = {facts.kind, facts.key, served, version, !before.has_value()};
    }
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

static constexpr char kHex[] = "0123456789abcdef";

std::size_t format_identity_token(IdentityKind kind, Bytes key, std::span<char> out) {
  const std::size_t need = 1 + 2 * key.size();
  if (kind == IdentityKind::None || out.size() < need) return 0;
  out[0] = static_cast<char>('0' + static_cast<int>(kind));
  for (std::size_t i = 0; i < key.size(); ++i) {
    out[1 + 2 * i] = kHex[key[i] >> 4];
    out[2 + 2 * i] = kHex[key[i] & 0xF];
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
