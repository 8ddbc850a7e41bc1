// Latency histograms (Prometheus `histogram`) with one set of fixed upper bounds, 25 us to 100 ms:
// the agent's decode-to-ACK time and Redis round trips both live in that range, so one scale lets a
// dashboard put them side by side. Buckets are kept per bucket (not cumulative, so an observation is
// one increment) with the sum in ns; the exporter makes them cumulative when it renders.
//
// Each histogram has a single writer, its worker. `Cell` says how the exporter gets at it:
//   LatencyHistogram        plain counts, for a struct the worker copies out under a lock (the Redis
//                           counters, published with the rest of their list)
//   SharedLatencyHistogram  relaxed atomics the exporter reads while the worker writes (metrics::Shard)
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sticky::metrics {

inline constexpr std::array<std::uint32_t, 12> kLatencyBoundsUs = {25,   50,   100,  250,   500,   1000,
                                                                   2500, 5000, 10000, 25000, 50000, 100000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsUs.size() + 1;  // the last counts the rest

// The first bucket whose bound the latency does not exceed (bounds are inclusive): a dozen compares.
constexpr std::size_t latency_bucket(std::uint64_t ns) {
  const std::uint64_t us = ns / 1000;
  std::size_t b = 0;
  while (b < kLatencyBoundsUs.size() && us > kLatencyBoundsUs[b]) ++b;
  return b;
}

// Single-writer increments: a relaxed load and store, no locked instruction on the hot path.
inline void bump(std::uint64_t& cell, std::uint64_t by) { cell += by; }
inline void bump(std::atomic<std::uint64_t>& cell, std::uint64_t by) {
  cell.store(cell.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline std::uint64_t value_of(std::uint64_t cell) { return cell; }
inline std::uint64_t value_of(const std::atomic<std::uint64_t>& cell) { return cell.load(std::memory_order_relaxed); }

template <typename Cell>
struct BasicLatencyHistogram {
  std::array<Cell, kLatencyBuckets> buckets{};  // per bucket, not cumulative
  Cell sum_ns{};

  void observe_ns(std::uint64_t ns) {
    bump(buckets[latency_bucket(ns)], 1);
    bump(sum_ns, ns);
  }
};
using LatencyHistogram = BasicLatencyHistogram<std::uint64_t>;
using SharedLatencyHistogram = BasicLatencyHistogram<std::atomic<std::uint64_t>>;

// Merging workers: into += from, bucket by bucket.
template <typename Cell>
void add_histogram(LatencyHistogram& into, const BasicLatencyHistogram<Cell>& from) {
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) into.buckets[b] += value_of(from.buckets[b]);
  into.sum_ns += value_of(from.sum_ns);
}

inline std::uint64_t histogram_count(const LatencyHistogram& h) {
  std::uint64_t n = 0;
  for (std::uint64_t c : h.buckets) n += c;
  return n;
}

// A layer's counter struct (base/counter_list.h) may carry histograms beside its counters: it lists
// them by specialising kHistogramFields for itself, and append_counters (metrics/exporter.h) then
// renders them after the counters, add_histograms merges them, and the export test checks each one.
template <typename S>
struct HistogramField {
  LatencyHistogram S::*member;
  const char* metric;  // the family name; samples are <metric>_bucket{le=...}, _sum, _count
  const char* help;
};
template <typename S>
inline constexpr std::span<const HistogramField<S>> kHistogramFields{};

template <typename S>
void add_histograms(S& into, const S& from) {
  for (const HistogramField<S>& h : kHistogramFields<S>) add_histogram(into.*h.member, from.*h.member);
}

}  // namespace sticky::metrics
