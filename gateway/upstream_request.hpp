// What goes to the backend for one client request: the client's header fields without the hop-by-hop ones,
// with our x-request-id and (when the variant has one) Authorization, and the rewritten body. The Host field is
// the endpoint's: the request is built before an endpoint is picked (and may be retried on another one), so
// the head ends before Host, and the write adds the picked endpoint's (EndpointState::head_end).
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.hpp"

namespace slipway {

using ClientRequest = boost::beast::http::request<boost::beast::http::string_body>;

// A request as it goes to the backend: its head (request line and header fields, without Host and the empty
// line) in one contiguous string and its body, written with the endpoint's head_end in one gather write.
struct UpstreamRequest {
  std::string head;
  std::string body;
  bool expect_stream = false;  // the client asked for a stream: its answer is read in small pieces
};

// The hot path: the head written straight into one string from the client's fields (no Beast fields
// container in between; building one cost a heap node per field).
UpstreamRequest build_upstream_request(const ClientRequest& client, const config::Variant& variant,
                                       std::string_view request_id, std::string body);

// The same request as a Beast message, for the shadow (which edits it before it goes to the canary).
ClientRequest build_upstream_message(const ClientRequest& client, const config::Variant& variant,
                                     std::string_view request_id, std::string body);

// The bytes Beast's serializer writes for `req` (a request with a known length, not chunked), up to the end
// of its fields, without a Host field.
UpstreamRequest to_upstream_request(const ClientRequest& req);

}  // namespace slipway
