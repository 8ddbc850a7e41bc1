// The persistence messages HAProxy sends (see haproxy-conf/cookie and haproxy-conf/akamai):
//
//   persist-req  on-backend-http-request  be src tcip xff ck app
//   persist-res  on-http-response         be srv pick key ckok learn
//
// Answers (txn.<prefix>.*): srv, reason, key, ckok on the request; set_cookie on the response.
// One instance per worker: counters and cached server views are thread-local. Each message enters
// the engine once per phase: start() -> the worker's pin store -> decide() -> the store records
// the writes (the same for the response: learn_start() -> peek -> learn()).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "agent/persist_runtime.h"
#include "model/handler.h"
#include "store/pin_store.h"

namespace sticky::agent {

class PersistWorkerState {
 public:
  PersistWorkerState(PersistRuntime& runtime, std::function<std::int64_t()> now_ms)
      : runtime_(runtime), now_ms_(std::move(now_ms)) {}

  PersistRuntime& runtime() { return runtime_; }
  std::int64_t now_ms() const { return now_ms_(); }

  // The config generation a message is handled with: one atomic load per message; after a
  // reload the worker moves to the new generation at its next message.
  const PersistBackends& backends() {
    const ViewSlot<PersistBackends>& slot = runtime_.slot();
    if (const std::uint64_t v = slot.version(); v != generation_version_) {
      generation_ = slot.get();
      generation_version_ = v;
      views_.assign(generation_->size(), {});  // view caches belong to one generation
    }
    return *generation_;
  }
  // The generation backends() returned, for a decision that outlives the message (a Redis lookup).
  const PersistBackendsPtr& backends_ref() const { return generation_; }
  const policy::BackendView* view(const PersistBackends& g, int backend) {
    return views_[static_cast<std::size_t>(backend)].get(g.backend(backend).view);
  }
  policy::PersistCounters counters;
  HandlerCounters handler;
  // This worker's pins: the table alone, or the table in front of Redis (store/redis/shared_pins.h).
  store::PinStore* pins = nullptr;

  // A message named a backend the config lacks: counted, and logged once per name (process-wide).
  void unknown_backend(const PersistBackends& g, std::string_view name) {
    ++handler.unknown_backend;
    if (&g != unknown_generation_) {
      unknown_names_ = {};  // a reload may have changed the names the agent knows
      unknown_generation_ = &g;
    }
    unknown_names_.note(name, g.unknown_backends());
  }

  // Moves this worker's counters into the runtime's totals and takes its turn at the table's
  // expiry sweep (call about once a second).
  void publish_counters() {
    runtime_.merge_counters(counters, handler);
    runtime_.sweep_table(now_ms());
  }

 private:
  PersistRuntime& runtime_;
  std::function<std::int64_t()> now_ms_;
  PersistBackendsPtr generation_;
  std::uint64_t generation_version_ = 0;
  std::vector<CachedView<policy::BackendView>> views_;
  UnknownBackendFilter unknown_names_;
  const PersistBackends* unknown_generation_ = nullptr;
};

class PersistRequestHandler final : public model::MessageHandler {
 public:
  // X-Forwarded-For header lines HAProxy may send: xff (the last line), xff2, xff3 (earlier ones).
  static constexpr std::size_t kForwardedForLines = 3;

  explicit PersistRequestHandler(PersistWorkerState& state) : state_(state) {}
  void on_message(const spop::Message& msg, model::Reply& reply) override;

 private:
  struct Pending;
  // Phase two: decides from the store's answer, hands the writes to the store, answers.
  void finish(const PersistBackend& backend, const policy::BackendView& view, const policy::RequestStart& start,
              const store::PinAnswer& answer, std::int64_t now, model::ActionList& out);
  void answer(const PersistBackend& backend, const policy::BackendView& view, const policy::RequestDecision& d,
              model::ActionList& out);
  // The local table cannot answer alone: ask the shared store (within its lookup deadline).
  void ask_shared(int backend, const policy::RequestStart& start, const store::PinAnswer& local,
                  model::Reply& reply);

  // The X-Forwarded-For lines (last first) as one chain, earliest first; a view into xff_buf_.
  std::string_view join_forwarded_for(const std::array<std::string_view, kForwardedForLines>& lines);

  PersistWorkerState& state_;
  std::array<std::uint8_t, policy::kIdentityKeyCapacity> key_buf_{};
  std::array<char, 4096> xff_buf_{};
};

class PersistResponseHandler final : public model::MessageHandler {
 public:
  explicit PersistResponseHandler(PersistWorkerState& state) : state_(state) {}
  void on_message(const spop::Message& msg, model::Reply& reply) override;

 private:
  PersistWorkerState& state_;
  std::array<std::uint8_t, policy::kIdentityKeyCapacity> key_buf_{};
  std::array<char, 512> cookie_buf_{};
};

}  // namespace sticky::agent
