// Fuzz entry point: the input is the payload of one NOTIFY frame (its messages), decoded as the
// connection does and dispatched to the real persist-req / persist-res / hsaf handlers, built from
// a small fixed agent config. Invariants: no crash; one message's answer is never dropped; every
// variable names a known server, reason or status; the ACK fits the default frame size; a cookie
// the agent issues pins the next request to the server it was issued for.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "agent/hsaf_handler.h"
#include "agent/hsaf_runtime.h"
#include "agent/persist_handler.h"
#include "agent/persist_runtime.h"
#include "config/config_file.h"
#include "fuzz_check.h"
#include "health/server_view.h"
#include "model/handler.h"
#include "spop/ack.h"
#include "spop/notify.h"
#include "spop/wire.h"
#include "store/pin_store.h"

using namespace sticky;

namespace {

constexpr std::int64_t kNowMs = 1'750'000'000'000;

// Two cookie secrets (whose derived key ids differ), two persistence backends, an edge and a
// parent HSAF profile.
constexpr std::string_view kConfig = R"(backends:
  - name: app
    identity: [agent_cookie, app_cookie, true_client_ip, forwarded_for, source]
    ttl: 10m
    capacity: 4096
    servers: [{name: s1, weight: 10}, {name: s2, weight: 20}, {name: s3}, {name: s4}]
    agent_cookie: {name: STKY, secrets: [k1.key, k0.key], max_idle: 30m, max_life: 12h}
    app_cookie: {name: JSESSIONID}
    true_client_ip: {trusted: ["10.0.0.0/8", "2001:db8::/32"]}
    forwarded_for: {trusted_proxies: ["192.168.0.0/16", "127.0.0.1", "fd00::/8"]}
    source: {mask_v4: 24, mask_v6: 64}
  - name: plain
    servers: [{name: a}, {name: b}]
hsaf:
  - name: edge
    input: {mode: url, query: params, params: [v, lang], lowercase_path: true}
    tiers: [{min: 100, max: 130}]
    regions: [{name: east, backend: cache_east}]
    overflow: {name: spill, backend: cache_overflow}
    servers:
      cache_east: [{name: c1}, {name: c2, weight: 3}, {name: c3}]
      cache_overflow: [{name: o1}]
  - name: parent
    input: {mode: custom}
    tiers: [{min: 1, max: 17}, {min: 20, max: 36}]
    regions: [{name: east, backend: cache_east}, {name: west, backend: cache_west}]
    servers:
      cache_east: [{name: c1}, {name: c2, weight: 3}, {name: c3}]
      cache_west: [{name: w1}, {name: w2}]
)";

struct World {
  config::Config cfg;
  std::unique_ptr<agent::PersistRuntime> persist;
  std::unique_ptr<agent::HsafRuntime> hsaf;
  std::vector<std::string> servers;  // every server name any answer may carry
  std::shared_ptr<const model::ServerSet> app;  // the `app` backend as published
};

model::ServerSetPtr server_set(const std::string& backend, const std::vector<config::StaticServer>& list,
                                bool vary_states) {
  auto set = std::make_shared<model::ServerSet>();
  set->backend = backend;
  set->version = 1;
  for (std::size_t i = 0; i < list.size(); ++i) {
    model::ServerState st = model::ServerState::Up;
    // s3 drains, s4 is down: pinned clients stay on or move off them.
    if (vary_states && i == 2) st = model::ServerState::Drain;
    if (vary_states && i == 3) st = model::ServerState::Down;
    set->servers.push_back({list[i].name, list[i].weight, st});
  }
  return set;
}

