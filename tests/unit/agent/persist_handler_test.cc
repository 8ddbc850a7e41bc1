// persist-req / persist-res handlers against fake pin stores: what the engine is handed, what it
// hands the store, and the reply held while the shared store is asked.
#include "agent/persist_handler.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config_file.h"

using namespace sticky;
using store::PinAnswer;
using store::PinWrite;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

constexpr const char* kConfig = R"(
backends:
  - name: app
    identity: [true_client_ip, source]
    ttl: 60s
    servers: [{name: s1}, {name: s2}, {name: s3}]
    true_client_ip: {trusted: ["10.0.0.0/8"]}
)";

struct Runtime {
  std::unique_ptr<agent::PersistRuntime> persist;
  Runtime() {
    config::LoadResult r = config::load_string(kConfig, "test.yaml", ".");
    REQUIRE(r.ok());
    std::vector<std::string> errors;
    persist = agent::PersistRuntime::build(r.config, errors);
    REQUIRE(persist);
    auto set = std::make_shared<model::ServerSet>();
    set->backend = "app";
    set->version = 1;
    for (const char* n : {"s1", "s2", "s3"}) set->servers.push_back({n, 1, model::ServerState::Up});
    health::ServerView view;
    view.backends["app"] = set;
    persist->follow(view);
  }
};

// The table, plus a shared store that is always asked on a miss and answers when the test says.
struct FakeShared final : store::PinStore {
  explicit FakeShared(store::StickyTable& t) : table(t) {}
  store::StickyTable& table;
  bool reachable = true;
  std::vector<store::LookupDone> waiting;
  std::vector<PinAnswer> waiting_answers;
  std::vector<PinWrite> recorded;
  std::vector<std::string> recorded_keys;

  PinAnswer lookup(const store::PinQuery& q, std::int64_t now) override {
    return store::local_answer(table, q, now, reachable);
  }
  void lookup_shared(const store::PinQuery&, PinAnswer a, store::LookupDone done) override {
    waiting.push_back(std::move(done));
    waiting_answers.push_back(a);
  }
  std::optional<store::StickyEntry> peek(const store::StickyKey& k, std::int64_t now) const override {
    return table.peek(k, now);
  }
  store::RecordResult record(std::span<const PinWrite> writes, std::int64_t now) override {
    for (const PinWrite& w : writes) {
      store::LocalPins::apply_local(table, w, now, true);
      recorded.push_back(w);
      recorded_keys.emplace_back(w.key.bytes);
    }
    return {};
  }
  // Completes the oldest lookup with `shared` (or nothing).
  void answer(std::optional<store::StickyEntry> shared) {
    PinAnswer a = waiting_answers.front();
    a.asked_shared = true;
    a.shared = shared;
    store::LookupDone done = std::move(waiting.front());
    waiting.erase(waiting.begin());
    waiting_answers.erase(waiting_answers.begin());
    done(a);
  }
};

struct Sink final : model::ReplySink {
  int ready = 0;
  void reply_ready(model::Reply&) override { ++ready; }
};

const char kEdge[4] = {10, 0, 0, 1};

// persist-req be=app src=10.0.0.1 tcip=<ip>
struct Request {
  std::string tcip;
  spop::Arg args[3];
  spop::Message msg;
  explicit Request(std::string ip) : tcip(std::move(ip)) {
    args[0] = {"be", spop::TypedValue::string("app")};
    args[1] = {"src", spop::TypedValue::ipv4(std::string_view(kEdge, 4))};
    args[2] = {"tcip", spop::TypedValue::string(tcip)};
    msg = {"persist-req", std::span<const spop::Arg>(args, 3)};
  }
};

std::string var(const model::Reply& r, std::string_view name) {
  for (const auto& a : r.actions().items())
    if (a.name == name && a.value.is_text()) return std::string(a.value.bytes);
  return "";
}

struct Handlers {
  Runtime rt;
  FakeShared pins{rt.persist->table()};
  agent::PersistWorkerState state{*rt.persist, [] { return kNow; }};
  agent::PersistRequestHandler req{state};
  agent::PersistResponseHandler res{state};
  Sink sink;
  Handlers() { state.pins = &pins; }

  // Sends one request; the reply is held by the protocol layer's own hold, as a worker does.
  std::unique_ptr<model::Reply> send(const Request& r) {
    auto reply = std::make_unique<model::Reply>();
    reply->reset(&sink, 1, 1, 1);
    req.on_message(r.msg, *reply);
    reply->release();
    return reply;
  }
};

}  // namespace

TEST_CASE("a miss waits for the shared store; its empty answer places and records a new pin", "[persist_handler]") {
  Handlers h;
  auto reply = h.send(Request("203.0.113.7"));
  CHECK(h.sink.ready == 0);  // held: the shared store was asked
  REQUIRE(h.pins.waiting.size() == 1);
  CHECK(h.pins.recorded.empty());
  h.pins.answer(std::nullopt);
  CHECK(h.sink.ready == 1);
  CHECK(var(*reply, "reason") == "new");
  const std::string server = var(*reply, "srv");
  CHECK(!server.empty());
  REQUIRE(h.pins.recorded.size() == 1);
  CHECK(h.pins.recorded[0].type == PinWrite::Type::New);
  CHECK(h.pins.recorded[0].server == server);
  CHECK(h.pins.recorded_keys[0] == std::string("\xcb\x00\x71\x07", 4));
  CHECK(h.state.handler.deferred == 1);
  CHECK(h.state.handler.shared_hits == 0);
  // Known now: the next request is a local hit, answered at once, nothing written.
  auto again = h.send(Request("203.0.113.7"));
  CHECK(h.sink.ready == 2);
  CHECK(var(*again, "reason") == "client-ip");
  CHECK(var(*again, "srv") == server);
  CHECK(h.pins.recorded.size() == 1);
}

