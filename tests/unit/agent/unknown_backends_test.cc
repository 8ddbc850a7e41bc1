// Tests of the once-per-name warning for backends HAProxy names but the agent config lacks.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "agent/unknown_backends.h"

using namespace sticky::agent;

namespace {
std::vector<std::string>& lines() {
  static std::vector<std::string> l;
  return l;
}
void capture(const std::string& line) { lines().push_back(line); }
}  // namespace

TEST_CASE("An unknown backend is logged once, with the names the agent knows", "[unknown_backends]") {
  lines().clear();
  UnknownBackendReport report({"app", "api"}, &capture);
  UnknownBackendFilter w1, w2;  // two workers
  for (int i = 0; i < 1000; ++i) {
    w1.note("ap", report);
    w2.note("ap", report);
  }
  w2.note("shop", report);
  REQUIRE(lines().size() == 2);
  CHECK(lines()[0].find("backend 'ap'") != std::string::npos);
  CHECK(lines()[0].find("known: 'app', 'api'") != std::string::npos);
  CHECK(lines()[0].find("sticky_unknown_backend_total") != std::string::npos);
  CHECK(lines()[1].find("backend 'shop'") != std::string::npos);
  CHECK(report.remembered() == 2);
}

TEST_CASE("Distinct unknown names are bounded: one last line, then silence", "[unknown_backends]") {
  lines().clear();
  UnknownBackendReport report({}, &capture);
  UnknownBackendFilter w;
  for (int i = 0; i < 500; ++i) w.note("be" + std::to_string(i), report);
  CHECK(report.remembered() == UnknownBackendReport::kMaxNames);
  REQUIRE(lines().size() == UnknownBackendReport::kMaxNames + 1);
  CHECK(lines()[0].find("known: none") != std::string::npos);
  CHECK(lines().back().find("further ones are not logged") != std::string::npos);
  // A second worker meeting yet more names adds nothing.
  UnknownBackendFilter w2;
  for (int i = 500; i < 600; ++i) w2.note("be" + std::to_string(i), report);
  CHECK(lines().size() == UnknownBackendReport::kMaxNames + 1);
  CHECK_FALSE(report.report("be0"));  // already logged
}
