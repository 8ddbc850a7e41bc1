// Maps SPOE arguments to the persistence engine and its answers back to HAProxy variables.
#include "agent/persist_handler.h"

#include <array>
#include <cstring>
#include <memory>
#include <string>

namespace sticky::agent {

namespace {

std::string_view text_arg(const spop::Message& msg, std::string_view name) {
  const spop::Arg* a = msg.find(name);
  return a && a->value.is_text() ? a->value.bytes : std::string_view{};
}

bool truthy_arg(const spop::Message& msg, std::string_view name) {
  const spop::Arg* a = msg.find(name);
  if (!a) return false;
  if (a->value.type == spop::DataType::Bool) return a->value.b;
  if (a->value.is_integer()) return a->value.u != 0;
  if (a->value.is_text()) return a->value.bytes == "1";
  return false;
}

constexpr std::size_t kForwardedForLines = PersistRequestHandler::kForwardedForLines;

// The persist-req arguments, found in one pass over the message (names are HAProxy config, so
// any order; an unknown name is ignored, a repeated one keeps its first value).
struct RequestArgs {
  const spop::Arg* be = nullptr;
  const spop::Arg* src = nullptr;
  std::string_view tcip, ck, app;
  // X-Forwarded-For by header line, last line first: HAProxy's req.fhdr() gives one line per
  // occurrence, and a proxy that adds its own line (option forwardfor) hides the earlier ones.
  std::array<std::string_view, kForwardedForLines> xff{};

