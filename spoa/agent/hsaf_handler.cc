// Maps the hsaf message to the router and the route back to HAProxy variables.
#include "agent/hsaf_handler.h"

#include <algorithm>
#include <cstdio>

namespace sticky::agent {

namespace {
std::string_view text_arg(const spop::Message& msg, std::string_view name) {
  const spop::Arg* a = msg.find(name);
  return a && a->value.is_text() ? a->value.bytes : std::string_view{};
}
}  // namespace

const HsafProfiles& HsafHandler::profiles() {
  if (const std::uint64_t v = runtime_.slot().version(); v != generation_version_) {
    generation_ = runtime_.slot().get();
    generation_version_ = v;
    routers_.assign(generation_->size(), {});  // router caches belong to one generation
  }
  return *generation_;
}

void HsafHandler::on_message(const spop::Message& msg, model::Reply& reply) {
  model::ActionList& out = reply.actions();
  const HsafProfiles& profiles = this->profiles();
  const int p = profiles.find(text_arg(msg, "profile"));
  if (p < 0) {
    ++counters_.bad_input;
    out.set_string("hsaf_status", "unknown-profile");
    return;
  }
  const hsaf::Router* router = routers_[static_cast<std::size_t>(p)].get(profiles.profile(p).router);
  if (!router) {
    ++counters_.no_peer;
    out.set_string("hsaf_status", "no-servers-yet");
    return;
  }
  const std::uint64_t coin = coin_.next();
  const hsaf::Route r = router->config().source == hsaf::SerialSource::Custom
                            ? router->route_custom(text_arg(msg, "key"), coin, counters_)
                            : router->route_url(text_arg(msg, "host"), text_arg(msg, "url"), coin, counters_);
  out.set_string("hsaf_status", hsaf::route_status_name(r.status));
  if (r.status == hsaf::RouteStatus::BadInput) return;
  out.set_int("hsaf_serial", r.serial1);
  if (r.has_serial2) out.set_int("hsaf_serial2", r.serial2);
  out.set_int("hsaf_bucket", r.bucket);
  if (r.overflow != hsaf::Overflow::None) out.set_string("hsaf_overflow", hsaf::overflow_reason(r.overflow));
  if (r.hop_count >= 1) {
    out.set_string("hsaf_be", r.hops[0].backend);
    out.set_string("hsaf_peer", r.hops[0].peer);
    out.set_string("hsaf_region", r.hops[0].region);
  }
  if (r.hop_count >= 2) {
    out.set_string("hsaf_be2", r.hops[1].backend);
    out.set_string("hsaf_peer2", r.hops[1].peer);
    out.set_string("hsaf_region2", r.hops[1].region);
    char order[128];
    const int n = std::snprintf(order, sizeof order, "%.*s,%.*s", static_cast<int>(r.hops[0].region.size()),
                                r.hops[0].region.data(), static_cast<int>(r.hops[1].region.size()),
                                r.hops[1].region.data());
    if (n > 0) out.set_string("hsaf_order", std::string_view(order, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof order - 1)));
  }
}

}  // namespace sticky::agent
