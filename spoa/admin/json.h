// A minimal JSON writer for the admin API's answers: objects, arrays, strings escaped per RFC 8259
// (bytes that are not valid UTF-8 become U+FFFD, so a binary key never breaks the document).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::admin {

class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(std::string_view k);  // inside an object, before each value
  Json& str(std::string_view v);
  Json& num(std::int64_t v);
  Json& num(std::uint64_t v);
  Json& num(int v) { return num(static_cast<std::int64_t>(v)); }
  Json& num(unsigned v) { return num(static_cast<std::uint64_t>(v)); }
  Json& num(double v);  // non-finite values are written as null
  Json& boolean(bool v);
  Json& null();
  // key + value in one call
  template <typename T>
  Json& field(std::string_view k, T v) {
    key(k);
    return value(v);
  }
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  Json& value(std::string_view v) { return str(v); }
  Json& value(const std::string& v) { return str(v); }
  Json& value(const char* v) { return str(v); }
  Json& value(bool v) { return boolean(v); }
  Json& value(double v) { return num(v); }
  Json& value(std::int64_t v) { return num(v); }
  Json& value(std::uint64_t v) { return num(v); }
  Json& value(int v) { return num(v); }
  Json& value(unsigned v) { return num(v); }
  Json& value(long long v) { return num(static_cast<std::int64_t>(v)); }
  Json& value(unsigned long long v) { return num(static_cast<std::uint64_t>(v)); }
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// The string as a JSON string literal (quotes included).
std::string json_quote(std::string_view s);

}  // namespace sticky::admin
