// The declarative option table: one Field row per key (name, type, target member, bounds, help)
// and apply_fields(), which walks a YAML mapping against a table, storing values and reporting
// unknown, duplicate, missing and out-of-range keys without stopping at the first.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/diagnostics.h"

namespace sticky::config {

enum class FieldType : std::uint8_t {
  String,
  Bool,
  Uint,         // plain integer, bounds in min/max
  Size,         // integer with k/m/g suffix
  Interval,     // a duration; bounds in milliseconds
  StringList,   // a sequence of strings (a single string is a one-item list)
  Address,      // host:port ([v6]:port; unix:/path if unix_ok)
  AddressList,
  CidrList,
  File,         // a path that must name a readable file; stored resolved
  Name,         // an HAProxy proxy/server name
  Custom,       // parsed by the row's own function (enums, nested sections, lists of sections)
};

std::string_view field_type_name(FieldType t);

template <class T>
using CustomParser = void (*)(const YAML::Node& value, T& target, Diagnostics& diag, const std::string& path);

template <class T>
using FieldTarget = std::variant<std::string T::*, bool T::*, std::uint32_t T::*, std::uint64_t T::*,
                                 Duration T::*, std::vector<std::string> T::*, CustomParser<T>>;

template <class T>
struct Field {
  std::string_view name;
  FieldType type;
  FieldTarget<T> target;
  std::uint64_t min = 0;
  std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  bool required = false;
  bool unix_ok = false;
  std::string_view help;
};

// "a.b" for messages; the top level has an empty path.
inline std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Scalar readers shared by every table; each reports its own error and returns false on failure.
bool read_string(const YAML::Node& n, FieldType type, bool unix_ok, Diagnostics& d, const std::string& path,
                 std::string& out);
bool read_bool(const YAML::Node& n, Diagnostics& d, const std::string& path, bool& out);
bool read_number(const YAML::Node& n, FieldType type, std::uint64_t min, std::uint64_t max, Diagnostics& d,
                 const std::string& path, std::uint64_t& out);
bool read_string_list(const YAML::Node& n, FieldType type, bool unix_ok, Diagnostics& d, const std::string& path,
                      std::vector<std::string>& out);
// Reports an unknown key, with "did you mean" when one of `known` is a near miss.
void report_unknown_key(const YAML::Node& key, std::span<const std::string_view> known, Diagnostics& d,
                        const std::string& path);

template <class T>
void apply_field(const Field<T>& f, const YAML::Node& value, T& target, Diagnostics& d, const std::string& path) {
  std::visit(
      [&](auto member) {
        using M = decltype(member);
        if constexpr (std::is_same_v<M, CustomParser<T>>) {
          member(value, target, d, path);
        } else if constexpr (std::is_same_v<M, std::string T::*>) {
          read_string(value, f.type, f.unix_ok, d, path, target.*member);
        } else if constexpr (std::is_same_v<M, bool T::*>) {
          read_bool(value, d, path, target.*member);
        } else if constexpr (std::is_same_v<M, std::vector<std::string> T::*>) {
          read_string_list(value, f.type, f.unix_ok, d, path, target.*member);
        } else if constexpr (std::is_same_v<M, Duration T::*>) {
          std::uint64_t v = 0;
          if (read_number(value, FieldType::Interval, f.min, f.max, d, path, v))
            target.*member = Duration(static_cast<Duration::rep>(v));
        } else {
          std::uint64_t v = 0;
          if (read_number(value, f.type, f.min, f.max, d, path, v))
            target.*member = static_cast<std::remove_reference_t<decltype(target.*member)>>(v);
        }
      },
      f.target);
}

// Applies a YAML mapping to `target`. A null node (key present, no value) counts as an empty
// mapping so `agent:` alone means "all defaults".
template <class T>
void apply_fields(const YAML::Node& node, std::span<const Field<T>> fields, T& target, Diagnostics& d,
                  const std::string& path) {
  std::vector<bool> seen(fields.size(), false);
  if (node && !node.IsNull()) {
    if (!node.IsMap()) {
      d.error(node.Mark(), path, "expected a mapping of keys");
      return;
    }
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const Field<T>& f : fields) names.push_back(f.name);
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies, not references: the iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        d.error(key.Mark(), path, "keys must be plain strings");
        continue;
      }
      std::size_t i = 0;
      while (i < fields.size() && fields[i].name != key.Scalar()) ++i;
      if (i == fields.size()) {
        report_unknown_key(key, names, d, path);
        continue;
      }
      if (seen[i]) {
        d.error(key.Mark(), join_path(path, key.Scalar()), "key given twice");
        continue;
      }
      seen[i] = true;
      apply_field(fields[i], value, target, d, join_path(path, key.Scalar()));
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].required && !seen[i])
      d.error(node ? node.Mark() : YAML::Mark::null_mark(), path,
              "missing required key '" + std::string(fields[i].name) + "'");
  }
}

