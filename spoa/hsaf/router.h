// HSAF decision for one request: serial(s), bucket, and the peer per hop, from prebuilt tables.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/counter_list.h"
#include "hsaf/assignment.h"
#include "hsaf/hsaf_config.h"
#include "hsaf/url_normalizer.h"
#include "model/server_set.h"

namespace sticky::hsaf {

enum class RouteStatus : std::uint8_t {
  Ok = 0,        // at least one hop has a peer
  NoPeer = 1,    // neither the regions nor the overflow region has a usable peer
  BadInput = 2,  // the serial input was empty (no host and no path, or an empty custom value)
};

// Which hops the overflow region had to serve (bit 0: first hop, bit 1: second hop).
enum class Overflow : std::uint8_t { None = 0, FirstHop = 1, SecondHop = 2, BothHops = 3 };
std::string_view overflow_reason(Overflow o);
std::string_view route_status_name(RouteStatus s);

struct Hop {
  std::string_view region;   // views into the Router (and its ServerSets): valid while it lives
  std::string_view backend;
  std::string_view peer;     // the value for `use-server`
  std::int32_t peer_index = kNoPeer;  // index in that backend's ServerSet::servers
  std::uint32_t serial = 0;  // the serial that chose this peer
  bool via_overflow = false;
};

struct Route {
  RouteStatus status = RouteStatus::BadInput;
  std::uint32_t serial1 = 0;
  std::uint32_t serial2 = 0;   // parent tier only
  bool has_serial2 = false;
  std::uint32_t bucket = 0;    // edge: serial1 - min; parent: (serial1 - min1) * count2 + (serial2 - min2)
  std::uint8_t hop_count = 0;  // hops[0] is the first hop
  Hop hops[2];
  bool other_region_first = false;  // parent tier: the coin sent the request to other_region first
  Overflow overflow = Overflow::None;
};

// Plain counters; the caller owns one per worker and reads it for metrics.
// X(field, metric, label, type, help): the list the exporter walks (base/counter_list.h).
#define STICKY_HSAF_COUNTERS(X)                                                                          \
  X(routed, "sticky_hsaf_routed_total", "", Counter, "requests given a serial and a peer")              \
  X(bad_input, "sticky_hsaf_bad_input_total", "", Counter, "hsaf messages with no usable input or profile") \
  X(no_peer, "sticky_hsaf_no_peer_total", "", Counter, "hsaf requests with no usable peer anywhere")     \
  X(overflow_first_hop, "sticky_hsaf_overflow_total", "hop=\"first\"", Counter,                          \
    "hops sent to the overflow region, by hop")                                                         \
  X(overflow_second_hop, "sticky_hsaf_overflow_total", "hop=\"second\"", Counter, "")                    \
  X(hop_dropped, "sticky_hsaf_hop_dropped_total", "", Counter,                                          \
    "second hops dropped: their region and the overflow were empty, or both fell back to one overflow")  \
  X(first_hop_other_region, "sticky_hsaf_other_region_first_total", "", Counter,                        \
    "parent-tier requests whose first hop was the second region")

struct HsafCounters {
  STICKY_HSAF_COUNTERS(STICKY_COUNTER_FIELD)
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(HsafCounters, f, __VA_ARGS__)
inline constexpr CounterField<HsafCounters> kHsafCounterFields[] = {STICKY_HSAF_COUNTERS(STICKY_X)};
#undef STICKY_X

// The backends the router reads; each ServerSet's `backend` must match the config.
struct HsafBackends {
  model::ServerSetPtr region;
  model::ServerSetPtr other_region;  // parent tier only
  model::ServerSetPtr overflow;      // when configured
};

class Router;
struct RouterBuild {
  std::shared_ptr<const Router> router;  // null when errors is non-empty
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

// Immutable snapshot: built once per config or ServerSet version, shared read-only by workers.
// Routing allocates nothing and never throws.
class Router {
 public:
  static RouterBuild build(const HsafConfig& cfg, const HsafBackends& backends);
  // Its prebuilt hops hold views into its own config strings, so a copy would point into the original.
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Serial input from the Host header and the request target (path?query or absolute-form).
  Route route_url(std::string_view host, std::string_view target, std::uint64_t coin, HsafCounters& c) const;
  // Serial input from a value HAProxy extracted (SerialSource::Custom).
  Route route_custom(std::string_view value, std::uint64_t coin, HsafCounters& c) const;
  // From the two serial hashes directly (h2 ignored at the edge tier). `coin`'s top bit picks the
  // first-hop region in the parent tier, so any uniform 64-bit value gives an even split.
  Route route_hashes(std::uint64_t h1, std::uint64_t h2, std::uint64_t coin, HsafCounters& c) const;

