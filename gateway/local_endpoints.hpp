// What the gateway answers itself: /healthz, /readyz, GET /v1/models, and 404 for paths that are
// neither ours nor under /v1/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/runtime.hpp"

namespace slipway {

enum class LocalEndpoint { healthz, readyz, models, not_found, method_not_allowed };

// Which local endpoint answers `path`, or nothing when the request is to be proxied.
std::optional<LocalEndpoint> local_endpoint(std::string_view path, boost::beast::http::verb method);

struct LocalAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};
LocalAnswer answer_local_endpoint(LocalEndpoint which, const Snapshot& snapshot,
                                  const boost::beast::http::request<boost::beast::http::string_body>& req,
                                  std::string_view path);

}  // namespace slipway
