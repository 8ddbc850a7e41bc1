// Scalar readers and messages shared by every option table.
#include "config/schema.h"

#include <unistd.h>

#include "config/units.h"
#include "config/validators.h"

namespace sticky::config {

std::string_view field_type_name(FieldType t) {
  switch (t) {
    case FieldType::String: return "string";
    case FieldType::Bool: return "bool";
    case FieldType::Uint: return "integer";
    case FieldType::Size: return "size";
    case FieldType::Interval: return "duration";
    case FieldType::StringList: return "list";
    case FieldType::Address: return "address";
    case FieldType::AddressList: return "address-list";
    case FieldType::CidrList: return "cidr-list";
    case FieldType::File: return "file";
    case FieldType::Name: return "name";
    case FieldType::Custom: return "section";
  }
  return "?";
}

namespace {

bool scalar(const YAML::Node& n, Diagnostics& d, const std::string& path, std::string_view what) {
  if (n.IsScalar()) return true;
  d.error(n.Mark(), path, "expected " + std::string(what) + (n.IsNull() ? ", got nothing" : ""));
  return false;
}

std::string bound_text(FieldType type, std::uint64_t v) {
  return type == FieldType::Interval ? format_duration(v) : std::to_string(v);
}

// Validates one string according to the field type; returns false after reporting.
bool check_value(const YAML::Node& n, FieldType type, bool unix_ok, Diagnostics& d, const std::string& path,
                 const std::string& v) {
  std::string_view why;
  if (type == FieldType::Address || type == FieldType::AddressList) why = check_address(v, unix_ok);
  if (type == FieldType::CidrList) why = check_cidr(v);
  if (type == FieldType::Name) why = check_haproxy_name(v);
  if (!why.empty()) {
    d.error(n.Mark(), path, "'" + v + "': " + std::string(why));
    return false;
  }
  return true;
}

}  // namespace

bool read_string(const YAML::Node& n, FieldType type, bool unix_ok, Diagnostics& d, const std::string& path,
                 std::string& out) {
  if (!scalar(n, d, path, "a string")) return false;
  std::string v = n.Scalar();
  if (!check_value(n, type, unix_ok, d, path, v)) return false;
  if (type == FieldType::File) {
    v = d.resolve_path(v);
    if (v.empty() || ::access(v.c_str(), R_OK) != 0) {
      d.error(n.Mark(), path, "cannot read file '" + v + "'");
      return false;
    }
  }
  out = std::move(v);
  return true;
}

bool read_bool(const YAML::Node& n, Diagnostics& d, const std::string& path, bool& out) {
  if (!scalar(n, d, path, "true or false")) return false;
  const std::string& v = n.Scalar();
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    d.error(n.Mark(), path, "'" + v + "' is not a boolean (use true or false)");
    return false;
  }
  return true;
}

bool read_number(const YAML::Node& n, FieldType type, std::uint64_t min, std::uint64_t max, Diagnostics& d,
                 const std::string& path, std::uint64_t& out) {
  std::string_view what = type == FieldType::Interval ? "a duration like 500ms, 3s, 30m"
                          : type == FieldType::Size   ? "a size like 4096 or 64m"
                                                      : "an integer";
  if (!scalar(n, d, path, what)) return false;
  const std::string& v = n.Scalar();
  ParsedNumber p = type == FieldType::Interval ? parse_duration_ms(v)
                   : type == FieldType::Size   ? parse_size(v)
                                               : parse_uint(v);
  if (!p.ok()) {
    d.error(n.Mark(), path, "'" + v + "': " + std::string(p.error));
    return false;
  }
  if (p.value < min || p.value > max) {
    d.error(n.Mark(), path,
            "'" + v + "' is out of range (" + bound_text(type, min) + ".." + bound_text(type, max) + ")");
    return false;
  }
  out = p.value;
  return true;
}

bool read_string_list(const YAML::Node& n, FieldType type, bool unix_ok, Diagnostics& d, const std::string& path,
                      std::vector<std::string>& out) {
  std::vector<std::string> items;
  bool ok = true;
  if (n.IsScalar()) {
    ok = check_value(n, type, unix_ok, d, path, n.Scalar());
    items.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!scalar(n[i], d, item_path, "a string")) {
        ok = false;
        continue;
      }
      ok = check_value(n[i], type, unix_ok, d, item_path, n[i].Scalar()) && ok;
      items.push_back(n[i].Scalar());
    }
  } else if (!n.IsNull()) {
    d.error(n.Mark(), path, "expected a list");
    return false;
  }
  if (ok) out = std::move(items);
  return ok;
}

void report_unknown_key(const YAML::Node& key, std::span<const std::string_view> known, Diagnostics& d,
                        const std::string& path) {
  std::string msg = "unknown key '" + key.Scalar() + "'";
  std::string_view near = closest_match(key.Scalar(), known);
  if (!near.empty()) msg += " (did you mean '" + std::string(near) + "'?)";
  d.error(key.Mark(), path, msg);
}

bool read_choice(const YAML::Node& n, std::span<const std::string_view> choices, Diagnostics& d,
                 const std::string& path, std::size_t& index) {
  if (!scalar(n, d, path, "one of the listed words")) return false;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == n.Scalar()) {
      index = i;
      return true;
    }
  }
  std::string msg = "unknown value '" + n.Scalar() + "' (expected one of:";
  for (std::string_view c : choices) msg += " " + std::string(c);
  msg += ")";
  std::string_view near = closest_match(n.Scalar(), choices);
  if (!near.empty()) msg += "; did you mean '" + std::string(near) + "'?";
  d.error(n.Mark(), path, msg);
  return false;
}

std::string describe_default(const std::string& v) { return v.empty() ? "\"\"" : v; }
std::string describe_default(bool v) { return v ? "true" : "false"; }
std::string describe_default(std::uint64_t v) { return std::to_string(v); }
std::string describe_default(Duration v) { return format_duration(static_cast<std::uint64_t>(v.count())); }
std::string describe_default(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

std::string describe_bounds(FieldType type, std::uint64_t min, std::uint64_t max) {
  if (type != FieldType::Uint && type != FieldType::Size && type != FieldType::Interval) return {};
  if (min == 0 && max == std::numeric_limits<std::uint64_t>::max()) return {};
  return "  range " + bound_text(type, min) + ".." + bound_text(type, max);
}

}  // namespace sticky::config
