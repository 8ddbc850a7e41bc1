// Every counter a layer keeps is on /metrics: each list (base/counter_list.h) is filled with
// distinct values through its struct, rendered by the agent's own render functions, and every
// field must come back under its name and label with its value, once.
#include "agent/persist_metrics.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "metrics/exporter.h"

using namespace sticky;

namespace {

// "name{label} value" -> value, failing on a sample seen twice; HELP lines collected by name.
struct Page {
  std::map<std::string, std::string> samples;
  std::set<std::string> helped;
  std::set<std::string> duplicates;
};

Page parse(const std::string& text) {
  Page p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      p.helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const std::size_t sp = line.rfind(' ');
    const std::string key = line.substr(0, sp);
    if (!p.samples.emplace(key, line.substr(sp + 1)).second) p.duplicates.insert(key);
  }
  return p;
}

std::string sample_key(const char* metric, const char* label) {
  return *label ? std::string(metric) + "{" + label + "}" : std::string(metric);
}

// Sets field i to base + i and returns the values in list order.
template <typename S, std::size_t N>
void fill(S& s, const CounterField<S> (&fields)[N], std::uint64_t base) {
  for (std::size_t i = 0; i < N; ++i) s.*fields[i].member = base + i;
}

template <typename S, std::size_t N>
void require_exported(const Page& page, const CounterField<S> (&fields)[N], std::uint64_t base) {
  for (std::size_t i = 0; i < N; ++i) {
    const std::string key = sample_key(fields[i].metric, fields[i].label);
    INFO(key);
    const auto it = page.samples.find(key);
    REQUIRE(it != page.samples.end());
    CHECK(it->second == std::to_string(base + i));
    CHECK(page.helped.count(fields[i].metric) == 1);
  }
}

// A list that covers its whole struct: nothing kept outside the X-macro (and the histograms the
// struct lists in metrics::kHistogramFields, checked below).
template <typename S, std::size_t N>
constexpr bool covers(const CounterField<S> (&)[N]) {
  return sizeof(S) == N * sizeof(std::uint64_t) + metrics::kHistogramFields<S>.size() * sizeof(metrics::LatencyHistogram);
}

// Every histogram the struct lists comes back as a Prometheus histogram: HELP and TYPE once,
// cumulative buckets, the sum in seconds, the count.
template <typename S>
void require_histograms_exported(const std::string& text, const Page& page, const S& values) {
  REQUIRE(!metrics::kHistogramFields<S>.empty());
  for (const metrics::HistogramField<S>& h : metrics::kHistogramFields<S>) {
    const std::string name = h.metric;
    INFO(name);
    CHECK(page.helped.count(name) == 1);
    CHECK(text.find("# TYPE " + name + " histogram\n") != std::string::npos);
    const metrics::LatencyHistogram& v = values.*h.member;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < metrics::kLatencyBuckets; ++b) {
      cumulative += v.buckets[b];
      char le[32];
      if (b < metrics::kLatencyBoundsUs.size()) std::snprintf(le, sizeof le, "%g", metrics::kLatencyBoundsUs[b] / 1e6);
      else std::snprintf(le, sizeof le, "+Inf");
      const std::string key = name + "_bucket{le=\"" + le + "\"}";
      INFO(key);
      REQUIRE(page.samples.count(key) == 1);
      CHECK(page.samples.at(key) == std::to_string(cumulative));
    }
    CHECK(page.samples.at(name + "_count") == std::to_string(cumulative));
    CHECK(std::stod(page.samples.at(name + "_sum")) == Approx(static_cast<double>(v.sum_ns) / 1e9));
  }
}
static_assert(covers(store::kStickyTableCounterFields));
static_assert(covers(store::kRedisCounterFields));
static_assert(covers(hsaf::kHsafCounterFields));
static_assert(covers(agent::kHandlerCounterFields));

}  // namespace

TEST_CASE("every sticky table counter is exported") {
  store::StickyTableCounters c;
  fill(c, store::kStickyTableCounterFields, 1000);
  std::string out;
  agent::render_table_counters(c, out);
  const Page page = parse(out);
  CHECK(page.duplicates.empty());
  require_exported(page, store::kStickyTableCounterFields, 1000);
  // The names dashboards already use stay.
  CHECK(page.samples.count("sticky_table_evicted_total") == 1);
  CHECK(page.samples.count("sticky_table_remote_total{outcome=\"ignored_older\"}") == 1);
  CHECK(page.samples.count("sticky_table_rejected_total{reason=\"bad_key\"}") == 1);
}

