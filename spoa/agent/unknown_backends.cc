// Once-per-name warnings for backends the agent config does not describe.
#include "agent/unknown_backends.h"

#include <algorithm>

#include "base/log.h"

namespace sticky::agent {

namespace {
void log_warn(const std::string& line) { STICKY_LOG(Warn, "%s", line.c_str()); }
}  // namespace

UnknownBackendReport::UnknownBackendReport(std::vector<std::string> known, LogFn log)
    : known_(std::move(known)), log_(log ? log : &log_warn) {}

std::string UnknownBackendReport::message(std::string_view name, const std::vector<std::string>& known) {
  std::string out = "HAProxy asks about backend '";
  out += name;
  out += "', which the agent config does not describe (known: ";
  if (known.empty()) out += "none";
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (i) out += ", ";
    out += "'" + known[i] + "'";
  }
  out += "): HAProxy balances it alone; counted in sticky_unknown_backend_total. "
         "Check with sticky-agent --check CONFIG --haproxy-config HAPROXY.CFG";
  return out;
}

bool UnknownBackendReport::report(std::string_view name) {
  std::string line;
  bool named = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::find(names_.begin(), names_.end(), name) != names_.end()) return false;
    if (names_.size() < kMaxNames) {
      names_.emplace_back(name);
      line = message(name, known_);
      named = true;
    } else if (!overflow_logged_) {
      overflow_logged_ = true;
      line = "more than " + std::to_string(kMaxNames) +
             " unknown backend names seen: further ones are not logged (still counted in sticky_unknown_backend_total)";
    } else {
      return false;
    }
  }
  log_(line);  // outside the lock: a slow stderr never blocks another worker's report
  return named;
}

std::size_t UnknownBackendReport::remembered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.size();
}

void UnknownBackendFilter::note(std::string_view name, UnknownBackendReport& report) {
  if (full_) return;
  if (std::find(seen_.begin(), seen_.end(), name) != seen_.end()) return;
  if (seen_.size() >= UnknownBackendReport::kMaxNames) {
    full_ = true;
    report.report(name);  // lets the report log its one "further names not logged" line
    return;
  }
  seen_.emplace_back(name);
  report.report(name);
}

}  // namespace sticky::agent