World* build_world() {
  auto* w = new World;
  const auto dir = std::filesystem::temp_directory_path() / ("sticky-fuzz-notify-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "k1.key") << "fuzz-secret-one-0123456789abcdefghijklmnop\n";
  std::ofstream(dir / "k0.key") << "fuzz-secret-zero-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
  config::LoadResult r = config::load_string(kConfig, "fuzz.yaml", dir.string());
  std::vector<std::string> errors = r.errors, warnings;
  if (r.ok()) {
    w->cfg = std::move(r.config);
    w->persist = agent::PersistRuntime::build(w->cfg, errors);
    w->hsaf = agent::HsafRuntime::build(w->cfg, errors, warnings);
  }
  std::filesystem::remove_all(dir);
  if (!w->persist || !w->hsaf) {
    for (const auto& e : errors) std::fprintf(stderr, "fuzz_notify config: %s\n", e.c_str());
    std::abort();
  }
  health::ServerView view;
  view.version = 1;
  for (const auto& b : w->cfg.backends) {
    auto set = server_set(b.name, b.servers, b.name == "app");
    if (b.name == "app") w->app = set;
    view.backends[b.name] = set;
    for (const auto& s : b.servers) w->servers.push_back(s.name);
  }
  w->persist->follow(view);
  for (const auto& h : w->cfg.hsaf)
    for (const auto& [backend, list] : h.servers) {
      view.backends[backend] = server_set(backend, list, false);
      for (const auto& s : list) w->servers.push_back(s.name);
    }
  w->hsaf->follow(view);
  return w;
}

struct NullSink final : model::ReplySink {
  void reply_ready(model::Reply&) override {}
};

bool known(const std::vector<std::string>& names, std::string_view v) {
  for (const auto& n : names)
    if (n == v) return true;
  return false;
}

std::string_view var(const model::ActionList& actions, std::string_view name) {
  for (const auto& a : actions.items())
    if (a.name == name && a.value.is_text()) return a.value.bytes;
  return {};
}

void check_answers(const World& w, const model::ActionList& actions) {
  static const std::vector<std::string> reasons{"cookie", "learned", "client-ip", "xff",
                                                "subnet", "new",     "moved",     "no-server"};
  for (const auto& a : actions.items()) {
    FUZZ_CHECK(a.type == spop::ActionType::SetVar, "a handler answered with something else than set-var");
    const std::string_view n = a.name;
    if (n == "srv" || n == "hsaf_peer" || n == "hsaf_peer2") {
      FUZZ_CHECK(a.value.is_text() && known(w.servers, a.value.bytes), "answer names an unknown server");
    } else if (n == "reason") {
      FUZZ_CHECK(a.value.is_text() && known(reasons, a.value.bytes), "unknown reason");
    } else if (n == "set_cookie") {
      FUZZ_CHECK(a.value.is_text() && a.value.bytes.starts_with("STKY="), "set_cookie is not the agent cookie");
    }
  }
}

// Encodes the reply as the connection would, against the default frame size HAProxy offers.
void check_ack(const model::Reply& reply) {
  static std::uint8_t out[4 + spop::kDefaultMaxFrameSize];
  ByteWriter w(out);
  FUZZ_CHECK(spop::write_ack(w, reply.stream_id(), reply.frame_id(), reply.actions().items(),
                             spop::kDefaultMaxFrameSize),
             "the ACK does not fit the default max-frame-size");
  ByteReader r(w.written());
  FUZZ_CHECK(r.take_u32_be() == w.size() - 4, "ACK length does not match its bytes");
}

// A persist-res for a known server that issued a cookie: the cookie, sent back on the next
// request, must pin the client to the server it was issued for (no ckiss: it is brand new).
void check_cookie_follow_up(World& w, agent::PersistWorkerState& state, agent::PersistRequestHandler& req,
                            const spop::Message& res, std::string_view set_cookie) {
  const std::size_t eq = set_cookie.find('=');
  const std::size_t end = set_cookie.find(';');
  FUZZ_CHECK(eq != std::string_view::npos, "set_cookie without '='");
  const std::string value(set_cookie.substr(eq + 1, end == std::string_view::npos ? end : end - eq - 1));
  const spop::Arg* srv = res.find("srv");
  FUZZ_CHECK(srv && srv->value.is_text(), "a cookie was issued without a served server");
  const int served = w.app->find(srv->value.bytes);
  FUZZ_CHECK(served >= 0, "a cookie was issued for a server outside the view");
  const spop::Arg* be = res.find("be");
  if (!be || be->value.bytes != "app") return;  // only `app` issues cookies
  const spop::Arg* ckiss = res.find("ckiss");
  const bool fresh = !(ckiss && ckiss->value.is_integer());

  spop::Arg args[3];
  args[0] = {"be", spop::TypedValue::string("app")};
  args[1] = {"ck", spop::TypedValue::string(value)};
  static const std::uint8_t src[4] = {172, 16, 9, 9};
  args[2].name = "src";
  args[2].value.type = spop::DataType::Ipv4;
  args[2].value.bytes = std::string_view(reinterpret_cast<const char*>(src), 4);
  spop::Message m;
  m.name = "persist-req";
  m.args = std::span<const spop::Arg>(args, 3);
  NullSink sink;
  model::Reply reply;
  reply.reset(&sink, 1, 0, 0);
  req.on_message(m, reply);
  check_answers(w, reply.actions());
  const std::string_view reason = var(reply.actions(), "reason");
  const std::string_view pinned = var(reply.actions(), "srv");
  if (reason == "cookie")
    FUZZ_CHECK(pinned == srv->value.bytes, "the agent cookie pinned another server than it was issued for");
  if (fresh && w.app->servers[static_cast<std::size_t>(served)].accepts_existing())
    FUZZ_CHECK(reason == "cookie", "a fresh cookie for a live server was not honoured");
  (void)state;
  reply.release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World* world = build_world();
  // Per input, as a new worker would start: counters, cached views and the HSAF coin.
  agent::PersistWorkerState state(*world->persist, [] { return kNowMs; });
  store::LocalPins pins(world->persist->table());
  state.pins = &pins;
  agent::PersistRequestHandler req(state);
  agent::PersistResponseHandler res(state);
  agent::HsafHandler hsaf(*world->hsaf, 42);
  model::HandlerRegistry handlers;
  handlers.add("persist-req", &req);
  handlers.add("persist-res", &res);
  handlers.add("hsaf", &hsaf);

  NullSink sink;
  static model::Reply reply;
  reply.reset(&sink, 7, 1, 1);
  static spop::Arg scratch[spop::kMaxArgs];
  spop::MessageReader reader(Bytes(data, size));
  spop::Message m;
  while (reader.next(m, scratch)) {
    model::MessageHandler* h = handlers.find(m.name);
    if (!h) continue;
    const bool was_empty = reply.actions().empty();
    const std::uint32_t dropped = reply.actions().dropped();
    const std::size_t before = reply.actions().items().size();
    h->on_message(m, reply);
    FUZZ_CHECK(!was_empty || reply.actions().dropped() == dropped, "one message's answer did not fit the ACK");
    if (m.name == "persist-res") {
      const auto items = reply.actions().items();
      for (std::size_t i = before; i < items.size(); ++i)
        if (items[i].name == "set_cookie") {
          const std::string cookie(items[i].value.bytes);  // the follow-up reply must not alias it
          check_cookie_follow_up(*world, state, req, m, cookie);
        }
    }
  }
  check_answers(*world, reply.actions());
  check_ack(reply);
  reply.release();
  return 0;
}
