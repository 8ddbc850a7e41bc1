// Pure parser for HAProxy's `show servers state` reply (format version 1) into per-backend server lists.
#include "health/servers_state.h"

#include <array>
#include <charconv>

namespace sticky::health {

std::string_view state_parse_error_name(StateParseError e) {
  switch (e) {
    case StateParseError::None: return "none";
    case StateParseError::Empty: return "empty reply";
    case StateParseError::NotAStateDump: return "reply is not a server state dump";
    case StateParseError::UnsupportedVersion: return "unsupported format version";
    case StateParseError::MissingHeader: return "missing column header";
    case StateParseError::MissingColumn: return "missing column";
    case StateParseError::FieldCount: return "wrong number of fields";
    case StateParseError::BadNumber: return "bad number";
    case StateParseError::DuplicateServer: return "duplicate server";
  }
  return "?";
}

model::ServerState server_state_from_bits(OpState op, std::uint32_t admin) {
  if (admin & kAdminMaintMask) return model::ServerState::Maint;
  if (op == OpState::Stopped) return model::ServerState::Down;
  if ((admin & kAdminDrainMask) || op == OpState::Stopping) return model::ServerState::Drain;
  return model::ServerState::Up;
}

namespace {

// Splits on runs of spaces; HAProxy writes "-" for empty fields so no field is ever blank.
void split_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
}

bool to_u32(std::string_view s, std::uint32_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

// Iterates lines, tracking 1-based numbers and dropping a trailing '\r'.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

ServersStateResult fail(StateParseError e, std::size_t line, std::string detail) {
  ServersStateResult r;
  r.error = e;
  r.line = line;
  r.detail = std::move(detail);
  return r;
}

enum Column : std::size_t { kBeName, kSrvName, kOpState, kAdminState, kUweight, kColumnCount };
constexpr std::array<std::string_view, kColumnCount> kColumnNames = {"be_name", "srv_name", "srv_op_state",
                                                                     "srv_admin_state", "srv_uweight"};
// Read when present (every version so far has it); only the fast path's table clearing needs it.
constexpr std::string_view kSrvIdColumn = "srv_id";

}  // namespace

ServersStateResult parse_servers_state(std::string_view text) {
  LineCursor lines(text);
  std::string_view line;
  // The version line; a reply with only blank lines counts as empty.
  bool found = false;
  while (lines.next(line)) {
    if (!line.empty()) {
      found = true;
      break;
    }
  }
  if (!found) return fail(StateParseError::Empty, 0, {});
  std::uint32_t version = 0;
  if (!to_u32(line, version)) return fail(StateParseError::NotAStateDump, lines.number(), std::string(line.substr(0, 80)));
  if (version != 1) return fail(StateParseError::UnsupportedVersion, lines.number(), std::string(line));

  if (!lines.next(line) || !line.starts_with("#"))
    return fail(StateParseError::MissingHeader, lines.number(), std::string(line.substr(0, 80)));
  std::vector<std::string_view> header;
  split_fields(line.substr(1), header);
  std::array<std::size_t, kColumnCount> at{};
  for (std::size_t c = 0; c < kColumnCount; ++c) {
    std::size_t i = 0;
    while (i < header.size() && header[i] != kColumnNames[c]) ++i;
    if (i == header.size()) return fail(StateParseError::MissingColumn, lines.number(), std::string(kColumnNames[c]));
    at[c] = i;
  }
  std::size_t id_at = 0;
  while (id_at < header.size() && header[id_at] != kSrvIdColumn) ++id_at;

  ServersStateResult result;
  std::size_t current = 0;  // index of the backend the previous line belonged to
  std::vector<std::string_view> fields;
  while (lines.next(line)) {
    if (line.empty() || line.front() == '#') continue;
    split_fields(line, fields);
    if (fields.size() != header.size())
      return fail(StateParseError::FieldCount, lines.number(),
                  std::to_string(fields.size()) + " fields, header has " + std::to_string(header.size()));
    std::uint32_t op = 0, admin = 0, weight = 0;
    if (!to_u32(fields[at[kOpState]], op) || op > static_cast<std::uint32_t>(OpState::Stopping))
      return fail(StateParseError::BadNumber, lines.number(), "srv_op_state '" + std::string(fields[at[kOpState]]) + "'");
    if (!to_u32(fields[at[kAdminState]], admin))
      return fail(StateParseError::BadNumber, lines.number(),
                  "srv_admin_state '" + std::string(fields[at[kAdminState]]) + "'");
    if (!to_u32(fields[at[kUweight]], weight))
      return fail(StateParseError::BadNumber, lines.number(), "srv_uweight '" + std::string(fields[at[kUweight]]) + "'");

    std::string_view backend = fields[at[kBeName]];
    // HAProxy groups servers by backend; search anyway so an interleaved dump stays correct.
    if (current >= result.backends.size() || result.backends[current].backend != backend) {
      current = 0;
      while (current < result.backends.size() && result.backends[current].backend != backend) ++current;
      if (current == result.backends.size()) result.backends.push_back({std::string(backend), {}});
    }
    std::vector<model::Server>& servers = result.backends[current].servers;
    std::string_view name = fields[at[kSrvName]];
    for (const model::Server& s : servers)
      if (s.name == name)
        return fail(StateParseError::DuplicateServer, lines.number(), std::string(backend) + "/" + std::string(name));
    std::uint32_t id = 0;
    if (id_at < header.size() && !to_u32(fields[id_at], id))
      return fail(StateParseError::BadNumber, lines.number(), "srv_id '" + std::string(fields[id_at]) + "'");
    servers.push_back({std::string(name), weight, server_state_from_bits(static_cast<OpState>(op), admin), id});
  }
  return result;
}

}  // namespace sticky::health
