// Hash Serial and Forward profiles from the agent config: one router per profile, rebuilt when
// HAProxy's view of any of its backends changes, shared by the workers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/view_slot.h"
#include "config/config.h"
#include "health/server_view.h"
#include "hsaf/router.h"

namespace sticky::agent {

struct HsafProfileRuntime {
  std::string name;
  hsaf::HsafConfig config;
  ViewSlot<hsaf::Router> router;
  hsaf::HsafBackends built_from;  // the sets the current router was built from
};

// One config generation's profiles, swapped whole by a reload (see PersistBackends).
class HsafProfiles {
 public:
  int find(std::string_view profile) const;
  HsafProfileRuntime& profile(int i) const { return *profiles_[static_cast<std::size_t>(i)]; }
  std::size_t size() const { return profiles_.size(); }

 private:
  friend class HsafRuntime;
  std::vector<std::unique_ptr<HsafProfileRuntime>> profiles_;
};
using HsafProfilesPtr = std::shared_ptr<const HsafProfiles>;

class HsafRuntime {
 public:
  // Maps and validates every profile; on failure returns null with the reasons in `errors`.
  static std::unique_ptr<HsafRuntime> build(const config::Config& cfg, std::vector<std::string>& errors,
                                            std::vector<std::string>& warnings);

  HsafProfilesPtr current() const { return current_.get(); }
  const ViewSlot<HsafProfiles>& slot() const { return current_; }

  // Reload: the next generation from `cfg` (null with `errors` when refused), then its swap with
  // routers built from the current server view.
  static std::shared_ptr<HsafProfiles> prepare(const config::Config& cfg, std::vector<std::string>& errors,
                                               std::vector<std::string>& warnings);
  void apply(std::shared_ptr<HsafProfiles> next, const health::ServerView* view);

  // Any thread: rebuilds each profile whose backends' sets changed.
  void follow(const health::ServerView& view);

  void merge_counters(hsaf::HsafCounters& from);
  hsaf::HsafCounters totals() const;

 private:
  HsafRuntime() = default;
  static void rebuild(const HsafProfiles& profiles, const health::ServerView& view);
  ViewSlot<HsafProfiles> current_;
  std::mutex rebuild_mutex_;
  mutable std::mutex totals_mutex_;
  hsaf::HsafCounters totals_;
};

}  // namespace sticky::agent
