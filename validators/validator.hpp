// The validators' entry point: one Validator per worker thread (not thread-safe). It owns the schema cache,
// the valijson evaluator and the refusal classifier.
//
//   Validator v;
//   auto x = v.expectations(request_body);            // Expectations or RequestError (-> HTTP 400)
//   Verdict verdict = v.validate(std::get<Expectations>(x), assemble_completion(response_body));
#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

#include "validators/assembled_response.hpp"
#include "validators/check_tree.hpp"
#include "validators/expectations_cache.hpp"
#include "validators/refusal_classifier.hpp"
#include "validators/request_expectations.hpp"
#include "validators/schema_cache.hpp"
#include "validators/stream_assembler.hpp"
#include "validators/verdict.hpp"

namespace valijson {
class Validator;
}
namespace simdjson::dom {
class parser;
}

namespace slipway::validators {

class Validator {
 public:
  explicit Validator(Limits limits = {}, RefusalConfig refusal = {});
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Reads what the request asked for; compiles (or takes from the cache) every schema. A RequestError means
  // the request must be answered 400: schema too big/deep, too many subschemas, a regex too costly or not
  // RE2-compatible, malformed response_format/tools/tool_choice.
  // JsonText::valid when the caller has parsed the body as JSON already (skips a second parse).
  std::variant<Expectations, RequestError> expectations(std::string_view request_json,
                                                        JsonText text = JsonText::unchecked);
  std::variant<Expectations, RequestError> expectations_from(const boost::json::value& request);

  // Checks every choice of the response against the expectations. Never throws.
  Verdict validate(const Expectations& x, const AssembledResponse& r);

  // Convenience for tools: the response is a JSON body or a captured SSE stream.
  AssembledResponse assemble(std::string_view response_text) const;

  const Limits& limits() const { return limits_; }
  const RefusalClassifier& refusal_classifier() const { return refusal_; }
  const SchemaCache& schema_cache() const { return cache_; }
  const ExpectationsCache& expectations_cache() const { return shapes_; }

 private:
  void validate_choice(const Expectations& x, const AssembledChoice& c, bool too_large, std::string_view prefix,
                       Verdict& out);
  // The fast path of JSON mode and JSON Schema: simdjson parse + compiled check tree. `valid` when the content
  // is proven to be what was asked for; otherwise the valijson path decides (and words the findings).
  FastVerdict structured_output_fast(const Expectations& x, std::string_view content, bool& container);

  Limits limits_;
  SchemaCache cache_;
  ExpectationsCache shapes_;  // expectations() by the text of the request's structure members
  RefusalClassifier refusal_;
  std::unique_ptr<valijson::Validator> evaluator_;
  std::unique_ptr<simdjson::dom::parser> fast_parser_;
};

}  // namespace slipway::validators
