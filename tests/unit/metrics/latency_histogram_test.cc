// The decode-to-ACK latency histogram: bucket choice and the Prometheus rendering.
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
  CHECK(s.latency_buckets[0].load() == 2);
  CHECK(s.latency_buckets[1].load() == 1);
  CHECK(s.latency_buckets[7].load() == 1);
  CHECK(s.latency_buckets[kLatencyBuckets - 1].load() == 1);
  CHECK(s.latency_sum_ns.load() == 10'000 + 25'000 + 26'000 + 3'000'000 + 900'000'000);
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
