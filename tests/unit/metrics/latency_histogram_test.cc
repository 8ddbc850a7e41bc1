// Latency histograms: bucket choice, merging workers, and the Prometheus rendering (the decode-to-ACK
// histogram of the shards, and any histogram through append_histogram).
#include <catch2/catch.hpp>

#include <string>

#include "metrics/counters.h"
#include "metrics/exporter.h"

using namespace sticky::metrics;

TEST_CASE("latencies land in the first bucket whose bound they do not exceed", "[metrics][latency]") {
  Shard s;
  s.observe_latency_ns(10'000);       // 10 us  -> le 25us
  s.observe_latency_ns(25'000);       // 25 us  -> le 25us (bounds are inclusive)
  s.observe_latency_ns(26'000);       // 26 us  -> le 50us
  s.observe_latency_ns(3'000'000);    // 3 ms   -> le 5ms
  s.observe_latency_ns(900'000'000);  // 900 ms -> +Inf
  CHECK(s.latency.buckets[0].load() == 2);
  CHECK(s.latency.buckets[1].load() == 1);
  CHECK(s.latency.buckets[7].load() == 1);
  CHECK(s.latency.buckets[kLatencyBuckets - 1].load() == 1);
  CHECK(s.latency.sum_ns.load() == 10'000 + 25'000 + 26'000 + 3'000'000 + 900'000'000);
}

TEST_CASE("the histogram is rendered cumulatively over every shard", "[metrics][latency]") {
  Shard a, b;
  a.observe_latency_ns(20'000);
  b.observe_latency_ns(20'000);
  b.observe_latency_ns(2'000'000);
  const std::string out = render_prometheus({&a, &b}, {});
  CHECK(out.find("# TYPE sticky_request_latency_seconds histogram\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_bucket{le=\"2.5e-05\"} 2\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_bucket{le=\"0.001\"} 2\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_bucket{le=\"0.0025\"} 3\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_count 3\n") != std::string::npos);
  CHECK(out.find("sticky_request_latency_seconds_sum 0.002040000\n") != std::string::npos);
}

TEST_CASE("workers' histograms merge bucket by bucket, plain and atomic alike", "[metrics][latency]") {
  LatencyHistogram a;  // a worker's plain copy (as the Redis counters keep it)
  SharedLatencyHistogram b;  // a shard the exporter reads live
  a.observe_ns(30'000);      // le 50us
  a.observe_ns(30'000);
  a.observe_ns(200'000'000);  // +Inf
  b.observe_ns(40'000);       // le 50us
  b.observe_ns(7'000'000);    // le 10ms
  LatencyHistogram total;
  add_histogram(total, a);
  add_histogram(total, b);
  CHECK(total.buckets[1] == 3);
  CHECK(total.buckets[8] == 1);
  CHECK(total.buckets[kLatencyBuckets - 1] == 1);
  CHECK(histogram_count(total) == 5);
  CHECK(total.sum_ns == 30'000 + 30'000 + 200'000'000 + 40'000 + 7'000'000);
  // Merging is a sum: adding the same worker again doubles every bucket, nothing else moves.
  add_histogram(total, a);
  CHECK(total.buckets[1] == 5);
  CHECK(total.buckets[kLatencyBuckets - 1] == 2);
  CHECK(histogram_count(total) == 8);
}

TEST_CASE("append_histogram renders cumulative buckets, the sum in seconds and the count", "[metrics][latency]") {
  LatencyHistogram h;
  h.observe_ns(100'000);    // le 100us (inclusive)
  h.observe_ns(100'001);    // still 100 us once truncated to microseconds
  h.observe_ns(101'000);    // le 250us
  h.observe_ns(60'000'000); // le 100ms
  std::string out;
  append_histogram(out, "x_seconds", "what it measures", h);
  CHECK(out.rfind("# HELP x_seconds what it measures\n# TYPE x_seconds histogram\n", 0) == 0);
  CHECK(out.find("x_seconds_bucket{le=\"5e-05\"} 0\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.0001\"} 2\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.00025\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.05\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.1\"} 4\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(out.find("x_seconds_sum 0.060301001\n") != std::string::npos);
  CHECK(out.find("x_seconds_count 4\n") != std::string::npos);
}
