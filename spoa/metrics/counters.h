// Every counter of the agent core, declared once with its help text. Each worker owns one
// shard and is its only writer; the exporter sums the shards when scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "metrics/latency_histogram.h"

namespace sticky::metrics {

#define STICKY_CORE_COUNTERS(X)                                                                  \
  X(connections_accepted, "SPOP connections accepted")                                         \
  X(connections_refused_limit, "connections refused: max_connections reached")                \
  X(connections_evicted_pre_hello, "silent connections closed at max_connections to admit a new one") \
  X(healthchecks_over_limit, "health checks answered at max_connections, from the check reserve") \
  X(accept_fd_exhausted, "accepts failed for lack of descriptors (EMFILE/ENFILE); accepting paused") \
  X(connections_closed, "SPOP connections closed, for any reason")                             \
  X(hello_received, "HAPROXY-HELLO frames handled")                                            \
  X(healthchecks, "health-check HELLOs answered (option spop-check)")                          \
  X(notify_received, "NOTIFY frames received")                                                 \
  X(messages_received, "SPOE messages received inside NOTIFY frames")                          \
  X(messages_unknown, "messages with no registered handler (ACKed, not acted on)")             \
  X(acks_sent, "ACK frames written")                                                           \
  X(ack_actions_dropped, "actions that did not fit in an ACK (capacity or arena)")             \
  X(ack_too_big, "ACKs over the negotiated max-frame-size, replaced by a minimal ACK")         \
  X(acks_orphaned, "replies completed after their connection had closed")                      \
  X(haproxy_disconnects, "HAPROXY-DISCONNECT frames received")                                 \
  X(agent_disconnects, "AGENT-DISCONNECT frames sent")                                         \
  X(protocol_errors, "connections ended by a protocol error (see by-status counters)")         \
  X(timeouts_hello, "connections closed: no HELLO in time")                                    \
  X(timeouts_frame, "connections closed: a frame stayed incomplete too long")                  \
  X(timeouts_idle, "connections closed: idle too long")                                        \
  X(read_paused_backpressure, "times reading paused because replies were not drained")         \
  X(io_errors, "socket read/write errors other than EAGAIN")

enum class Counter : std::uint32_t {
#define STICKY_X(name, help) name,
  STICKY_CORE_COUNTERS(STICKY_X)
#undef STICKY_X
      kCount
};

inline constexpr std::size_t kCounterCount = static_cast<std::size_t>(Counter::kCount);
// Protocol errors are also counted by SPOP status code (0..13, and 99 folded into slot 14).
inline constexpr std::size_t kStatusSlots = 15;

struct CounterInfo {
  const char* name;
  const char* help;
};
inline constexpr std::array<CounterInfo, kCounterCount> kCounterInfo = {{
#define STICKY_X(name, help) {#name, help},
    STICKY_CORE_COUNTERS(STICKY_X)
#undef STICKY_X
}};

// One per worker. Single writer, so increments are a relaxed load and store: no locked
// instruction on the hot path, yet the exporter thread reads without a data race.
struct Shard {
  std::array<std::atomic<std::uint64_t>, kCounterCount> counters{};
  std::array<std::atomic<std::uint64_t>, kStatusSlots> errors_by_status{};
  std::atomic<std::int64_t> connections_open{0};
  // Decode-to-ACK latency of NOTIFY frames (from the frame decoded to its ACK encoded).
  SharedLatencyHistogram latency;

  void inc(Counter c, std::uint64_t by = 1) {
    auto& a = counters[static_cast<std::size_t>(c)];
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  void inc_status(std::uint32_t status) {
    auto& a = errors_by_status[status < kStatusSlots - 1 ? status : kStatusSlots - 1];
    a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // A dozen compares and two relaxed stores: no allocation, no locked instruction.
  void observe_latency_ns(std::uint64_t ns) { latency.observe_ns(ns); }
  std::uint64_t get(Counter c) const {
    return counters[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
  }
};

}  // namespace sticky::metrics
