// Plain HSAF configuration (filled by the config-file layer) and its validation into error/warning lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hsaf/assignment.h"
#include "hsaf/serial.h"
#include "hsaf/url_normalizer.h"

namespace sticky::hsaf {

enum class Tier : std::uint8_t {
  Edge = 0,    // one serial set, one region (plus optional overflow)
  Parent = 1,  // two disjoint serial sets, two regions visited in random order (plus optional overflow)
};

enum class SerialSource : std::uint8_t {
  Url = 0,     // host + path [+ query], normalised per HsafConfig::url
  Custom = 1,  // a value HAProxy extracted (the "custom extracted serial"), hashed as given
};

struct RegionConfig {
  std::string name;     // for logs and results, e.g. "eu-west"
  std::string backend;  // HAProxy backend holding this region's peers
};

struct HsafConfig {
  Tier tier = Tier::Edge;
  SerialSource source = SerialSource::Url;
  UrlNormalization url;
  SerialRange serials{100, 500};    // edge: the serial set; parent: set 1, used in `region`
  SerialRange serials2{600, 1000};  // parent only: set 2, used in `other_region`
  RegionConfig region;              // edge: the local region; parent: region of set 1
  RegionConfig other_region;        // parent only: region of set 2
  RegionConfig overflow;            // optional (empty backend = none): stands in for a region with no usable peer
  AssignmentOptions assignment;
};

struct ConfigReport {
  std::vector<std::string> errors;    // any error: the config must be rejected
  std::vector<std::string> warnings;  // valid but questionable (e.g. a non-prime serial count)
  bool ok() const { return errors.empty(); }
};

ConfigReport validate_config(const HsafConfig& cfg);

}  // namespace sticky::hsaf
