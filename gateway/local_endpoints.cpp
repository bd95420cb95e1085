#include "gateway/local_endpoints.hpp"

#include <chrono>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/http_util.hpp"

namespace slipway {

namespace http = boost::beast::http;

std::optional<LocalEndpoint> local_endpoint(std::string_view path, http::verb method) {
  std::string_view bare = path.substr(0, path.find('?'));
  bool get = method == http::verb::get || method == http::verb::head;
  if (bare == "/healthz" || bare == "/readyz" || bare == "/v1/models") {
    if (!get) return LocalEndpoint::method_not_allowed;
    if (bare == "/healthz") return LocalEndpoint::healthz;
    if (bare == "/readyz") return LocalEndpoint::readyz;
    return LocalEndpoint::models;
  }
  if (bare.starts_with("/v1/")) return std::nullopt;
  return LocalEndpoint::not_found;
}

LocalAnswer answer_local_endpoint(LocalEndpoint which, const Snapshot& snap, const http::request<http::string_body>& req,
                                  std::string_view path) {
  LocalAnswer a;
  switch (which) {
    case LocalEndpoint::healthz:
      a.body = R"({"status":"ok"})";
      return a;
    case LocalEndpoint::readyz: {
      auto now = Clock::now();
      bool active = snap.config->health.check_interval.count() > 0;
      boost::json::object root;
      boost::json::array models;
      bool all_ready = true;
      for (const auto& m : snap.models) {
        int ready = 0;
        for (const auto& ep : m.baseline.endpoints) ready += ep->ready(now, active) ? 1 : 0;
        all_ready = all_ready && ready > 0;
        models.push_back({{"model", m.config->name}, {"ready_baseline_endpoints", ready},
                          {"baseline_endpoints", m.baseline.endpoints.size()}});
      }
      root["status"] = all_ready ? "ready" : "not_ready";
      root["config_generation"] = snap.config->generation;
      root["models"] = std::move(models);
      a.status = all_ready ? 200 : 503;
      a.body = boost::json::serialize(root);
      return a;
    }
    case LocalEndpoint::models: {
      boost::json::array data;
      for (const auto& m : snap.models)
        data.push_back({{"id", m.config->name}, {"object", "model"}, {"created", 0}, {"owned_by", "slipway"}});
      a.body = boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
      return a;
    }
    case LocalEndpoint::method_not_allowed:
      a.status = 405;
      a.body = openai_error_body("Method " + std::string(req.method_string()) + " is not allowed on " +
                                     std::string(path) + ".",
                                 "invalid_request_error", "", "method_not_allowed");
      return a;
    case LocalEndpoint::not_found:
      a.status = 404;
      a.body = openai_error_body("Unknown path " + std::string(path) +
                                     ". slipway serves /v1/chat/completions, /v1/completions, /v1/models, "
                                     "other /v1/ paths, /healthz and /readyz.",
                                 "invalid_request_error", "", "not_found");
      return a;
  }
  return a;
}

}  // namespace slipway
