// HaproxyTableSync: which servers get their pins cleared from HAProxy's stick table, and when.
#include "agent/haproxy_table_sync.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace sticky;
using model::ServerState;

namespace {

health::ServerView view_of(std::vector<model::Server> servers, std::uint64_t version) {
  auto set = std::make_shared<model::ServerSet>();
  set->backend = "app";
  set->servers = std::move(servers);
  set->version = version;
  health::ServerView v;
  v.version = version;
  v.backends["app"] = set;
  return v;
}

struct Recorder {
  std::vector<std::string> sent;
  health::RuntimeApiReply reply{true, "\n", ""};
  agent::HaproxyTableSync::Send send() {
    return [this](const std::string& c) {
      sent.push_back(c);
      return reply;
    };
  }
};

}  // namespace

TEST_CASE("a server going DOWN or MAINT has exactly its pins cleared, once") {
  Recorder r;
  agent::HaproxyTableSync sync({{"app", "app_pins"}}, r.send());
  sync.follow(view_of({{"s1", 1, ServerState::Up, 1}, {"s2", 1, ServerState::Up, 2}, {"s3", 1, ServerState::Up, 7}}, 1));
  CHECK(r.sent.empty());
  sync.follow(view_of({{"s1", 1, ServerState::Up, 1}, {"s2", 1, ServerState::Maint, 2}, {"s3", 1, ServerState::Up, 7}}, 2));
  REQUIRE(r.sent == std::vector<std::string>{"clear table app_pins data.server_id eq 2"});
  // Still in maintenance at the next change elsewhere: not cleared again.
  sync.follow(view_of({{"s1", 2, ServerState::Up, 1}, {"s2", 1, ServerState::Maint, 2}, {"s3", 1, ServerState::Down, 7}}, 3));
  REQUIRE(r.sent == std::vector<std::string>{"clear table app_pins data.server_id eq 2",
                                             "clear table app_pins data.server_id eq 7"});
  CHECK(sync.clears() == 2);
  CHECK(sync.failures() == 0);
}

TEST_CASE("drain and weight 0 keep their pinned clients: nothing is cleared") {
  Recorder r;
  agent::HaproxyTableSync sync({{"app", "app"}}, r.send());
  sync.follow(view_of({{"s1", 1, ServerState::Up, 1}, {"s2", 1, ServerState::Up, 2}}, 1));
  sync.follow(view_of({{"s1", 0, ServerState::Up, 1}, {"s2", 1, ServerState::Drain, 2}}, 2));
  CHECK(r.sent.empty());
}

TEST_CASE("servers already out of service at the first view are cleared (pins may predate the agent)") {
  Recorder r;
  agent::HaproxyTableSync sync({{"app", "app"}}, r.send());
  sync.follow(view_of({{"s1", 1, ServerState::Down, 4}, {"s2", 1, ServerState::Up, 5}}, 1));
  CHECK(r.sent == std::vector<std::string>{"clear table app data.server_id eq 4"});
}

TEST_CASE("a failed clear is counted and tried again at the next change") {
  Recorder r;
  r.reply = {true, "Unknown table name\n", ""};
  agent::HaproxyTableSync sync({{"app", "nope"}}, r.send());
  sync.follow(view_of({{"s1", 1, ServerState::Up, 1}}, 1));
  sync.follow(view_of({{"s1", 1, ServerState::Down, 1}}, 2));
  CHECK(sync.failures() == 1);
  r.reply = {true, "", ""};
  sync.follow(view_of({{"s1", 1, ServerState::Down, 1}, {"s9", 1, ServerState::Up, 9}}, 3));
  CHECK(r.sent.size() == 2);
  CHECK(sync.clears() == 1);
}

TEST_CASE("backends not followed and servers without an HAProxy id are left alone") {
  Recorder r;
  agent::HaproxyTableSync sync({{"other", "other"}}, r.send());
  sync.follow(view_of({{"s1", 1, ServerState::Down, 1}}, 1));
  agent::HaproxyTableSync sync2({{"app", "app"}}, r.send());
  sync2.follow(view_of({{"s1", 1, ServerState::Up, 0}}, 1));
  sync2.follow(view_of({{"s1", 1, ServerState::Down, 0}}, 2));
  CHECK(r.sent.empty());
}