// Enum values as (spelling, value) pairs, for parse_enum below.
template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

bool read_choice(const YAML::Node& n, std::span<const std::string_view> choices, Diagnostics& d,
                 const std::string& path, std::size_t& index);

template <class T, class E, E T::*Member, const auto& Names>
void parse_enum(const YAML::Node& n, T& target, Diagnostics& d, const std::string& path) {
  std::string_view spellings[std::size(Names)];
  for (std::size_t i = 0; i < std::size(Names); ++i) spellings[i] = Names[i].name;
  std::size_t index = 0;
  if (read_choice(n, spellings, d, path, index)) target.*Member = Names[index].value;
}

// A nested optional section (e.g. backends[].agent_cookie): present in the file = engaged.
template <class T, class S, std::optional<S> T::*Member, const auto& Fields>
void parse_section(const YAML::Node& n, T& target, Diagnostics& d, const std::string& path) {
  S section{};
  apply_fields(n, std::span<const Field<S>>(Fields), section, d, path);
  target.*Member = std::move(section);
}

// A sequence of sections, each applied against `Fields` (e.g. servers: [{name, weight}, ...]).
template <class S, const auto& Fields>
void parse_section_list(const YAML::Node& n, std::vector<S>& out, Diagnostics& d, const std::string& path) {
  if (!n || n.IsNull()) return;
  if (!n.IsSequence()) {
    d.error(n.Mark(), path, "expected a list");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    S item{};
    apply_fields(n[i], std::span<const Field<S>>(Fields), item, d, path + "[" + std::to_string(i) + "]");
    out.push_back(std::move(item));
  }
}

std::string describe_default(const std::string& v);
std::string describe_default(bool v);
std::string describe_default(std::uint64_t v);
std::string describe_default(Duration v);
std::string describe_default(const std::vector<std::string>& v);
std::string describe_bounds(FieldType type, std::uint64_t min, std::uint64_t max);

// One line per option, "path  type  default  bounds  -- help", from a table and a default value.
template <class T>
void describe_fields(std::span<const Field<T>> fields, const T& defaults, const std::string& path,
                     std::string& out) {
  for (const Field<T>& f : fields) {
    std::string line = join_path(path, f.name) + "  " + std::string(field_type_name(f.type));
    std::visit(
        [&](auto member) {
          using M = decltype(member);
          if constexpr (!std::is_same_v<M, CustomParser<T>>) {
            if constexpr (std::is_same_v<M, std::uint32_t T::*>)
              line += "  default " + describe_default(std::uint64_t{defaults.*member});
            else
              line += "  default " + describe_default(defaults.*member);
          }
        },
        f.target);
    if (f.required) line += "  required";
    line += describe_bounds(f.type, f.min, f.max);
    line += "  -- ";
    line += f.help;
    out += line + "\n";
  }
}

}  // namespace sticky::config
