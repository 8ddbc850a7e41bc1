// Validation of HsafConfig: every problem is reported, each as one self-contained sentence.
#include "hsaf/hsaf_config.h"

namespace sticky::hsaf {

namespace {

void check_region(const char* what, const RegionConfig& r, std::vector<std::string>& errors) {
  if (r.name.empty()) errors.push_back(std::string(what) + ".name is empty");
  if (r.backend.empty()) errors.push_back(std::string(what) + ".backend is empty");
}

std::string range_text(const SerialRange& r) { return std::to_string(r.min) + ".." + std::to_string(r.max); }

}  // namespace

ConfigReport validate_config(const HsafConfig& cfg) {
  ConfigReport rep;
  auto& errors = rep.errors;
  for (std::string& e : validate_url_normalization(cfg.url)) errors.push_back(std::move(e));
  check_serial_range("serials", cfg.serials, errors, rep.warnings);
  check_region("region", cfg.region, errors);

  if (cfg.tier == Tier::Parent) {
    check_serial_range("serials2", cfg.serials2, errors, rep.warnings);
    if (cfg.serials.min <= cfg.serials.max && cfg.serials2.min <= cfg.serials2.max &&
        cfg.serials.overlaps(cfg.serials2))
      errors.push_back("parent tier serial sets overlap: serials " + range_text(cfg.serials) + " and serials2 " +
                       range_text(cfg.serials2) + " must be disjoint so the two serials stay distinguishable");
    check_region("other_region", cfg.other_region, errors);
    if (!cfg.region.backend.empty() && cfg.region.backend == cfg.other_region.backend)
      errors.push_back("region and other_region both use backend '" + cfg.region.backend +
                       "'; the second hop must go to a different region");
    if (!cfg.region.name.empty() && cfg.region.name == cfg.other_region.name)
      errors.push_back("region and other_region are both named '" + cfg.region.name + "'");
  }

  if (!cfg.overflow.backend.empty() || !cfg.overflow.name.empty()) {
    check_region("overflow", cfg.overflow, errors);
    if (cfg.overflow.backend == cfg.region.backend ||
        (cfg.tier == Tier::Parent && cfg.overflow.backend == cfg.other_region.backend))
      errors.push_back("overflow backend '" + cfg.overflow.backend +
                       "' is also a regular region; an overflow region must be a different backend");
  }
  if (cfg.assignment.balance_slack_permille > 1000)
    errors.push_back("assignment.balance_slack_permille is " + std::to_string(cfg.assignment.balance_slack_permille) +
                     "; it must be between 0 and 1000 (0% to 100% above a peer's fair share)");
  return rep;
}

}  // namespace sticky::hsaf
