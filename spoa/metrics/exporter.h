// Renders counters as Prometheus text exposition format (version 0.0.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/counter_list.h"
#include "metrics/counters.h"
#include "metrics/latency_histogram.h"

namespace sticky::metrics {

// Extra sections (policy, store, health...) append their own lines through this hook.
using ExtraRenderer = std::function<void(std::string& out)>;

std::string render_prometheus(const std::vector<const Shard*>& shards,
                              const std::vector<ExtraRenderer>& extras);

// Appends one metric (HELP, TYPE and value) in the exposition format.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value);

// Appends one sample `metric{label} value`; with `header`, its family's HELP and TYPE first.
void append_sample(std::string& out, const char* metric, const char* label, MetricType type, const char* help,
                   std::uint64_t value, bool header);

// Appends one histogram: HELP, TYPE, cumulative `_bucket{le="seconds"}` samples, `_sum` (seconds), `_count`.
void append_histogram(std::string& out, const char* metric, const char* help, const LatencyHistogram& h);

// Appends every counter of a layer's list (base/counter_list.h) with its value in `values`, then the
// struct's histograms, if it lists any (metrics/latency_histogram.h, kHistogramFields).
template <typename S, std::size_t N>
void append_counters(std::string& out, const S& values, const CounterField<S> (&fields)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    const CounterField<S>& f = fields[i];
    const bool header = i == 0 || std::strcmp(f.metric, fields[i - 1].metric) != 0;
    append_sample(out, f.metric, f.label, f.type, f.help, values.*f.member, header);
  }
  for (const HistogramField<S>& h : kHistogramFields<S>) append_histogram(out, h.metric, h.help, values.*h.member);
}

}  // namespace sticky::metrics
