// NOTIFY payload decoding (SPOE.txt 3.2.10).
#include "spop/notify.h"

namespace sticky::spop {

bool MessageReader::next(Message& out, std::span<Arg> scratch) {
  if (error_ != DecodeStatus::Ok || r_.empty()) return false;
  if ((error_ = take_name(r_, out.name)) != DecodeStatus::Ok) return false;
  if (r_.empty()) {
    error_ = DecodeStatus::Truncated;
    return false;
  }
  const std::size_t nb = r_.take_u8();
  if (scratch.size() < nb) {  // caller bug: scratch must hold kMaxArgs
    error_ = DecodeStatus::Truncated;
    return false;
  }
  for (std::size_t i = 0; i < nb; ++i) {
    if ((error_ = take_name(r_, scratch[i].name)) != DecodeStatus::Ok) return false;
    if ((error_ = take_typed(r_, scratch[i].value)) != DecodeStatus::Ok) return false;
  }
  out.args = scratch.first(nb);
  return true;
}

}  // namespace sticky::spop
