// The persistence messages HAProxy sends (see haproxy-conf/cookie and haproxy-conf/akamai):
//
//   persist-req  on-backend-http-request  be src tcip xff ck app
//   persist-res  on-http-response         be srv pick key ckok learn
//
// Answers (txn.<prefix>.*): srv, reason, key, ckok on the request; set_cookie on the response.
// One instance per worker: counters and cached server views are thread-local.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "agent/persist_runtime.h"
#include "model/handler.h"

namespace sticky::agent {

// Called for every table write a decision made, so the shared store can publish it.
struct PinWrite {
  std::string_view backend;
  policy::IdentityKind kind;
  Bytes key;
  std::string_view server;
  std::uint32_t version;
  bool is_new;
};
using PinWriteSink = std::function<void(const PinWrite&)>;

class PersistWorkerState {
 public:
  PersistWorkerState(PersistRuntime& runtime, std::function<std::int64_t()> now_ms)
      : runtime_(runtime), now_ms_(std::move(now_ms)), views_(runtime.size()) {}

  PersistRuntime& runtime() { return runtime_; }
  std::int64_t now_ms() const { return now_ms_(); }
  const policy::BackendView* view(int backend) {
    return views_[static_cast<std::size_t>(backend)].get(runtime_.backend(backend).view);
  }
  policy::PersistCounters counters;
  std::uint64_t unknown_backend = 0;
  std::uint64_t no_view = 0;
  PinWriteSink on_write;  // optional

  // Moves this worker's counters into the runtime's totals (call about once a second).
  void publish_counters() { runtime_.merge_counters(counters, unknown_backend, no_view); }

 private:
  PersistRuntime& runtime_;
  std::function<std::int64_t()> now_ms_;
  std::vector<CachedView<policy::BackendView>> views_;
};

class PersistRequestHandler final : public model::MessageHandler {
 public:
  explicit PersistRequestHandler(PersistWorkerState& state) : state_(state) {}
  void on_message(const spop::Message& msg, model::Reply& reply) override;

 private:
  PersistWorkerState& state_;
  std::array<std::uint8_t, policy::kIdentityKeyCapacity> key_buf_{};
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
