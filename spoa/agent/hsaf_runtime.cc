// Config mapping and router rebuilds for Hash Serial and Forward.
#include "agent/hsaf_runtime.h"

#include "base/log.h"

namespace sticky::agent {

namespace {

hsaf::QueryMode to_query(config::HsafQueryMode q) {
  switch (q) {
    case config::HsafQueryMode::Keep: return hsaf::QueryMode::Keep;
    case config::HsafQueryMode::Drop: return hsaf::QueryMode::Drop;
    case config::HsafQueryMode::Params: return hsaf::QueryMode::Params;
  }
  return hsaf::QueryMode::Keep;
}

hsaf::HsafConfig map_profile(const config::HsafProfile& p) {
  hsaf::HsafConfig c;
  c.tier = p.tiers.size() >= 2 ? hsaf::Tier::Parent : hsaf::Tier::Edge;
  c.source = p.input.mode == config::HsafInputMode::Custom ? hsaf::SerialSource::Custom : hsaf::SerialSource::Url;
  c.url.query = to_query(p.input.query);
  c.url.params = p.input.params;
  c.url.lowercase_path = p.input.lowercase_path;
  if (!p.tiers.empty()) c.serials = {p.tiers[0].min, p.tiers[0].max};
  if (p.tiers.size() >= 2) c.serials2 = {p.tiers[1].min, p.tiers[1].max};
  if (!p.regions.empty()) c.region = {p.regions[0].name, p.regions[0].backend};
  if (p.regions.size() >= 2) c.other_region = {p.regions[1].name, p.regions[1].backend};
  if (p.overflow) c.overflow = {p.overflow->name, p.overflow->backend};
  return c;
}

}  // namespace

std::shared_ptr<HsafProfiles> HsafRuntime::prepare(const config::Config& cfg, std::vector<std::string>& errors,
                                                  std::vector<std::string>& warnings) {
  const std::size_t errors_before = errors.size();
  auto out = std::make_shared<HsafProfiles>();
  for (const config::HsafProfile& p : cfg.hsaf) {
    auto pr = std::make_unique<HsafProfileRuntime>();
    pr->name = p.name;
    pr->config = map_profile(p);
    const hsaf::ConfigReport report = hsaf::validate_config(pr->config);
    for (const auto& e : report.errors) errors.push_back(cfg.source + ": hsaf '" + p.name + "': " + e);
    for (const auto& w : report.warnings) warnings.push_back(cfg.source + ": hsaf '" + p.name + "': " + w);
    out->profiles_.push_back(std::move(pr));
  }
  if (errors.size() != errors_before) return nullptr;
  return out;
}

std::unique_ptr<HsafRuntime> HsafRuntime::build(const config::Config& cfg, std::vector<std::string>& errors,
                                                std::vector<std::string>& warnings) {
  std::shared_ptr<HsafProfiles> first = prepare(cfg, errors, warnings);
  if (!first) return nullptr;
  std::unique_ptr<HsafRuntime> rt(new HsafRuntime());
  rt->current_.publish(std::move(first));
  return rt;
}

void HsafRuntime::apply(std::shared_ptr<HsafProfiles> next, const health::ServerView* view) {
  std::lock_guard<std::mutex> lock(rebuild_mutex_);  // a view delivered from now on lands on `next`
  if (view) rebuild(*next, *view);
  current_.publish(std::move(next));
}

int HsafProfiles::find(std::string_view profile) const {
  for (std::size_t i = 0; i < profiles_.size(); ++i)
    if (profiles_[i]->name == profile) return static_cast<int>(i);
  return -1;
}

void HsafRuntime::follow(const health::ServerView& view) {
  std::lock_guard<std::mutex> lock(rebuild_mutex_);
  const HsafProfilesPtr now = current_.get();
  rebuild(*now, view);
}

void HsafRuntime::rebuild(const HsafProfiles& profiles, const health::ServerView& view) {
  for (auto& p : profiles.profiles_) {
    hsaf::HsafBackends b;
    b.region = view.find(p->config.region.backend);
    if (p->config.tier == hsaf::Tier::Parent) b.other_region = view.find(p->config.other_region.backend);
    if (!p->config.overflow.backend.empty()) b.overflow = view.find(p->config.overflow.backend);
    if (p->router.get() && b.region == p->built_from.region && b.other_region == p->built_from.other_region &&
        b.overflow == p->built_from.overflow)
      continue;  // the poller hands back the same set objects while nothing changed
    hsaf::RouterBuild built = hsaf::Router::build(p->config, b);
    if (!built.router) {
      for (const auto& e : built.errors) STICKY_LOG(Warn, "hsaf '%s': %s", p->name.c_str(), e.c_str());
      continue;  // keep routing with the previous router
    }
    p->built_from = b;
    p->router.publish(std::move(built.router));
  }
}

void HsafRuntime::merge_counters(hsaf::HsafCounters& from) {
  std::lock_guard<std::mutex> lock(totals_mutex_);
  add_fields(totals_, from, hsaf::kHsafCounterFields);
  from = hsaf::HsafCounters{};
}

hsaf::HsafCounters HsafRuntime::totals() const {
  std::lock_guard<std::mutex> lock(totals_mutex_);
  return totals_;
}

}  // namespace sticky::agent
