// Option tables for `hsaf:` profiles (input normalisation, serial tiers, regions) and their checks.
#include "config/options.h"

#include <algorithm>
#include <set>

#include "config/schema.h"

namespace sticky::config {
namespace {

constexpr EnumName<HsafInputMode> kInputModes[] = {{"url", HsafInputMode::Url}, {"custom", HsafInputMode::Custom}};
constexpr EnumName<HsafQueryMode> kQueryModes[] = {
    {"keep", HsafQueryMode::Keep}, {"drop", HsafQueryMode::Drop}, {"params", HsafQueryMode::Params}};

// Serials are small ranges chosen by the operator; the bound only catches typos like 10000000000.
constexpr std::uint64_t kMaxSerial = 1000000;

constexpr Field<HsafInput> kInputFields[] = {
    {.name = "mode", .type = FieldType::Custom, .target = &parse_enum<HsafInput, HsafInputMode, &HsafInput::mode, kInputModes>,
     .help = "url = hash the request URL; custom = hash the SPOE `hsaf_key` argument"},
    {.name = "query", .type = FieldType::Custom,
     .target = &parse_enum<HsafInput, HsafQueryMode, &HsafInput::query, kQueryModes>,
     .help = "keep | drop | params (keep only the listed parameters)"},
    {.name = "params", .type = FieldType::StringList, .target = &HsafInput::params,
     .help = "query parameters kept when query = params"},
    {.name = "lowercase_path", .type = FieldType::Bool, .target = &HsafInput::lowercase_path,
     .help = "fold the path to lower case before hashing"},
};

constexpr Field<HsafTier> kTierFields[] = {
    {.name = "min", .type = FieldType::Uint, .target = &HsafTier::min, .max = kMaxSerial, .required = true,
     .help = "first serial of the tier"},
    {.name = "max", .type = FieldType::Uint, .target = &HsafTier::max, .max = kMaxSerial, .required = true,
     .help = "last serial of the tier (inclusive)"},
};

constexpr Field<HsafRegion> kRegionFields[] = {
    {.name = "name", .type = FieldType::String, .target = &HsafRegion::name, .required = true,
     .help = "region label"},
    {.name = "backend", .type = FieldType::Name, .target = &HsafRegion::backend, .required = true,
     .help = "HAProxy backend serving the region"},
};

void parse_input(const YAML::Node& n, HsafProfile& h, Diagnostics& d, const std::string& path) {
  apply_fields(n, std::span<const Field<HsafInput>>(kInputFields), h.input, d, path);
  if (!n.IsMap()) return;
  if (h.input.query == HsafQueryMode::Params && h.input.params.empty())
    d.error(n.Mark(), join_path(path, "params"), "query: params needs at least one parameter name");
  if (h.input.query != HsafQueryMode::Params && !h.input.params.empty())
    d.warning(n["params"].Mark(), join_path(path, "params"), "ignored unless query is 'params'");
}

void parse_tiers(const YAML::Node& n, HsafProfile& h, Diagnostics& d, const std::string& path) {
  parse_section_list<HsafTier, kTierFields>(n, h.tiers, d, path);
  if (!n.IsSequence()) return;
  if (h.tiers.empty() || h.tiers.size() > 2)
    d.error(n.Mark(), path, "give 1 tier (edge) or 2 disjoint tiers (parent), not " + std::to_string(h.tiers.size()));
  bool complete = true;  // a tier missing a bound was reported already; comparing it would only add noise
  for (std::size_t i = 0; i < h.tiers.size(); ++i) {
    if (!n[i].IsMap() || !n[i]["min"] || !n[i]["max"]) {
      complete = false;
      continue;
    }
    if (h.tiers[i].min > h.tiers[i].max)
      d.error(n[i].Mark(), path + "[" + std::to_string(i) + "]",
              "min " + std::to_string(h.tiers[i].min) + " is above max " + std::to_string(h.tiers[i].max));
  }
  if (complete && h.tiers.size() == 2) {
    const HsafTier& a = h.tiers[0];
    const HsafTier& b = h.tiers[1];
    if (a.min <= b.max && b.min <= a.max)
      d.error(n[1].Mark(), path + "[1]", "tier overlaps tier 0: serial ranges must be disjoint");
  }
}

void parse_regions(const YAML::Node& n, HsafProfile& h, Diagnostics& d, const std::string& path) {
  parse_section_list<HsafRegion, kRegionFields>(n, h.regions, d, path);
  if (!n.IsSequence()) return;
  if (h.regions.empty() || h.regions.size() > 2)
    d.error(n.Mark(), path, "give 1 or 2 regions, not " + std::to_string(h.regions.size()));
  if (h.regions.size() == 2) {
    if (h.regions[0].name == h.regions[1].name)
      d.error(n[1].Mark(), path + "[1]", "region name '" + h.regions[1].name + "' is used twice");
    if (h.regions[0].backend == h.regions[1].backend)
      d.error(n[1].Mark(), path + "[1]", "both regions use backend '" + h.regions[1].backend + "'");
  }
}

void parse_overflow(const YAML::Node& n, HsafProfile& h, Diagnostics& d, const std::string& path) {
  HsafRegion r;
  apply_fields(n, std::span<const Field<HsafRegion>>(kRegionFields), r, d, path);
  h.overflow = std::move(r);
}

void parse_servers_map(const YAML::Node& n, HsafProfile& h, Diagnostics& d, const std::string& path) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    d.error(n.Mark(), path, "expected a mapping: backend name -> [{name, weight}, ...]");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;  // copies: the iterator hands out a temporary pair
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      d.error(key.Mark(), path, "keys must be backend names");
      continue;
    }
    const std::string backend = key.Scalar();
    std::string item_path = join_path(path, backend);
    if (h.servers.contains(backend)) {
      d.error(key.Mark(), item_path, "key given twice");
      continue;
    }
    parse_static_servers(value, h.servers[backend], d, item_path);
  }
}

