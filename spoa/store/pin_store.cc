// This agent's table as a PinStore, and the table half of every store's record().
#include "store/pin_store.h"

namespace sticky::store {

std::uint32_t LocalPins::apply_local(StickyTable& table, const PinWrite& w, std::int64_t now_ms, bool mark_synced) {
  switch (w.type) {
    case PinWrite::Type::New:
    case PinWrite::Type::Move: {
      const UpsertResult r = table.upsert(w.key, w.server_id, now_ms, w.ttl_ms);
      if (r.status != StickyStatus::Ok) return 0;
      if (mark_synced) table.mark_synced(w.key, now_ms);
      return r.version;
    }
    case PinWrite::Type::Refresh:
      if (mark_synced) table.mark_synced(w.key, now_ms);
      return w.version;
    case PinWrite::Type::Adopt: {
      table.apply_remote(w.key, w.entry, now_ms, w.authoritative);
      // Seen now, like any pin a request was routed by: its expiry slides from here.
      const std::optional<StickyEntry> e = table.lookup(w.key, now_ms);
      return e ? e->version : 0;
    }
  }
  return 0;
}

PinAnswer LocalPins::lookup(const PinQuery& q, std::int64_t now_ms) { return local_answer(table_, q, now_ms, false); }

void LocalPins::lookup_shared(const PinQuery&, PinAnswer answer, LookupDone done) {
  answer.asked_shared = false;  // there is no shared store: the local answer is the whole answer
  done(answer);
}

std::optional<StickyEntry> LocalPins::peek(const StickyKey& key, std::int64_t now_ms) const {
  return table_.peek(key, now_ms);
}

RecordResult LocalPins::record(std::span<const PinWrite> writes, std::int64_t now_ms) {
  RecordResult r;
  for (const PinWrite& w : writes) {
    if (w.type == PinWrite::Type::Refresh) continue;  // nothing to refresh: no shared copy
    if (apply_local(table_, w, now_ms, false) == 0 && w.type != PinWrite::Type::Adopt) ++r.refused;
  }
  return r;
}

}  // namespace sticky::store
