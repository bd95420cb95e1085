// The upstream request's head is written straight into a string (build_upstream_request), and for the shadow
// built as a Beast message (build_upstream_message). Both must carry the same fields; the string must be the
// bytes Beast's serializer writes for the message, which is what the backend got before the direct path.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/runtime.hpp"
#include "gateway/upstream_request.hpp"

using namespace slipway;
namespace http = boost::beast::http;

namespace {

config::Variant variant(bool with_key) {
  config::Variant v;
  v.served_model = "served";
  config::Endpoint e;
  e.host = "10.0.0.7";
  e.port = 8001;
  v.endpoints.push_back(e);
  if (with_key) v.api_key = "backend-secret";
  return v;
}

ClientRequest client(http::verb method, std::string target, std::string body) {
  ClientRequest r{method, target, 11};
  r.set(http::field::host, "gateway.example:8080");
  r.set(http::field::content_type, "application/json");
  r.set(http::field::connection, "keep-alive, x-drop-me");
  r.set(http::field::transfer_encoding, "chunked");
  r.set(http::field::te, "trailers");
  r.set("X-Request-Id", "client-7");
  r.set(http::field::authorization, "Bearer client-token");
  r.insert("x-custom", "one");
  r.insert("x-custom", "two");  // repeated fields stay, in order
  r.set(http::field::content_length, "999");
  r.body() = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("the upstream head written directly is the one Beast writes for the same request", "[upstream]") {
  for (bool key : {false, true})
    for (auto [method, body] : {std::pair{http::verb::post, std::string(R"({"model":"served"})")},
                                std::pair{http::verb::post, std::string()}, std::pair{http::verb::get, std::string()},
                                std::pair{http::verb::delete_, std::string("x")}}) {
      ClientRequest c = client(method, "/v1/chat/completions?x=1", body);
      auto direct = build_upstream_request(c, variant(key), "req-1", body);
      auto beast = to_upstream_request(build_upstream_message(c, variant(key), "req-1", body));
      INFO("key " << key << " method " << c.method_string() << " body '" << body << "'");
      CHECK(direct.head == beast.head);
      CHECK(direct.body == body);
    }
}

TEST_CASE("the upstream request drops hop-by-hop fields and carries ours", "[upstream]") {
  ClientRequest c = client(http::verb::post, "/v1/chat/completions", "{}");
  auto keyed = build_upstream_request(c, variant(true), "req-9", "{\"a\":1}").head;
  CHECK(keyed.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
  CHECK(keyed.ends_with("\r\nx-request-id: req-9\r\nAuthorization: Bearer backend-secret\r\nContent-Length: 7\r\n"));
  CHECK(keyed.find("Host") == std::string::npos);  // the picked endpoint's Host ends the head (below)
  for (const char* gone : {"gateway.example", "keep-alive", "chunked", "trailers", "client-7", "client-token", "999"})
    CHECK(keyed.find(gone) == std::string::npos);
  CHECK(keyed.find("x-custom: one\r\nx-custom: two\r\n") != std::string::npos);
  CHECK(keyed.find("Content-Type: application/json\r\n") != std::string::npos);
  auto plain = build_upstream_request(c, variant(false), "req-9", "{}").head;
  CHECK(plain.find("Authorization: Bearer client-token\r\n") != std::string::npos);  // the client's own goes through
  // A GET without a body has no length; a method Beast has no verb for is passed as it came.
  ClientRequest get = client(http::verb::get, "/v1/models", "");
  CHECK(build_upstream_request(get, variant(false), "r", "").head.find("Content-Length") == std::string::npos);
  ClientRequest odd = client(http::verb::get, "/v1/x", "");
  odd.method_string("PURGEALL");
  CHECK(build_upstream_request(odd, variant(false), "r", "").head.starts_with("PURGEALL /v1/x HTTP/1.1\r\n"));
  CHECK(to_upstream_request(build_upstream_message(odd, variant(false), "r", "")).head.starts_with("PURGEALL /v1/x "));
}

TEST_CASE("the head ends with the Host of the endpoint the request goes to, whichever of the variant's it is", "[upstream]") {
  config::Variant v = variant(false);
  config::Endpoint second;
  second.host = "10.0.0.8";
  second.port = 9001;
  v.endpoints.push_back(second);
  ClientRequest c = client(http::verb::post, "/v1/chat/completions", "{}");
  auto up = build_upstream_request(c, v, "req-1", "{}");
  for (const auto& ep : v.endpoints) {
    EndpointState state(ep);
    std::string sent = up.head + state.head_end() + up.body;
    INFO(sent);
    CHECK(sent.find("\r\nHost: " + ep.host + ":" + std::to_string(ep.port) + "\r\n\r\n{}") != std::string::npos);
    CHECK(sent.find("Host:") == sent.rfind("Host:"));  // exactly one
  }
}
