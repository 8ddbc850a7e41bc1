// Maps SPOE arguments to the persistence engine and its answers back to HAProxy variables.
#include "agent/persist_handler.h"

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

}  // namespace

void PersistRequestHandler::on_message(const spop::Message& msg, model::Reply& reply) {
  const int be = state_.runtime().find(text_arg(msg, "be"));
  if (be < 0) {
    ++state_.unknown_backend;  // not a backend the agent manages: HAProxy balances
    return;
  }
  const policy::BackendView* view = state_.view(be);
  if (!view) {
    ++state_.no_view;  // no server list yet (runtime API not answered, no static servers)
    return;
  }
  policy::ClientFacts facts;
  if (const spop::Arg* src = msg.find("src");
      src && (src->value.type == spop::DataType::Ipv4 || src->value.type == spop::DataType::Ipv6))
    facts.source = as_bytes(src->value.bytes);
  facts.true_client_ip = text_arg(msg, "tcip");
  facts.forwarded_for = text_arg(msg, "xff");
  facts.agent_cookie = text_arg(msg, "ck");
  facts.app_cookie = text_arg(msg, "app");

  PersistBackend& backend = state_.runtime().backend(be);
  const std::int64_t now = state_.now_ms();
  const policy::RequestDecision d = backend.engine->decide(facts, *view, now, key_buf_, state_.counters);

  model::ActionList& out = reply.actions();
  out.set_string("reason", policy::pin_reason_name(d.reason));
  if (d.server < 0) return;
  const std::string& server = view->servers->servers[static_cast<std::size_t>(d.server)].name;
  out.set_string("srv", server);
  if (d.cookie_ok) out.set_int("ckok", 1);
  if (d.identity.kind != policy::IdentityKind::None && d.identity.kind != policy::IdentityKind::AgentCookie) {
    char token[1 + 2 * policy::kIdentityKeyCapacity];
    const std::size_t n = policy::format_identity_token(d.identity.kind, d.identity.key, token);
    if (n) out.set_string("key", std::string_view(token, n));
  }
  if (d.table_written && state_.on_write)
    state_.on_write({backend.engine->options().name, d.identity.kind, d.identity.key, server, d.version,
                     d.reason == policy::PinReason::New});
}

void PersistResponseHandler::on_message(const spop::Message& msg, model::Reply& reply) {
  const int be = state_.runtime().find(text_arg(msg, "be"));
  if (be < 0) {
    ++state_.unknown_backend;
    return;
  }
  const policy::BackendView* view = state_.view(be);
  if (!view) {
    ++state_.no_view;
    return;
  }
  policy::ResponseFacts facts;
  facts.served = text_arg(msg, "srv");
  facts.picked = text_arg(msg, "pick");
  facts.cookie_ok = truthy_arg(msg, "ckok");
  facts.app_cookie = text_arg(msg, "learn");
  if (const std::string_view token = text_arg(msg, "key"); !token.empty()) {
    if (!policy::parse_identity_token(token, facts.kind, key_buf_, facts.key)) {
      ++state_.counters.bad_response_key;  // only our own token travels there: count, don't trust
      facts.kind = policy::IdentityKind::None;
    }
  }
  PersistBackend& backend = state_.runtime().backend(be);
  const policy::ResponseOutcome r =
      backend.engine->learn(facts, *view, state_.now_ms(), cookie_buf_, state_.counters);
  if (!r.set_cookie.empty()) reply.actions().set_string("set_cookie", r.set_cookie);
  if (state_.on_write) {
    for (std::size_t i = 0; i < r.write_count; ++i) {
      const policy::TableWrite& w = r.writes[i];
      state_.on_write({backend.engine->options().name, w.kind, w.key,
                       view->servers->servers[static_cast<std::size_t>(w.server)].name, w.version, w.is_new});
    }
  }
}

}  // namespace sticky::agent
