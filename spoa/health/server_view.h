// An immutable, versioned map backend -> ServerSet: everything the workers know about server health.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "model/server_set.h"

namespace sticky::health {

struct ServerView {
  std::uint64_t version = 0;  // bumps whenever any backend's servers change
  std::map<std::string, model::ServerSetPtr, std::less<>> backends;

  // The backend's servers, or a null pointer for a backend neither HAProxy nor the config knows.
  const model::ServerSetPtr& find(std::string_view backend) const {
    static const model::ServerSetPtr kNone;
    auto it = backends.find(backend);
    return it == backends.end() ? kNone : it->second;
  }
};

using ServerViewPtr = std::shared_ptr<const ServerView>;

}  // namespace sticky::health