TEST_CASE("every Redis counter is exported, with the store's applied and foreign records") {
  store::RedisCounters c;
  fill(c, store::kRedisCounterFields, 2000);
  for (std::size_t b = 0; b < metrics::kLatencyBuckets; ++b) c.command_seconds.buckets[b] = 10 + b;
  c.command_seconds.sum_ns = 1'500'000'000;
  std::string out;
  agent::render_redis_counters(c, 77, 78, out);
  const Page page = parse(out);
  CHECK(page.duplicates.empty());
  require_exported(page, store::kRedisCounterFields, 2000);
  require_histograms_exported(out, page, c);
  CHECK(page.samples.at("sticky_redis_command_seconds_bucket{le=\"2.5e-05\"}") == "10");
  CHECK(page.samples.at("sticky_redis_command_seconds_count") == std::to_string(13 * 10 + 78));
  std::size_t write_failures = 0;
  while (store::kRedisCounterFields[write_failures].member != &store::RedisCounters::write_failures) ++write_failures;
  CHECK(page.samples.at("sticky_redis_write_failures_total") == std::to_string(2000 + write_failures));
  CHECK(page.samples.at("sticky_redis_applied_total") == "77");
  CHECK(page.samples.at("sticky_redis_foreign_total") == "78");
}

TEST_CASE("every persistence counter is exported: engine, identity, handlers, by reason and kind") {
  agent::PersistTotals t;
  fill(t.counters, policy::kPersistCounterFields, 3000);
  fill(t.counters.identity, policy::kIdentityCounterFields, 3100);
  fill(t.handler, agent::kHandlerCounterFields, 3200);
  for (std::size_t i = 0; i < t.counters.decisions.size(); ++i) t.counters.decisions[i] = 3300 + i;
  for (std::size_t i = 0; i < t.counters.identity.resolved.size(); ++i) t.counters.identity.resolved[i] = 3400 + i;
  for (std::size_t i = 0; i < t.counters.identity.agent_cookie_rejected.size(); ++i)
    t.counters.identity.agent_cookie_rejected[i] = 3500 + i;
  std::string out;
  agent::render_persist_counters(t, out);
  const Page page = parse(out);
  CHECK(page.duplicates.empty());
  require_exported(page, policy::kPersistCounterFields, 3000);
  require_exported(page, policy::kIdentityCounterFields, 3100);
  require_exported(page, agent::kHandlerCounterFields, 3200);
  for (std::size_t i = 0; i < policy::kPinReasonCount; ++i) {
    const std::string key = "sticky_persist_decisions_total{reason=\"" +
                            std::string(policy::pin_reason_name(static_cast<policy::PinReason>(i))) + "\"}";
    INFO(key);
    REQUIRE(page.samples.count(key) == 1);
    CHECK(page.samples.at(key) == std::to_string(3300 + i));
  }
  for (std::size_t i = 0; i < policy::kIdentityKindCount; ++i) {
    const std::string key = "sticky_identity_resolved_total{kind=\"" +
                            std::string(policy::identity_kind_name(static_cast<policy::IdentityKind>(i))) + "\"}";
    INFO(key);
    REQUIRE(page.samples.count(key) == 1);
    CHECK(page.samples.at(key) == std::to_string(3400 + i));
  }
  // Slot 0 is a valid cookie: not a rejection, never counted; every other status is exported.
  for (std::size_t i = 1; i < policy::kCookieStatusCount; ++i) {
    const std::string key = "sticky_agent_cookie_rejected_total{status=\"" +
                            std::string(policy::cookie_status_name(static_cast<policy::CookieStatus>(i))) + "\"}";
    INFO(key);
    REQUIRE(page.samples.count(key) == 1);
    CHECK(page.samples.at(key) == std::to_string(3500 + i));
  }
}

TEST_CASE("every health poller counter is exported, and whether the view is static") {
  health::HealthCounters c;
  fill(c, health::kHealthCounterFields, 4000);
  c.on_static_fallback = false;
  std::string out;
  agent::render_health_counters(c, out);
  const Page page = parse(out);
  CHECK(page.duplicates.empty());
  require_exported(page, health::kHealthCounterFields, 4000);
  CHECK(page.samples.at("sticky_health_static_fallback") == "0");
}

TEST_CASE("every HSAF counter is exported") {
  hsaf::HsafCounters c;
  fill(c, hsaf::kHsafCounterFields, 5000);
  std::string out;
  metrics::append_counters(out, c, hsaf::kHsafCounterFields);
  const Page page = parse(out);
  CHECK(page.duplicates.empty());
  require_exported(page, hsaf::kHsafCounterFields, 5000);
}

TEST_CASE("a labelled family gets one HELP and TYPE, its samples follow") {
  std::string out;
  store::StickyTableCounters c;
  agent::render_table_counters(c, out);
  std::size_t helps = 0;
  for (std::size_t at = 0; (at = out.find("# HELP sticky_table_rejected_total ", at)) != std::string::npos; ++at)
    ++helps;
  CHECK(helps == 1);
  CHECK(out.find("# TYPE sticky_table_rejected_total counter\nsticky_table_rejected_total{reason=\"bad_key\"} 0\n"
                 "sticky_table_rejected_total{reason=\"bad_server\"} 0\n") != std::string::npos);
}
