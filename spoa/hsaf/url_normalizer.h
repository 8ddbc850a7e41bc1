// Turns (Host, request target) into the canonical serial input, streamed to a sink without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::hsaf {

enum class QueryMode : std::uint8_t {
  Keep = 0,    // the query string is part of the input as sent
  Drop = 1,    // the query string is ignored
  Params = 2,  // only the named parameters are kept, in name order, so "?b=2&a=1" == "?a=1&b=2"
};

// Plain config (the config-file layer fills it; validate_url_normalization() checks it).
struct UrlNormalization {
  QueryMode query = QueryMode::Keep;
  std::vector<std::string> params;  // used when query == Params
  bool lowercase_path = false;      // the host is always lowercased
};

// Errors for a UrlNormalization, each a complete sentence; empty means valid.
std::vector<std::string> validate_url_normalization(const UrlNormalization& cfg);

// A bounded writer for the normalised text (logs, dry-run previews, tests). Overflow is sticky.
class CharBufferSink {
 public:
  explicit CharBufferSink(std::span<char> out) : out_(out) {}
  void update(std::string_view s) {
    for (char c : s) update_byte(c);
  }
  void update_lower(std::string_view s) {
    for (char c : s) update_byte((c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c);
  }
  void update_byte(char c) {
    if (pos_ < out_.size()) {
      out_[pos_] = c;
    } else {
      fits_ = false;
    }
    ++pos_;
  }
  bool fits() const { return fits_; }
  // Bytes the full normalised form needs, even when it did not fit.
  std::size_t needed() const { return pos_; }
  std::string_view view() const { return {out_.data(), fits_ ? pos_ : out_.size()}; }

 private:
  std::span<char> out_;
  std::size_t pos_ = 0;
  bool fits_ = true;
};

// Canonical form: lowercase(host) + path + ["?" + query], where
//  - an absolute-form target "http[s]://authority/path" contributes its path, and its authority
//    replaces an empty host;
//  - an empty path is "/", a fragment ("#...") is never part of the input;
//  - Keep: "?" + the raw query when it is non-empty; Drop: nothing; Params: for each configured
//    name in byte order, every "name" or "name=value" segment of the query in arrival order,
//    joined by "&" after a leading "?" (nothing when none matched).
// The sink receives pieces through update/update_lower/update_byte, so hashing needs no buffer.
class UrlNormalizer {
 public:
  // cfg must be valid (validate_url_normalization); parameter names are sorted and deduplicated here.
  explicit UrlNormalizer(const UrlNormalization& cfg);

  template <class Sink>
  void feed(std::string_view host, std::string_view target, Sink& sink) const;

 private:
  template <class Sink>
  void feed_params(std::string_view query, Sink& sink) const;

  QueryMode query_;
  bool lowercase_path_;
  std::vector<std::string> params_;  // sorted, unique
};

namespace detail {
// Splits an absolute-form target into (authority, rest); authority is empty for origin-form.
std::string_view strip_absolute_form(std::string_view& target);
}  // namespace detail

// Forced inline so a hasher sink that is a local of the caller keeps its state in registers.
template <class Sink>
[[gnu::always_inline]] inline void UrlNormalizer::feed(std::string_view host, std::string_view target,
                                                       Sink& sink) const {
  // Origin-form targets (nearly all requests) start with '/' and cannot be absolute-form.
  if (target.empty() || target[0] != '/') {
    const std::string_view authority = detail::strip_absolute_form(target);
    if (host.empty()) host = authority;
  }
  sink.update_lower(host);

  const std::size_t hash_at = target.find('#');
  if (hash_at != std::string_view::npos) target = target.substr(0, hash_at);
  // Keep with the path's case kept: "/path[?query]" is already canonical unless the query is empty
  // (a trailing first '?', which is dropped), so it goes to the sink in one piece after one scan.
  if (query_ == QueryMode::Keep && !lowercase_path_ && !target.empty() && target[0] == '/' &&
      target.back() != '?') {
    sink.update(target);
    return;
  }
  const std::size_t q_at = target.find('?');
  std::string_view path = target.substr(0, q_at);
  const std::string_view query =
      q_at == std::string_view::npos ? std::string_view{} : target.substr(q_at + 1);

  if (path.empty()) path = "/";
  if (lowercase_path_) {
    sink.update_lower(path);
  } else {
    sink.update(path);
  }

  switch (query_) {
    case QueryMode::Keep:
      if (!query.empty()) {
        sink.update_byte('?');
        sink.update(query);
      }
      break;
    case QueryMode::Drop:
      break;
    case QueryMode::Params:
      feed_params(query, sink);
      break;
  }
}

template <class Sink>
void UrlNormalizer::feed_params(std::string_view query, Sink& sink) const {
  bool first = true;
  for (const std::string& name : params_) {
    std::string_view rest = query;
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view seg = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      const std::string_view seg_name = seg.substr(0, seg.find('='));
      if (seg.empty() || seg_name != name) continue;
      sink.update_byte(first ? '?' : '&');
      sink.update(seg);
      first = false;
    }
  }
}

}  // namespace sticky::hsaf
