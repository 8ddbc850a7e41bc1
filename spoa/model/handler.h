// The contract between the protocol layer and the logic: a handler receives one SPOE message
// and fills in the answer. Handlers may finish later (after a Redis reply) by holding the reply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/action_list.h"
#include "spop/notify.h"

namespace sticky::model {

class Reply;

// Told when a reply has no holds left and can be encoded and sent.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void reply_ready(Reply& reply) = 0;
};

// The answer to one NOTIFY frame. Owned by the worker's pool; stays valid until every hold is
// released, even if the connection it belongs to closes meanwhile (the ACK is then dropped).
class Reply {
 public:
  Reply() = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  ActionList& actions() { return actions_; }
  const ActionList& actions() const { return actions_; }

  // Keeps the reply open past on_message's return. Each hold() needs exactly one release(),
  // on the same worker thread.
  void hold() { ++holds_; }
  void release() {
    if (--holds_ == 0) sink_->reply_ready(*this);
  }

  std::uint64_t connection_id() const { return connection_id_; }
  std::uint64_t stream_id() const { return stream_id_; }
  std::uint64_t frame_id() const { return frame_id_; }
  // Monotonic nanoseconds when the NOTIFY was decoded (for the latency histogram); 0 = unknown.
  std::uint64_t started_ns() const { return started_ns_; }
  void set_started_ns(std::uint64_t ns) { started_ns_ = ns; }

  // For the protocol layer: prepares the reply for one NOTIFY. The layer holds it once while
  // it dispatches the messages, so it cannot complete half-way through.
  void reset(ReplySink* sink, std::uint64_t connection_id, std::uint64_t stream_id,
             std::uint64_t frame_id) {
    sink_ = sink;
    connection_id_ = connection_id;
    stream_id_ = stream_id;
    frame_id_ = frame_id;
    holds_ = 1;
    started_ns_ = 0;
    actions_.clear();
  }

 private:
  ActionList actions_;
  ReplySink* sink_ = nullptr;
  std::uint64_t connection_id_ = 0;
  std::uint64_t stream_id_ = 0;
  std::uint64_t frame_id_ = 0;
  std::uint64_t started_ns_ = 0;
  std::uint32_t holds_ = 0;
};

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // Called on a worker thread. `msg` and everything it points to die when this returns: copy
  // what an asynchronous continuation needs.
  virtual void on_message(const spop::Message& msg, Reply& reply) = 0;
};

// Per-worker map from SPOE message name to handler (a handful of entries: a linear scan wins).
class HandlerRegistry {
 public:
  void add(std::string name, MessageHandler* handler) {
    entries_.emplace_back(std::move(name), handler);
  }
  MessageHandler* find(std::string_view name) const {
    for (const auto& [n, h] : entries_)
      if (n == name) return h;
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string, MessageHandler*>> entries_;
};

}  // namespace sticky::model