  explicit RequestArgs(const spop::Message& msg) {
    bool seen_tcip = false, seen_ck = false, seen_app = false;
    std::array<bool, kForwardedForLines> seen_xff{};
    auto text = [](const spop::Arg& a, std::string_view& into, bool& seen) {
      if (seen) return;
      seen = true;
      if (a.value.is_text()) into = a.value.bytes;
    };
    for (const spop::Arg& a : msg.args) {
      const std::string_view n = a.name;
      if (n == "be") {
        if (!be) be = &a;
      } else if (n == "src") {
        if (!src) src = &a;
      } else if (n == "tcip") {
        text(a, tcip, seen_tcip);
      } else if (n == "xff") {
        text(a, xff[0], seen_xff[0]);
      } else if (n == "xff2") {
        text(a, xff[1], seen_xff[1]);
      } else if (n == "xff3") {
        text(a, xff[2], seen_xff[2]);
      } else if (n == "ck") {
        text(a, ck, seen_ck);
      } else if (n == "app") {
        text(a, app, seen_app);
      }
    }
  }
  std::string_view backend() const { return be && be->value.is_text() ? be->value.bytes : std::string_view{}; }
};

policy::ClientFacts client_facts(const RequestArgs& args, std::string_view forwarded_for) {
  policy::ClientFacts facts;
  if (args.src && (args.src->value.type == spop::DataType::Ipv4 || args.src->value.type == spop::DataType::Ipv6))
    facts.source = as_bytes(args.src->value.bytes);
  facts.true_client_ip = args.tcip;
  facts.forwarded_for = forwarded_for;
  facts.agent_cookie = args.ck;
  facts.app_cookie = args.app;
  return facts;
}

}  // namespace

// What a decision waiting for the shared store needs once the frame it came from is gone: phase
// one's result, with its key copied.
struct PersistRequestHandler::Pending {
  PersistBackendsPtr generation;  // the backends the decision started with, whatever a reload does
  int backend = -1;
  std::string key;
  policy::RequestStart start;
  model::Reply* reply = nullptr;
};

void PersistRequestHandler::on_message(const spop::Message& msg, model::Reply& reply) {
  ++state_.handler.requests;
  const RequestArgs args(msg);
  const PersistBackends& backends = state_.backends();
  const int be = backends.find(args.backend());
  if (be < 0) {
    state_.unknown_backend(backends, args.backend());  // not a backend the agent manages: HAProxy balances
    return;
  }
  const policy::BackendView* view = state_.view(backends, be);
  if (!view) {
    ++state_.handler.no_view;  // no server list yet (runtime API not answered, no static servers)
    return;
  }
  // One X-Forwarded-For line (or none) is the common case: used in place, without the join call.
  const std::string_view xff =
      args.xff[1].empty() && args.xff[2].empty() ? args.xff[0] : join_forwarded_for(args.xff);
  const policy::ClientFacts facts = client_facts(args, xff);
  const PersistBackend& backend = backends.backend(be);
  const policy::PersistEngine& engine = *backend.engine;
  const std::int64_t now = state_.now_ms();
  const policy::RequestStart start = engine.start(facts, *view, now, key_buf_, state_.counters);
  if (!start.needs_pin) {
    answer(backend, *view, start.decision, reply.actions());
    return;
  }
  const store::PinAnswer local = state_.pins->lookup(start.query, now);
  // A client unknown here may be known to another agent: with Redis reachable, ask it first.
  if (local.ask_shared) {
    ask_shared(be, start, local, reply);
    return;
  }
  // finish(), inline: the local answer is the common case and the hot path.
  policy::PinWrites writes;
  const policy::RequestDecision d = engine.decide(start, local, *view, now, state_.counters, writes);
  if (writes.count()) state_.counters.table_full += state_.pins->record(writes.span(), now).refused;
  answer(backend, *view, d, reply.actions());
}

void PersistRequestHandler::finish(const PersistBackend& backend, const policy::BackendView& view,
                                   const policy::RequestStart& start, const store::PinAnswer& pins, std::int64_t now,
                                   model::ActionList& out) {
  policy::PinWrites writes;
  const policy::RequestDecision d = backend.engine->decide(start, pins, view, now, state_.counters, writes);
  if (writes.count()) state_.counters.table_full += state_.pins->record(writes.span(), now).refused;
  answer(backend, view, d, out);
}

// "line3, line2, line1" (the earliest line first, as one header would read). A single line is used
// in place; a chain that does not fit the buffer keeps only its last line (counted).
std::string_view PersistRequestHandler::join_forwarded_for(
    const std::array<std::string_view, kForwardedForLines>& lines) {
  if (lines[1].empty() && lines[2].empty()) return lines[0];
  std::size_t len = 0;
  for (std::string_view l : lines) len += l.size() + 2;
  if (len > xff_buf_.size()) {
    ++state_.handler.xff_lines_too_long;
    return lines[0];
  }
  std::size_t n = 0;
  for (std::size_t i = lines.size(); i-- > 0;) {
    if (lines[i].empty()) continue;
    if (n > 0) {
      xff_buf_[n++] = ',';
      xff_buf_[n++] = ' ';
    }
    std::memcpy(xff_buf_.data() + n, lines[i].data(), lines[i].size());
    n += lines[i].size();
  }
  return std::string_view(xff_buf_.data(), n);
}

void PersistRequestHandler::ask_shared(int backend, const policy::RequestStart& start,
                                       const store::PinAnswer& local, model::Reply& reply) {
  ++state_.handler.deferred;
  auto p = std::make_shared<Pending>();
  p->generation = state_.backends_ref();
  p->backend = backend;
  p->key.assign(start.query.key.bytes);
  p->start = start;
  p->start.query.key.bytes = p->key;
  p->start.decision.identity.key = as_bytes(p->key);
  p->reply = &reply;
  reply.hold();  // the ACK waits for Redis (bounded by the lookup deadline)
  state_.pins->lookup_shared(p->start.query, local, [this, p](const store::PinAnswer& a) {
    // The shared store's pin is an input to the decision like the local one; anything else
    // (absent, timeout, Redis down) leaves the local answer, and the client is placed.
    if (a.shared) ++state_.handler.shared_hits;
    const PersistBackend& b = p->generation->backend(p->backend);
    if (const policy::BackendViewPtr v = b.view.get()) finish(b, *v, p->start, a, state_.now_ms(), p->reply->actions());
    p->reply->release();
  });
}

void PersistRequestHandler::answer(const PersistBackend& backend, const policy::BackendView& view,
                                   const policy::RequestDecision& d, model::ActionList& out) {
  out.set_string("reason", policy::pin_reason_name(d.reason));
  if (d.server < 0) return;
  const std::string& server = view.servers->servers[static_cast<std::size_t>(d.server)].name;
  out.set_string("srv", server);
  // ckok: no cookie work on the response (also when the backend issues no cookie at all), which
  // lets HAProxy skip persist-res unless there is a session cookie to learn or a redispatch.
  if (d.cookie_ok || !backend.engine->options().insert_cookie) out.set_int("ckok", 1);
  // A genuine cookie due for re-issue: the response phase keeps its issue time (max_life).
  else if (d.reason == policy::PinReason::Cookie) out.set_int("ckiss", d.identity.cookie.issued);
  if (d.identity.kind != policy::IdentityKind::None && d.identity.kind != policy::IdentityKind::AgentCookie) {
    char token[1 + 2 * policy::kIdentityKeyCapacity];
    const std::size_t n = policy::format_identity_token(d.identity.kind, d.identity.key, token);
    if (n) out.set_string("key", std::string_view(token, n));
  }
}

void PersistResponseHandler::on_message(const spop::Message& msg, model::Reply& reply) {
  ++state_.handler.responses;
  const PersistBackends& backends = state_.backends();
  const int be = backends.find(text_arg(msg, "be"));
  if (be < 0) {
    state_.unknown_backend(backends, text_arg(msg, "be"));
    return;
  }
  const policy::BackendView* view = state_.view(backends, be);
  if (!view) {
    ++state_.handler.no_view;
    return;
  }
  policy::ResponseFacts facts;
  facts.served = text_arg(msg, "srv");
  facts.picked = text_arg(msg, "pick");
  facts.cookie_ok = truthy_arg(msg, "ckok");
  facts.app_cookie = text_arg(msg, "learn");
  if (const spop::Arg* a = msg.find("ckiss"); a && a->value.is_integer() && a->value.u > 0 && a->value.u <= UINT32_MAX)
    facts.cookie_issued = static_cast<std::uint32_t>(a->value.u);
  if (const std::string_view token = text_arg(msg, "key"); !token.empty()) {
    if (!policy::parse_identity_token(token, facts.kind, key_buf_, facts.key)) {
      ++state_.counters.bad_response_key;  // only our own token travels there: count, don't trust
      facts.kind = policy::IdentityKind::None;
    }
  }
  const PersistBackend& backend = backends.backend(be);
  if (facts.kind == policy::IdentityKind::None && facts.picked.empty()) {
    // The fast path: HAProxy served the request from its own stick table and the agent was not
    // asked, so no token came back. The request's facts (as HAProxy kept them) name the client.
    const RequestArgs args(msg);
    const policy::ClientFacts client = client_facts(args, args.xff.front());
    if (!client.source.empty() || !client.true_client_ip.empty() || !client.forwarded_for.empty() ||
        !client.app_cookie.empty()) {
      const policy::Identity id = backend.engine->identify(client, state_.now_ms(), key_buf_, state_.counters);
      facts.kind = id.kind;
      facts.key = id.key;
      ++state_.handler.table_hit_moves;
    }
  }
  const std::int64_t now = state_.now_ms();
  const policy::ResponseStart start = backend.engine->learn_start(facts, *view);
  std::array<std::optional<store::StickyEntry>, 2> before;
  for (std::size_t i = 0; i < start.count; ++i) before[i] = state_.pins->peek(start.keys[i], now);
  const policy::ResponseOutcome r = backend.engine->learn(
      facts, start, std::span(before.data(), start.count), *view, now, cookie_buf_, state_.counters);
  if (!r.set_cookie.empty()) reply.actions().set_string("set_cookie", r.set_cookie);
  if (r.writes.count()) state_.counters.table_full += state_.pins->record(r.writes.span(), now).refused;
}

}  // namespace sticky::agent
