// One list per layer of the counters it keeps: each struct of plain counters is generated from an
// X-macro that also gives every field its Prometheus name, label, type and help, so summing,
// resetting and exporting walk the same list and a counter cannot be kept without being exported.
//
//   #define MY_COUNTERS(X) X(field, "sticky_metric_total", "", Counter, "what it counts") ...
//   struct MyCounters { MY_COUNTERS(STICKY_COUNTER_FIELD) };
//   #define STICKY_X(f, ...) STICKY_COUNTER_ROW(MyCounters, f, __VA_ARGS__)
//   inline constexpr CounterField<MyCounters> kMyCounterFields[] = {MY_COUNTERS(STICKY_X)};
//   #undef STICKY_X
//
// Fields sharing a metric name form one family told apart by their label (`reason="bad_key"`); they
// must be adjacent in the list, so the exporter writes the family's HELP and TYPE once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sticky {

enum class MetricType : std::uint8_t { Counter, Gauge };

template <typename S>
struct CounterField {
  std::uint64_t S::*member;
  const char* metric;  // full Prometheus name
  const char* label;   // `name="value"`, or "" for an unlabelled metric
  MetricType type;
  const char* help;
};

#define STICKY_COUNTER_FIELD(field, metric, label, type, help) std::uint64_t field = 0;
#define STICKY_COUNTER_ROW(S, field, metric, label, type, help) \
  CounterField<S>{&S::field, metric, label, MetricType::type, help},

// Every field of `from` added to `into` (gauges too: per-worker gauges add up to the process's).
template <typename S, std::size_t N>
void add_fields(S& into, const S& from, const CounterField<S> (&fields)[N]) {
  for (const CounterField<S>& f : fields) into.*f.member += from.*f.member;
}

}  // namespace sticky