  // Writes the normalised serial input into `out` (for logs and previews); see CharBufferSink.
  CharBufferSink normalized(std::string_view host, std::string_view target, std::span<char> out) const;

  const HsafConfig& config() const { return cfg_; }
  // The ServerSet versions the tables were built from, so callers know when to rebuild.
  std::uint64_t region_version() const { return region_.set ? region_.set->version : 0; }
  std::uint64_t other_region_version() const { return other_.set ? other_.set->version : 0; }
  std::uint64_t overflow_version() const { return overflow_.set ? overflow_.set->version : 0; }
  // Tables for inspection (metrics, dry-run previews, tests).
  const AssignmentTable& region_table() const { return region_.table1; }
  const AssignmentTable& other_region_table() const { return other_.table2; }

 private:
  explicit Router(const HsafConfig& cfg)
      : cfg_(cfg), normalizer_(cfg.url), div1_(cfg.serials), div2_(cfg.serials2) {}
  // One region's backend and its tables over serial set 1 and/or set 2.
  struct RegionTables {
    const RegionConfig* cfg = nullptr;
    model::ServerSetPtr set;
    AssignmentTable table1;
    AssignmentTable table2;
  };
  // Where the hops of one serial set come from: its region, or the overflow region standing in when the
  // region has no usable peer (decided at build, since it depends only on the tables).
  struct Slot {
    bool usable = false;                          // false: neither the region nor the overflow has a peer
    std::uint32_t serial_min = 0;
    std::vector<std::int32_t> peer_by_offset;     // the table's peer_of(serial_min + offset)
    std::vector<std::string_view> peer_names;     // by peer index, so a hop is filled without touching Server
    std::string_view region;
    std::string_view backend;
    bool via_overflow = false;
  };
  // Everything about a route that does not depend on the serials, for one value of the coin's top bit.
  // `route` is the finished result minus serials, bucket and per-hop peer/serial: routing copies it
  // and patches those in, instead of default-constructing a Route and setting every field.
  struct Plan {
    Route route;
    std::uint8_t slot[2] = {0, 0};  // the slot (serial set) of each hop
    HsafCounters counts;            // added to the caller's counters per route
    bool rare_counts = false;       // counts has overflow or dropped-hop increments
  };
  static void fill_hop(Hop& hop, const Slot& slot, std::uint32_t offset);
  // The body of route_hashes, inlined into each entry point so the hashes stay in registers.
  Route route_from_hashes(std::uint64_t h1, std::uint64_t h2, std::uint64_t coin, HsafCounters& c) const;
  void make_slots_and_plans();

  HsafConfig cfg_;
  UrlNormalizer normalizer_;
  RegionTables region_;
  RegionTables other_;
  RegionTables overflow_;
  SerialDivisor div1_;
  SerialDivisor div2_;
  Slot slots_[2];  // [0]: serial set 1 (region), [1]: serial set 2 (other_region, parent tier only)
  Plan plans_[2];  // by the coin's top bit; both equal at the edge tier
};

}  // namespace sticky::hsaf
