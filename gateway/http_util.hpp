// Small HTTP helpers shared by the session and the proxy: OpenAI-style error bodies, hop-by-hop
// header filtering, request ids.
#pragma once

#include <random>
#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/fields.hpp>

namespace slipway {

// {"error": {"message", "type", "param", "code"}} as OpenAI and newer vLLM answer.
std::string openai_error_body(std::string_view message, std::string_view type, std::string_view param = {},
                              std::string_view code = {});
// The OpenAI error type that goes with a status.
std::string_view error_type_for_status(int status);

// Headers that describe one connection, not the message: never forwarded in either direction.
bool is_hop_by_hop(boost::beast::http::field f, std::string_view name);

// A field's first value ("" when absent), found by one pass over the few fields a message has, comparing
// Beast's field codes. Beast's keyed lookup (`fields[name]`) is a search of a tree ordered by case-insensitive
// name: ~500 instructions per call on a proxied answer, several calls per request.
inline std::string_view field_value(const boost::beast::http::fields& fields, boost::beast::http::field name) {
  for (const auto& f : fields)
    if (f.name() == name) return {f.value().data(), f.value().size()};
  return {};
}

// The same for a name Beast has no code for (x-request-id, a configured header): lengths first.
inline std::string_view field_value(const boost::beast::http::fields& fields, std::string_view name) {
  for (const auto& f : fields) {
    auto n = f.name_string();
    if (n.size() == name.size() && boost::beast::iequals(n, name)) return {f.value().data(), f.value().size()};
  }
  return {};
}

// A request id is accepted from the client when it is short and printable; else we make one.
bool acceptable_request_id(std::string_view id);
std::string new_request_id(std::mt19937_64& rng);

}  // namespace slipway
