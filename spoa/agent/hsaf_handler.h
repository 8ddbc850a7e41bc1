// The `hsaf` SPOE message: hash the request into serial(s) and name the peer(s) to forward to.
//
//   args: profile (the hsaf profile name), host, url (path and query) or key (custom value)
//   answers (txn.<prefix>.*): hsaf_serial, hsaf_serial2, hsaf_bucket, hsaf_be, hsaf_peer,
//     hsaf_region, hsaf_be2, hsaf_peer2, hsaf_region2, hsaf_order, hsaf_overflow, hsaf_status
#pragma once

#include <vector>

#include "agent/hsaf_runtime.h"
#include "hsaf/split_mix.h"
#include "model/handler.h"

namespace sticky::agent {

class HsafHandler final : public model::MessageHandler {
 public:
  HsafHandler(HsafRuntime& runtime, std::uint64_t seed) : runtime_(runtime), coin_(seed) {}
  void on_message(const spop::Message& msg, model::Reply& reply) override;
  void publish_counters() { runtime_.merge_counters(counters_); }

 private:
  // The config generation, refreshed when a reload published a new one (one atomic load).
  const HsafProfiles& profiles();

  HsafRuntime& runtime_;
  HsafProfilesPtr generation_;
  std::uint64_t generation_version_ = 0;
  hsaf::SplitMix64 coin_;  // per worker: the random first-hop region, no shared state
  std::vector<CachedView<hsaf::Router>> routers_;
  hsaf::HsafCounters counters_;
};

}  // namespace sticky::agent