constexpr Field<HsafProfile> kHsafFields[] = {
    {.name = "name", .type = FieldType::String, .target = &HsafProfile::name, .required = true,
     .help = "profile name, selected by the SPOE `hsaf` argument"},
    {.name = "input", .type = FieldType::Custom, .target = &parse_input, .help = "what is hashed"},
    {.name = "tiers", .type = FieldType::Custom, .target = &parse_tiers, .required = true,
     .help = "[{min, max}] serial ranges: 1 = edge, 2 disjoint = parent"},
    {.name = "regions", .type = FieldType::Custom, .target = &parse_regions, .required = true,
     .help = "[{name, backend}] 1 or 2 regions"},
    {.name = "overflow", .type = FieldType::Custom, .target = &parse_overflow,
     .help = "{name, backend} used when a region has no usable server"},
    {.name = "servers", .type = FieldType::Custom, .target = &parse_servers_map,
     .help = "backend -> [{name, weight}] static fallback"},
};

void check_profile(const YAML::Node& n, const HsafProfile& h, Diagnostics& d, const std::string& path) {
  std::set<std::string, std::less<>> backends;
  for (const HsafRegion& r : h.regions) backends.insert(r.backend);
  if (h.overflow) {
    if (backends.contains(h.overflow->backend))
      d.error(n["overflow"].Mark(), join_path(path, "overflow"),
              "overflow backend '" + h.overflow->backend + "' is also a region backend");
    backends.insert(h.overflow->backend);
  }
  if (!n["servers"]) return;
  const YAML::Node servers = n["servers"];
  for (auto it = servers.begin(); it != servers.end(); ++it) {
    const YAML::Node key = it->first;
    if (key.IsScalar() && !backends.contains(key.Scalar()))
      d.error(key.Mark(), join_path(join_path(path, "servers"), key.Scalar()),
              "backend '" + key.Scalar() + "' is not a region or overflow backend of this profile");
  }
}

}  // namespace

void parse_hsaf_profiles(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    d.error(n.Mark(), path, "expected a list of profiles");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    HsafProfile h;
    std::string item_path = path + "[" + std::to_string(i) + "]";
    apply_fields(n[i], std::span<const Field<HsafProfile>>(kHsafFields), h, d, item_path);
    if (n[i].IsMap()) check_profile(n[i], h, d, item_path);
    cfg.hsaf.push_back(std::move(h));
  }
}

std::string describe_hsaf_options() {
  std::string out;
  describe_fields(std::span<const Field<HsafProfile>>(kHsafFields), HsafProfile{}, "hsaf[]", out);
  describe_fields(std::span<const Field<HsafInput>>(kInputFields), HsafInput{}, "hsaf[].input", out);
  describe_fields(std::span<const Field<HsafTier>>(kTierFields), HsafTier{}, "hsaf[].tiers[]", out);
  describe_fields(std::span<const Field<HsafRegion>>(kRegionFields), HsafRegion{}, "hsaf[].regions[]", out);
  return out;
}

}  // namespace sticky::config
