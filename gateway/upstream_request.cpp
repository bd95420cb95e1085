#include "gateway/upstream_request.hpp"

#include <boost/beast/core/string.hpp>

#include "gateway/http_util.hpp"

namespace slipway {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// The upstream request's header fields, in order, each to emit(name, value): the client's (without the
// hop-by-hop ones, Host and Content-Length, its x-request-id, and its Authorization when the variant has a key
// of its own), then x-request-id and the variant's Authorization. Content-Length is the caller's; Host is the
// endpoint's, added when one is picked (EndpointState::head_end).
template <class Emit>
void upstream_fields(const ClientRequest& client, const config::Variant& variant, std::string_view request_id,
                     Emit&& emit) {
  for (const auto& f : client) {
    if (is_hop_by_hop(f.name(), sv(f.name_string()))) continue;
    if (beast::iequals(f.name_string(), "x-request-id")) continue;
    if (variant.api_key && f.name() == http::field::authorization) continue;
    emit(sv(f.name_string()), sv(f.value()));
  }
  emit("x-request-id", request_id);
  if (variant.api_key) emit("Authorization", "Bearer " + *variant.api_key);
}

// A length goes with every body, and with every POST (Content-Length: 0), as Beast's prepare_payload does.
bool has_length(const ClientRequest& client, const std::string& body) {
  return !body.empty() || client.method() == http::verb::post;
}

}  // namespace

UpstreamRequest build_upstream_request(const ClientRequest& client, const config::Variant& variant,
                                       std::string_view request_id, std::string body) {
  UpstreamRequest up;
  up.body = std::move(body);
  std::string& head = up.head;
  head.reserve(256 + client.target().size());
  head.append(sv(client.method_string())).append(" ", 1).append(sv(client.target())).append(" HTTP/1.1\r\n");
  upstream_fields(client, variant, request_id, [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ", 2).append(value).append("\r\n", 2);
  });
  if (has_length(client, up.body)) head.append("Content-Length: ").append(std::to_string(up.body.size())).append("\r\n", 2);
  return up;
}

ClientRequest build_upstream_message(const ClientRequest& client, const config::Variant& variant,
                                     std::string_view request_id, std::string body) {
  ClientRequest up;
  up.method_string(client.method_string());  // not the verb constructor: it throws on a method Beast has no verb for
  up.target(client.target());
  up.version(11);
  upstream_fields(client, variant, request_id, [&up](std::string_view name, std::string_view value) {
    up.insert(beast::string_view(name.data(), name.size()), beast::string_view(value.data(), value.size()));
  });
  up.body() = std::move(body);
  if (has_length(client, up.body())) up.prepare_payload();
  return up;
}

UpstreamRequest to_upstream_request(const ClientRequest& req) {
  UpstreamRequest up;
  up.head.reserve(256 + req.target().size());
  up.head.append(sv(req.method_string())).append(" ", 1).append(sv(req.target()));
  up.head.append(req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const auto& f : req) {
    if (f.name() == http::field::host) continue;  // the endpoint's goes last (EndpointState::head_end)
    up.head.append(sv(f.name_string())).append(": ", 2).append(sv(f.value())).append("\r\n", 2);
  }
  up.body = req.body();
  return up;
}

}  // namespace slipway