TEST_CASE("another agent's pin from the shared store routes the request and is adopted", "[persist_handler]") {
  Handlers h;
  auto reply = h.send(Request("203.0.113.8"));
  REQUIRE(h.pins.waiting.size() == 1);
  store::StickyEntry theirs;
  theirs.server_id = h.rt.persist->registry().intern("app", "s3");
  theirs.created_ms = theirs.last_seen_ms = kNow - 2000;
  theirs.expires_ms = kNow + 58'000;
  theirs.last_synced_ms = kNow;
  theirs.version = 2;
  h.pins.answer(theirs);
  CHECK(var(*reply, "srv") == "s3");
  CHECK(var(*reply, "reason") == "client-ip");
  REQUIRE(h.pins.recorded.size() == 1);
  CHECK(h.pins.recorded[0].type == PinWrite::Type::Adopt);
  CHECK(h.state.handler.shared_hits == 1);
  auto again = h.send(Request("203.0.113.8"));
  CHECK(var(*again, "srv") == "s3");
  CHECK(h.pins.waiting.empty());
}

TEST_CASE("with the shared store unreachable a miss is decided at once", "[persist_handler]") {
  Handlers h;
  h.pins.reachable = false;
  auto reply = h.send(Request("203.0.113.9"));
  CHECK(h.sink.ready == 1);
  CHECK(h.pins.waiting.empty());
  CHECK(var(*reply, "reason") == "new");
  CHECK(h.state.handler.deferred == 0);
  REQUIRE(h.pins.recorded.size() == 1);
}

TEST_CASE("a response served elsewhere is followed: the pin moves and the move is recorded", "[persist_handler]") {
  Handlers h;
  h.pins.reachable = false;
  auto first = h.send(Request("203.0.113.10"));
  const std::string picked = var(*first, "srv");
  const std::string token = var(*first, "key");
  REQUIRE(!token.empty());
  const std::string served = picked == "s1" ? "s2" : "s1";
  spop::Arg args[4] = {{"be", spop::TypedValue::string("app")},
                       {"srv", spop::TypedValue::string(served)},
                       {"pick", spop::TypedValue::string(picked)},
                       {"key", spop::TypedValue::string(token)}};
  const spop::Message res{"persist-res", std::span<const spop::Arg>(args, 4)};
  model::Reply reply;
  reply.reset(&h.sink, 1, 1, 2);
  h.res.on_message(res, reply);
  reply.release();
  REQUIRE(h.pins.recorded.size() == 2);
  CHECK(h.pins.recorded[1].type == PinWrite::Type::Move);
  CHECK(h.pins.recorded[1].server == served);
  CHECK(h.state.counters.followed_redispatch == 1);
  auto after = h.send(Request("203.0.113.10"));
  CHECK(var(*after, "srv") == served);
}

TEST_CASE("a backend the config lacks is counted and left to HAProxy", "[persist_handler]") {
  Handlers h;
  spop::Arg args[1] = {{"be", spop::TypedValue::string("nope")}};
  const spop::Message msg{"persist-req", std::span<const spop::Arg>(args, 1)};
  model::Reply reply;
  reply.reset(&h.sink, 1, 1, 1);
  h.req.on_message(msg, reply);
  reply.release();
  CHECK(reply.actions().items().empty());
  CHECK(h.state.handler.unknown_backend == 1);
  CHECK(h.pins.recorded.empty());
}

TEST_CASE("a reload while a decision waits for the shared store: it finishes with the backends it started with",
          "[persist_handler]") {
  Handlers h;
  auto reply = h.send(Request("203.0.113.20"));
  REQUIRE(h.pins.waiting.size() == 1);
  // The reload removes 'app' and adds 'web' in its place (same position, so the same index).
  config::LoadResult r = config::load_string(R"(
backends:
  - name: web
    servers: [{name: w1}]
)", "reload.yaml", ".");
  REQUIRE(r.ok());
  std::vector<std::string> errors;
  agent::PersistReloadPlan plan;
  auto next = h.rt.persist->prepare(r.config, errors, plan);
  REQUIRE(next);
  health::ServerView view;
  auto set = std::make_shared<model::ServerSet>();
  set->backend = "web";
  set->servers.push_back({"w1", 1, model::ServerState::Up});
  view.backends["web"] = set;
  h.rt.persist->apply(next, &view);
  // The answer lands after the swap: the decision is 'app''s, on 'app''s servers.
  h.pins.answer(std::nullopt);
  CHECK(h.sink.ready == 1);
  CHECK(var(*reply, "reason") == "new");
  const std::string server = var(*reply, "srv");
  CHECK((server == "s1" || server == "s2" || server == "s3"));
  // The next message is handled with the new generation: 'app' is unknown there.
  auto after = h.send(Request("203.0.113.20"));
  CHECK(h.state.handler.unknown_backend == 1);
  CHECK(after->actions().items().empty());
}
