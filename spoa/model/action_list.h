// The actions of one ACK under construction: fixed capacity, values copied into an inline arena,
// so building an answer never allocates. Not movable: actions point into the arena.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "base/bytes.h"
#include "spop/ack.h"

namespace sticky::model {

class ActionList {
 public:
  static constexpr std::size_t kMaxActions = 24;
  static constexpr std::size_t kArenaBytes = 2048;

  ActionList() = default;
  ActionList(const ActionList&) = delete;
  ActionList& operator=(const ActionList&) = delete;

  // `name` must outlive the list (a literal or config-owned string); the value's bytes are
  // copied. Returns false (and counts it in dropped()) when the list or the arena is full.
  bool set_var(spop::VarScope scope, std::string_view name, spop::TypedValue value) {
    if (count_ == kMaxActions) return drop();
    if (!value.bytes.empty()) {
      if (value.bytes.size() > kArenaBytes - used_) return drop();
      char* dst = arena_.data() + used_;
      sticky::copy_bytes(reinterpret_cast<std::uint8_t*>(dst), reinterpret_cast<const std::uint8_t*>(value.bytes.data()),
                 value.bytes.size());
      used_ += value.bytes.size();
      value.bytes = std::string_view(dst, value.bytes.size());
    }
    items_[count_++] = spop::Action{spop::ActionType::SetVar, scope, name, value};
    return true;
  }
  bool set_string(std::string_view name, std::string_view v) {
    return set_var(spop::VarScope::Txn, name, spop::TypedValue::string(v));
  }
  bool set_int(std::string_view name, std::int64_t v) {
    return set_var(spop::VarScope::Txn, name, spop::TypedValue::int64(v));
  }
  bool unset_var(spop::VarScope scope, std::string_view name) {
    if (count_ == kMaxActions) return drop();
    items_[count_++] = spop::Action{spop::ActionType::UnsetVar, scope, name, {}};
    return true;
  }

  std::span<const spop::Action> items() const { return {items_.data(), count_}; }
  bool empty() const { return count_ == 0; }
  std::uint32_t dropped() const { return dropped_; }
  void clear() {
    count_ = 0;
    used_ = 0;
    dropped_ = 0;
  }

 private:
  bool drop() {
    ++dropped_;
    return false;
  }
  std::array<spop::Action, kMaxActions> items_{};
  std::array<char, kArenaBytes> arena_{};
  std::size_t count_ = 0;
  std::size_t used_ = 0;
  std::uint32_t dropped_ = 0;
};

}  // namespace sticky::model
