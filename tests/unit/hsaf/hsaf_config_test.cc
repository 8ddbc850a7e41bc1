// HsafConfig validation: tiers, disjoint serial sets, regions, overflow, slack; exact messages.
#include <catch2/catch.hpp>

#include <algorithm>

#include "hsaf/hsaf_config.h"

using namespace sticky::hsaf;

namespace {
HsafConfig edge() {
  HsafConfig c;
  c.region = {"eu-west", "be_eu_west"};
  return c;
}
HsafConfig parent() {
  HsafConfig c = edge();
  c.tier = Tier::Parent;
  c.serials = {100, 500};
  c.serials2 = {600, 1000};
  c.other_region = {"eu-central", "be_eu_central"};
  return c;
}
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST_CASE("a default edge and parent config with regions is valid and prime", "[hsaf_config]") {
  const ConfigReport e = validate_config(edge());
  CHECK(e.ok());
  CHECK(e.warnings.empty());
  const ConfigReport p = validate_config(parent());
  CHECK(p.ok());
  CHECK(p.warnings.empty());
}

TEST_CASE("overlapping parent serial sets are an error", "[hsaf_config]") {
  HsafConfig c = parent();
  c.serials2 = {500, 900};
  const ConfigReport r = validate_config(c);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] ==
        "parent tier serial sets overlap: serials 100..500 and serials2 500..900 must be disjoint so the two "
        "serials stay distinguishable");
  c.serials2 = {501, 901};
  CHECK(validate_config(c).ok());
}

TEST_CASE("the edge tier ignores serials2", "[hsaf_config]") {
  HsafConfig c = edge();
  c.serials2 = {300, 200};
  CHECK(validate_config(c).ok());
}

TEST_CASE("every problem is reported at once", "[hsaf_config]") {
  HsafConfig c = parent();
  c.serials = {500, 100};
  c.serials2 = {600, 999};
  c.other_region = {"", "be_eu_west"};
  c.url.query = QueryMode::Params;
  c.assignment.balance_slack_permille = 2000;
  const ConfigReport r = validate_config(c);
  CHECK(has(r.errors, "url.query is 'params' but no parameter names are listed"));
  CHECK(has(r.errors, "serials range 500..100 is empty: min is greater than max"));
  CHECK(has(r.errors, "other_region.name is empty"));
  CHECK(has(r.errors, "region and other_region both use backend 'be_eu_west'; the second hop must go to a "
                      "different region"));
  CHECK(has(r.errors, "assignment.balance_slack_permille is 2000; it must be between 0 and 1000 (0% to 100% "
                      "above a peer's fair share)"));
  CHECK(r.errors.size() == 5);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].rfind("serials2 range 600..999 holds 400 serials, which is not prime", 0) == 0);
}

TEST_CASE("an overflow region must be complete and distinct", "[hsaf_config]") {
  HsafConfig c = parent();
  c.overflow = {"us-east", ""};
  ConfigReport r = validate_config(c);
  CHECK(has(r.errors, "overflow.backend is empty"));
  c.overflow = {"us-east", "be_eu_central"};
  r = validate_config(c);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] ==
        "overflow backend 'be_eu_central' is also a regular region; an overflow region must be a different backend");
  c.overflow = {"us-east", "be_us_east"};
  CHECK(validate_config(c).ok());
}

TEST_CASE("a region without a name or backend is an error", "[hsaf_config]") {
  HsafConfig c;
  const ConfigReport r = validate_config(c);
  CHECK(has(r.errors, "region.name is empty"));
  CHECK(has(r.errors, "region.backend is empty"));
}
