// Slices: configured named predicates on a request (prompt size, tools, response format, schema depth,
// streaming, a header value from an allowed list, the model, a route, a path prefix), evaluated once at
// admission. The result is a bitmask over config.slices (at most 32), so metrics can index their
// per-slice cells without building strings. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include <simdjson.h>

#include "config/config.hpp"
#include "gateway/admission.hpp"
#include "gateway/split.hpp"

namespace slipway {

using SliceMask = uint32_t;  // bit i: config.slices[i] matched
static_assert(config::kMaxSlices <= 32);

// Estimated prompt tokens: characters of message contents / 4 (as the simulator and most gateways do).
inline int64_t estimated_prompt_tokens(const RequestFacts& f) { return static_cast<int64_t>(f.prompt_chars / 4); }

// Whether any slice looks at the schema depth (so it is computed only when needed).
bool slices_need_schema_depth(const config::Config& cfg);

// Nesting of objects/arrays in the request's schema (response_format.json_schema.schema, guided_json,
// structured_outputs.json), local `$ref`s followed, combinators not adding a level: the same measure as
// tools/vllm-sim's `min_schema_depth`. 0 when the request carries no schema. Parses `body` with `parser`.
int request_schema_depth(simdjson::dom::parser& parser, std::string_view body);
// The same on an already parsed schema (root = the schema document).
int schema_depth(simdjson::dom::element schema);

struct SliceInput {
  const RequestFacts& facts;
  int schema_depth = 0;
  const RouteView& request;   // headers, path, model
};

SliceMask match_slices(const config::Config& cfg, const SliceInput& in);
bool slice_matches(const config::SliceRule& rule, const config::Config& cfg, const SliceInput& in);

}  // namespace slipway
